package knit.minicluster

import java.io.{File, PrintWriter}
import java.nio.file.{Files, StandardCopyOption}

import org.slf4j.LoggerFactory

/** Entry point of the embedded-cluster JVM that `knit.MiniCluster` starts.
  *
  * Protocol with the Python parent:
  *  - writes the Hadoop conf dir, then `--ready-file` (key=value lines) once usable;
  *  - exits, stopping the cluster, when its stdin reaches EOF: the parent closed it or died,
  *    so the cluster never outlives the process that started it;
  *  - exits non-zero on a start-up failure, after stopping whatever had started.
  */
object MiniClusterMain {
  private val log = LoggerFactory.getLogger(getClass)

  case class Options(
      confDir: File,
      readyFile: File,
      nodeManagers: Int = 2,
      nodeManagerMemoryMb: Int = 4096,
      timeoutMs: Long = 120000L,
      kerberos: Boolean = false,
      settings: Map[String, String] = Map.empty,
      /** Users whose HDFS homes to make, owned by them. */
      homes: Seq[String] = Nil,
      /** With kerberos: the KDC's longest ticket lifetime, to test renewals. */
      ticketLifetimeS: Option[Long] = None)

  def parse(args: Seq[String]): Options = {
    val pairs = args.grouped(2).map {
      case Seq(k, v) if k.startsWith("--") => k.drop(2) -> v
      case other => throw new IllegalArgumentException(s"Bad arguments: ${other.mkString(" ")}")
    }.toSeq
    val unknown = pairs.map(_._1).toSet --
      Set("conf-dir", "ready-file", "nodemanagers", "nm-memory-mb", "timeout-ms", "kerberos", "set", "home", "ticket-lifetime-s")
    require(unknown.isEmpty, s"Unknown options: ${unknown.mkString(", ")}")
    val single = pairs.filter(p => p._1 != "set" && p._1 != "home").toMap
    def need(k: String) = single.getOrElse(k, throw new IllegalArgumentException(s"--$k is required"))
    Options(
      confDir = new File(need("conf-dir")),
      readyFile = new File(need("ready-file")),
      nodeManagers = single.get("nodemanagers").map(_.toInt).getOrElse(2),
      nodeManagerMemoryMb = single.get("nm-memory-mb").map(_.toInt).getOrElse(4096),
      timeoutMs = single.get("timeout-ms").map(_.toLong).getOrElse(120000L),
      kerberos = single.get("kerberos").exists(_.toBoolean),
      settings = pairs.filter(_._1 == "set").map { case (_, kv) =>
        val (k, v) = kv.span(_ != '=')
        require(v.nonEmpty, s"--set takes key=value, got $kv")
        k -> v.drop(1)
      }.toMap,
      homes = pairs.filter(_._1 == "home").map(_._2),
      ticketLifetimeS = single.get("ticket-lifetime-s").map(_.toLong))
  }

  /** The JVM's classpath without knit's own jar: containers get what a real cluster has. */
  def clusterClasspath(confDir: File): Seq[String] = {
    val ownJar = new File(getClass.getProtectionDomain.getCodeSource.getLocation.toURI)
    val entries = System.getProperty("java.class.path").split(File.pathSeparator).toSeq
    confDir.getAbsolutePath +: entries.filterNot(e => new File(e).getAbsoluteFile == ownJar)
  }

  def main(args: Array[String]): Unit = {
    val opts = parse(args.toSeq)
    val workDir = new File(".").getCanonicalFile
    val cluster = new EmbeddedCluster(
      workDir, opts.nodeManagers, opts.nodeManagerMemoryMb, clusterClasspath(opts.confDir),
      opts.settings, opts.kerberos, opts.homes, opts.ticketLifetimeS)
    Runtime.getRuntime.addShutdownHook(new Thread(() => cluster.stop(), "knit-minicluster-stop"))
    exitOnStdinEof(cluster, opts.readyFile.getParentFile)
    val ready = new java.util.concurrent.CountDownLatch(1)
    exitIfNotReadyIn(opts.timeoutMs, ready)
    try {
      val (conf, addresses) = cluster.start(opts.timeoutMs)
      SiteFiles.write(conf, opts.confDir)
      writeReadyFile(opts.readyFile, addresses)
      ready.countDown()
    } catch {
      case t: Throwable =>
        log.error("Embedded cluster failed to start", t)
        System.exit(2)
    }
    Thread.currentThread().join() // the stdin watcher ends the process
  }

  /** Stops the cluster outside of a shutdown hook (Hadoop's own hooks object to being
    * removed during shutdown); the hook above only covers SIGTERM. Until EOF, stdin also
    * takes commands, one per line: `stop-nodemanager <index or node id> <answer name>`,
    * answered by writing the node id (or `error: ...`) into `<answerDir>/<answer name>`. */
  private def exitOnStdinEof(cluster: EmbeddedCluster, answerDir: File): Unit = {
    val watcher = new Thread(() => {
      val in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, "UTF-8"))
      try {
        Iterator.continually(in.readLine()).takeWhile(_ != null).foreach(command(cluster, answerDir, _))
      } catch { case _: java.io.IOException => }
      log.info("stdin closed: stopping the embedded cluster")
      cluster.stop()
      System.exit(0)
    }, "knit-stdin-watcher")
    watcher.setDaemon(true)
    watcher.start()
  }

  private def command(cluster: EmbeddedCluster, answerDir: File, line: String): Unit =
    line.trim.split("\\s+") match {
      case Array("stop-nodemanager", which, answerName) if !answerName.contains('/') =>
        val answer = try cluster.stopNodeManager(which) catch {
          case e: Exception => log.error(s"Cannot stop NodeManager $which", e); s"error: $e"
        }
        val tmp = new File(answerDir, s".$answerName.tmp")
        Files.write(tmp.toPath, answer.getBytes("UTF-8"))
        Files.move(tmp.toPath, new File(answerDir, answerName).toPath, StandardCopyOption.ATOMIC_MOVE)
      case Array("") =>
      case _ => log.warn(s"Unknown command on stdin: $line")
    }

  /** A blocking Hadoop call can hang past any deadline of its own; this one cannot. */
  private def exitIfNotReadyIn(timeoutMs: Long, ready: java.util.concurrent.CountDownLatch): Unit = {
    val watchdog = new Thread(() => {
      if (!ready.await(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        log.error(s"Timed out waiting for the cluster: not ready after $timeoutMs ms")
        System.exit(2) // the shutdown hook stops what did start
      }
    }, "knit-startup-watchdog")
    watchdog.setDaemon(true)
    watchdog.start()
  }

  private def writeReadyFile(target: File, a: ClusterAddresses): Unit = {
    val tmp = new File(target.getPath + ".tmp")
    val out = new PrintWriter(tmp, "UTF-8")
    try {
      out.println(s"default_fs=${a.defaultFs}")
      out.println(s"webhdfs=${a.webHdfs}")
      out.println(s"resourcemanager=${a.resourceManager}")
      out.println(s"resourcemanager_web=${a.resourceManagerWeb}")
      out.println(s"pid=${java.lang.management.ManagementFactory.getRuntimeMXBean.getName.takeWhile(_ != '@')}")
      a.kerberos.foreach { k =>
        out.println(s"krb5_conf=${k.krb5Conf}")
        out.println(s"principal=${k.principal}")
        out.println(s"keytab=${k.keytab}")
      }
    } finally out.close()
    Files.move(tmp.toPath, target.toPath, StandardCopyOption.ATOMIC_MOVE)
  }
}
