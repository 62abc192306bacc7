package knit.client

import java.io.{ByteArrayOutputStream, File}
import java.util.zip.{ZipEntry, ZipOutputStream}

import org.apache.hadoop.fs.{FileSystem, Path}

import knit.common.AppFiles

/** The Hadoop client configuration the user's client used, shipped with the application so
  * that code in its containers (hdfs-native, say) reaches HDFS as the client does: the
  * container script points HADOOP_CONF_DIR at it (see CommandScript.HadoopConfSetup). Only
  * what an HDFS client reads: core-site.xml and hdfs-site.xml. */
object HadoopClientConf {
  val Files: Seq[String] = Seq("core-site.xml", "hdfs-site.xml")

  /** Writes `<staging>/knit-hadoop-conf.zip` (mode 600) from `confDir`; false if it has
    * none of the files. */
  def stage(fs: FileSystem, staging: Path, confDir: File): Boolean = {
    val present = Files.map(new File(confDir, _)).filter(_.isFile)
    if (present.isEmpty) return false
    val bytes = new ByteArrayOutputStream()
    val zip = new ZipOutputStream(bytes)
    try present.foreach { f =>
      zip.putNextEntry(new ZipEntry(f.getName))
      zip.write(java.nio.file.Files.readAllBytes(f.toPath))
      zip.closeEntry()
    } finally zip.close()
    PrivateFiles.write(fs, new Path(staging, AppFiles.HadoopConfArchive), bytes.toByteArray)
    true
  }
}
