package knit.client

import java.util.concurrent.{Executors, TimeUnit}

import scala.util.control.NonFatal

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.util.Time
import org.slf4j.LoggerFactory

import knit.common.SafeMode

/** Removes the staging dirs of applications that ended. One HDFS refuses because its
  * NameNode is in safe mode (the 30 s after a restart) is removed in the background once
  * it leaves it, retried every `RetryEveryMs` for up to `RetryForMs`: the application has
  * ended, its end must not fail on that. What is still there then (or when this JVM exits
  * first) goes at a later sweep (`StagingSweep`). */
final class StagingRemoval {
  private val log = LoggerFactory.getLogger(getClass)
  private val retries = Executors.newSingleThreadScheduledExecutor { r =>
    val t = new Thread(r, "staging-removal"); t.setDaemon(true); t
  }

  /** Removes `dir` now, or schedules it when HDFS is in safe mode; other failures throw. */
  def remove(fs: FileSystem, dir: Path): Unit =
    try fs.delete(dir, true)
    catch {
      case e: Exception if SafeMode.refused(e) =>
        log.info(s"HDFS is in safe mode: $dir will be removed once it leaves it")
        retry(fs, dir, Time.monotonicNow() + StagingRemoval.RetryForMs)
    }

  private def retry(fs: FileSystem, dir: Path, deadline: Long): Unit =
    retries.schedule((() => {
      try { fs.delete(dir, true); log.info(s"Removed $dir: HDFS left safe mode") }
      catch {
        case e: Exception if SafeMode.refused(e) && Time.monotonicNow() < deadline => retry(fs, dir, deadline)
        case NonFatal(e) => log.warn(s"Could not remove $dir; the next sweep will", e)
      }
    }): Runnable, StagingRemoval.RetryEveryMs, TimeUnit.MILLISECONDS)
}

object StagingRemoval {
  val RetryEveryMs: Long = 2000L
  /** A NameNode stays in safe mode for its extension (30 s) after enough blocks are reported. */
  val RetryForMs: Long = 10L * 60 * 1000
}
