package knit.am

import org.apache.hadoop.yarn.api.records.FinalApplicationStatus
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, Messages}

/** Entry point of the AM container: reads the localized application spec and runs. */
object ApplicationMasterMain {
  private val log = LoggerFactory.getLogger(getClass)

  def main(args: Array[String]): Unit = {
    // Which Java and Hadoop the cluster gave this AM: the first thing to read when it fails.
    log.info(s"knit ApplicationMaster on Java ${System.getProperty("java.version")} " +
      s"(${System.getProperty("java.home")}), Hadoop ${org.apache.hadoop.util.VersionInfo.getVersion}; " +
      s"${java.lang.management.ManagementFactory.getRuntimeMXBean.getUptime} ms after the JVM started")
    val status =
      try {
        val spec = new String(java.nio.file.Files.readAllBytes(new java.io.File(AppFiles.Spec).toPath), "UTF-8")
        new ApplicationMaster(new YarnConfiguration(), Messages.fromJson(spec, classOf[Messages.StagedApp])).run()
      }
      catch {
        case t: Throwable =>
          log.error("The ApplicationMaster failed", t)
          FinalApplicationStatus.FAILED
      }
    sys.exit(if (status == FinalApplicationStatus.SUCCEEDED) 0 else 1)
  }
}
