package knit.minicluster

/** Runs one of Hadoop's daemons from its own main class (NameNode, DataNode,
  * ResourceManager, NodeManager, WebAppProxyServer), as `hdfs namenode` or `yarn
  * nodemanager` would, and ends it when its stdin reaches EOF: the Python process that
  * started the daemon closed it or died, so no daemon outlives it. Exiting runs the
  * daemon's own shutdown hooks (a NodeManager stops its containers).
  *
  * Arguments: `--format-namenode` (a new cluster's NameNode: format its name dirs first),
  * the daemon's main class, then its own arguments.
  */
object DaemonMain {
  private val FormatFirst = "--format-namenode"
  /** How long a daemon's shutdown hooks may run once its stdin closed. */
  val ShutdownGraceMs = 30000L

  def main(allArgs: Array[String]): Unit = {
    val formatFirst = allArgs.headOption.contains(FormatFirst)
    val args = if (formatFirst) allArgs.drop(1) else allArgs
    require(args.nonEmpty, s"usage: DaemonMain [$FormatFirst] <main class> [args...]")
    val watcher = new Thread(() => {
      try while (System.in.read() != -1) {} catch { case _: java.io.IOException => }
      // The shutdown hooks get a bounded time: a NodeManager whose ResourceManagers are
      // gone too (its owner died while the cluster started) spent 90 s in its hook
      // retrying to unregister. Python's stop() kills a daemon after the same wait.
      val halt = new Thread(() => { Thread.sleep(ShutdownGraceMs); Runtime.getRuntime.halt(1) }, "knit-halt")
      halt.setDaemon(true)
      halt.start()
      System.exit(0)
    }, "knit-stdin-watcher")
    watcher.setDaemon(true)
    watcher.start()
    // In the NameNode's own JVM (a `namenode -format` JVM of its own held up every daemon
    // cluster's start). Formatting registers metrics sources the NameNode registers again,
    // which "mini cluster mode" allows (MiniDFSCluster sets it for the same reason).
    if (formatFirst) {
      org.apache.hadoop.metrics2.lib.DefaultMetricsSystem.setMiniClusterMode(true)
      org.apache.hadoop.hdfs.server.namenode.NameNode.format(new org.apache.hadoop.hdfs.HdfsConfiguration())
    }
    val main = Class.forName(args(0)).getMethod("main", classOf[Array[String]])
    main.invoke(null, args.drop(1))
  }
}
