package knit.am

import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.CompletableFuture

import org.apache.hadoop.fs.FileSystem
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, GatewayTls, HadoopConf, Messages}

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
        // A cold JVM spends most of its first second loading classes: YARN's configuration
        // and clients, TLS (JSSE) and the HDFS client each take a few hundred ms of it, so
        // they load side by side (and the spec's reader, upickle's, beside them). The HDFS
        // client after registration was tried: it then delayed the first launch by 0.4 s.
        // Registration waits for the YARN clients alone: the gateway's port is bound before
        // its TLS context is ready (GatewayTls.deferred).
        val staged = CompletableFuture.supplyAsync(() => Messages.fromJson[Messages.StagedApp](
          new String(java.nio.file.Files.readAllBytes(new java.io.File(AppFiles.Spec).toPath), UTF_8)))
        val conf = HadoopConf.forApplicationMaster(new YarnConfiguration())
        val tls = CompletableFuture.supplyAsync(() =>
          GatewayTls.context(AmSecrets.read(AppFiles.GatewayCertKey), AmSecrets.read(AppFiles.GatewayKeyKey)))
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
