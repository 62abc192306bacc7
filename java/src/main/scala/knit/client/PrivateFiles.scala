package knit.client

import java.io.File

import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.yarn.api.records.{LocalResource, LocalResourceType}

import knit.common.Localized

/** Files of an application's staging dir, readable by their owner alone: commands and
  * envvars may hold secrets, and so may the files a user ships. */
object PrivateFiles {

  /** Written straight to HDFS with mode 600. */
  def write(fs: FileSystem, dst: Path, bytes: Array[Byte]): LocalResource = {
    val out = FileSystem.create(fs, dst, new FsPermission("600"))
    try out.write(bytes) finally out.close()
    Localized.resource(fs, dst, LocalResourceType.FILE)
  }

  /** A local file copied to HDFS with mode 600. */
  def upload(fs: FileSystem, src: Path, dst: Path): LocalResource = {
    fs.copyFromLocalFile(false, true, src, dst)
    fs.setPermission(dst, new FsPermission("600"))
    Localized.resource(fs, dst, LocalResourceType.FILE)
  }

  /** Local files, each under its own name, into `dir` (made mode 700). */
  def uploadAll(fs: FileSystem, files: Seq[String], dir: Path): Unit = {
    SharedFiles.privateDirs(fs, dir)
    files.foreach(uploadInto(fs, _, dir))
  }

  /** A local file, under its own name, into `dir`. */
  def uploadInto(fs: FileSystem, file: String, dir: Path): LocalResource = {
    val local = new Path(new File(file).getAbsoluteFile.toURI)
    upload(fs, local, new Path(dir, local.getName))
  }
}
