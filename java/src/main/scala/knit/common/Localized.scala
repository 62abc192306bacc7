package knit.common

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.yarn.api.records.{LocalResource, LocalResourceType, LocalResourceVisibility, URL}

/** HDFS paths of knit and the YARN local resources that point at them, shared by the
  * client (which stages) and the AM (which launches). */
object Localized {

  /** `~/.knit`: staging dirs, shared jars and environments live under it. */
  def root(fs: FileSystem): Path = new Path(fs.getHomeDirectory, AppFiles.StagingRoot)

  /** A local resource for `path` as it is now in HDFS (size and modification time). */
  /** Classpath of a JVM started in a container with knit's jar localized: the jar, then
    * what the cluster gives applications (`yarn.application.classpath`). */
  def jvmClasspath(conf: org.apache.hadoop.conf.Configuration): String = {
    import org.apache.hadoop.yarn.api.ApplicationConstants
    import org.apache.hadoop.yarn.conf.YarnConfiguration
    val yarnClasspath = conf.getStrings(YarnConfiguration.YARN_APPLICATION_CLASSPATH,
      YarnConfiguration.DEFAULT_YARN_CROSS_PLATFORM_APPLICATION_CLASSPATH: _*).map(_.trim)
    (Seq(ApplicationConstants.Environment.PWD.$$() + "/" + AppFiles.Jar) ++ yarnClasspath)
      .mkString(ApplicationConstants.CLASS_PATH_SEPARATOR)
  }

  def resource(fs: FileSystem, path: Path, kind: LocalResourceType,
      visibility: LocalResourceVisibility = LocalResourceVisibility.APPLICATION): LocalResource = {
    val status = fs.getFileStatus(path)
    LocalResource.newInstance(URL.fromPath(fs.makeQualified(path)), kind, visibility,
      status.getLen, status.getModificationTime)
  }
}
