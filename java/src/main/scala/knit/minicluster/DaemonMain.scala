package knit.minicluster

/** Runs one of Hadoop's daemons from its own main class (NameNode, DataNode,
  * ResourceManager, NodeManager, WebAppProxyServer), as `hdfs namenode` or `yarn
  * nodemanager` would, and ends it when its stdin reaches EOF: the Python process that
  * started the daemon closed it or died, so no daemon outlives it. Exiting runs the
  * daemon's own shutdown hooks (a NodeManager stops its containers).
  *
  * Arguments: the daemon's main class, then its own arguments.
  */
object DaemonMain {
  def main(args: Array[String]): Unit = {
    require(args.nonEmpty, "usage: DaemonMain <main class> [args...]")
    val watcher = new Thread(() => {
      try while (System.in.read() != -1) {} catch { case _: java.io.IOException => }
      System.exit(0)
    }, "knit-stdin-watcher")
    watcher.setDaemon(true)
    watcher.start()
    val main = Class.forName(args(0)).getMethod("main", classOf[Array[String]])
    main.invoke(null, args.drop(1))
  }
}
