package knit.minicluster

import java.io.FileNotFoundException
import java.net.URI
import java.nio.file.{Files, NoSuchFileException}
import java.nio.file.attribute.PosixFilePermission
import java.nio.file.attribute.PosixFilePermission._

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{ChecksumFs, DelegateToFileSystem, Path, RawLocalFileSystem}
import org.apache.hadoop.fs.permission.FsPermission

/** Hadoop's local file system with `setPermission` done by java.nio.
  *
  * Without Hadoop's native library (libhadoop.so, which no Maven artifact carries) the
  * local file system forks `chmod` once per call. A NodeManager localizing an archive
  * sets the permissions of every file in it: for a packed Dask environment (8,700 files)
  * that took 46 s per node, where a real cluster, which has the native library, takes
  * well under one. Only the embedded cluster's NodeManagers use this class.
  */
class NioRawLocalFileSystem extends RawLocalFileSystem {
  override def setPermission(p: Path, permission: FsPermission): Unit = {
    val file = pathToFile(p).toPath
    try Files.setPosixFilePermissions(file, NioRawLocalFileSystem.posix(permission.toShort))
    catch { case _: NoSuchFileException => throw new FileNotFoundException(file.toString) }
  }
}

object NioRawLocalFileSystem {
  private val Bits = Seq(
    OWNER_READ -> 0x100, OWNER_WRITE -> 0x80, OWNER_EXECUTE -> 0x40,
    GROUP_READ -> 0x20, GROUP_WRITE -> 0x10, GROUP_EXECUTE -> 0x8,
    OTHERS_READ -> 0x4, OTHERS_WRITE -> 0x2, OTHERS_EXECUTE -> 0x1)

  /** The rwx bits of a Unix mode (sticky and set-id bits are not kept, as for chmod by
    * Hadoop's callers here: NodeManagers set 0500/0700/0555/0755). */
  def posix(mode: Int): java.util.Set[PosixFilePermission] =
    Bits.collect { case (perm, bit) if (mode & bit) != 0 => perm }.toSet.asJava
}

/** The FileContext side (`fs.AbstractFileSystem.file.impl`), which NodeManagers use. */
class NioRawLocalFs(uri: URI, conf: Configuration)
    extends DelegateToFileSystem(uri, new NioRawLocalFileSystem, conf, "file", false) {
  override def getUriDefaultPort: Int = -1
}

/** Checksummed like Hadoop's LocalFs. */
class NioLocalFs(uri: URI, conf: Configuration) extends ChecksumFs(new NioRawLocalFs(uri, conf))
