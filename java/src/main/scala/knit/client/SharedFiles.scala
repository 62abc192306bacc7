package knit.client

import java.io.{File, FileInputStream}
import java.security.{DigestInputStream, MessageDigest}

import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.fs.{FileSystem, Path}

/** Content-addressed files under `~/.knit/<kind>/<sha256>/<name>` (knit's jar, packed
  * environments): uploaded only when that path is missing, so the same content is sent
  * once, and NodeManagers can keep their localized copy across applications. */
object SharedFiles {
  private val privateDir = new FsPermission("700")

  final case class Shared(path: Path, uploadedBytes: Long)

  def sha256(local: File): String = {
    val digest = MessageDigest.getInstance("SHA-256")
    val in = new DigestInputStream(new FileInputStream(local), digest)
    try { val buf = new Array[Byte](1 << 16); while (in.read(buf) != -1) {} } finally in.close()
    digest.digest().map("%02x".format(_)).mkString
  }

  /** Makes sure `local` is in HDFS; returns where, and how many bytes this call sent. */
  def ensure(fs: FileSystem, root: Path, kind: String, local: File): Shared = {
    val dir = new Path(new Path(root, kind), sha256(local))
    val target = new Path(dir, local.getName)
    if (fs.exists(target)) Shared(target, 0L)
    else {
      privateDirs(fs, new Path(root, kind), dir)
      // Upload under a unique name and rename: concurrent starts never see half a file.
      val part = new Path(dir, s".${local.getName}.${java.util.UUID.randomUUID}")
      fs.copyFromLocalFile(false, true, new Path(local.toURI), part)
      fs.setPermission(part, new FsPermission("600"))
      if (!fs.rename(part, target)) fs.delete(part, false) // another start won the race
      Shared(target, local.length)
    }
  }

  /** What is stored under `kind`: (sha256, name, size, modification time in ms). */
  def list(fs: FileSystem, root: Path, kind: String): Seq[(String, String, Long, Long)] = {
    val base = new Path(root, kind)
    if (!fs.exists(base)) Seq.empty
    else for {
      dir <- fs.listStatus(base).toSeq if dir.isDirectory
      file <- fs.listStatus(dir.getPath).toSeq if file.isFile && !file.getPath.getName.startsWith(".")
    } yield (dir.getPath.getName, file.getPath.getName, file.getLen, file.getModificationTime)
  }

  /** Deletes the entries whose name or sha256 (or a prefix of it, 8+ characters) is
    * `nameOrHash`; returns how many. */
  def remove(fs: FileSystem, root: Path, kind: String, nameOrHash: String): Int = {
    val matches = list(fs, root, kind).filter { case (sha, name, _, _) =>
      name == nameOrHash || name.stripSuffix(".tar.gz") == nameOrHash ||
        (nameOrHash.length >= 8 && sha.startsWith(nameOrHash))
    }
    matches.foreach { case (sha, _, _, _) => fs.delete(new Path(new Path(root, kind), sha), true) }
    matches.size
  }

  /** Creates each dir (parents too, with the cluster's default permissions: a missing
    * home dir must not become private to one user's tool) and makes it mode 700. */
  def privateDirs(fs: FileSystem, dirs: Path*): Unit = dirs.foreach { d =>
    fs.mkdirs(d)
    fs.setPermission(d, privateDir) // mkdirs' permission argument is subject to the umask
  }
}
