package knit.am

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.util.ShutdownHookManager
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

/** Removes the application's staging dir when this AM is the application's last attempt
  * and its JVM ends without having done so: killed (`yarn application -kill` sends
  * SIGTERM, then SIGKILL 250 ms later) or failed. An earlier attempt leaves it: the next
  * one needs it. */
final class StagingCleanup(conf: Configuration, dir: Path, attempt: Int, requestedAttempts: Int) {
  private val log = LoggerFactory.getLogger(getClass)
  val lastAttempt: Boolean = StagingCleanup.isLast(attempt, requestedAttempts,
    conf.getInt(YarnConfiguration.RM_AM_MAX_ATTEMPTS, YarnConfiguration.DEFAULT_RM_AM_MAX_ATTEMPTS))
  @volatile private var removed = false

  // Before Hadoop's own hook closes the cached FileSystems (by then the AM has used HDFS,
  // so the hook finds its FileSystem cached and connected).
  if (lastAttempt)
    ShutdownHookManager.get().addShutdownHook(() => if (!removed) remove("as the JVM ends"),
      FileSystem.SHUTDOWN_HOOK_PRIORITY + 10)

  /** Removes the dir now (the application finished normally). */
  def remove(why: String): Unit = {
    removed = true
    try { dir.getFileSystem(conf).delete(dir, true); log.info(s"Removed $dir $why") }
    catch { case e: Exception => log.warn(s"Could not delete $dir", e) }
  }
}

object StagingCleanup {
  /** YARN starts at most the smaller of what the application asked and the cluster's maximum. */
  def isLast(attempt: Int, requested: Int, clusterMax: Int): Boolean =
    attempt >= math.min(requested, clusterMax)
}
