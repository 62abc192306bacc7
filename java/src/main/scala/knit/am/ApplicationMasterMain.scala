package knit.am

import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.CompletableFuture

import org.apache.hadoop.fs.FileSystem
import org.apache.hadoop.io.Text
import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, GatewayTls, Messages}

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
        // A cold JVM spends most of its first seconds loading classes: reading the spec
        // (Jackson), YARN's configuration, TLS (JSSE) and the HDFS client each take a few
        // hundred ms of it, so they load side by side rather than one after the other.
        val staged = CompletableFuture.supplyAsync(() => Messages.fromJson(
          new String(java.nio.file.Files.readAllBytes(new java.io.File(AppFiles.Spec).toPath), UTF_8),
          classOf[Messages.StagedApp]))
        val conf = new YarnConfiguration()
        val creds = UserGroupInformation.getCurrentUser.getCredentials
        def secret(key: String) = new String(creds.getSecretKey(new Text(key)), UTF_8)
        val tls = CompletableFuture.supplyAsync(() =>
          GatewayTls.serverSocketFactory(secret(AppFiles.GatewayCertKey), secret(AppFiles.GatewayKeyKey)))
        // The workers' launch context reads HDFS: its client is cached for that first use.
        CompletableFuture.runAsync(() =>
          try FileSystem.get(conf) catch { case e: Exception => log.warn("Cannot open HDFS yet", e) })
        new ApplicationMaster(conf, staged.get(), tls).run()
      }
      catch {
        case t: Throwable =>
          log.error("The ApplicationMaster failed", t)
          FinalApplicationStatus.FAILED
      }
    sys.exit(if (status == FinalApplicationStatus.SUCCEEDED) 0 else 1)
  }
}
