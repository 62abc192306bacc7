package knit.am

import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{Executors, RejectedExecutionException, TimeUnit}

import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.fs.permission.FsPermission
import org.slf4j.LoggerFactory

import knit.common.SafeMode

/** How many containers of each role the application should have now (running or asked
  * for), kept in a file of its staging dir as `role=count` lines: a later AM attempt
  * restores those counts, not the initial ones, after the application was scaled. Written
  * off the caller's thread; the latest value wins.
  */
class TargetRecord(conf: Configuration, file: Path) {
  private val log = LoggerFactory.getLogger(getClass)
  private val writer = Executors.newSingleThreadExecutor { r =>
    val t = new Thread(r, "target-record"); t.setDaemon(true); t
  }
  @volatile private var latest = Map.empty[String, Int]
  @volatile private var stopping = false

  def update(counts: Map[String, Int]): Unit = if (counts != latest) {
    latest = counts
    try writer.execute(() => write()) catch { case _: RejectedExecutionException => } // stopped
  }

  /** The counts a previous attempt recorded, by role (empty if none). */
  def read(): Map[String, Int] =
    try {
      val fs = file.getFileSystem(conf)
      if (!fs.exists(file)) Map.empty
      else {
        val in = fs.open(file)
        try TargetRecord.parse(scala.io.Source.fromInputStream(in, UTF_8.name).mkString) finally in.close()
      }
    } catch { case NonFatal(e) => log.warn(s"Cannot read $file", e); Map.empty }

  /** Waits for the last write: the staging dir is deleted next (one waiting for HDFS to
    * leave safe mode gives up: the application ends, no later attempt reads it). */
  def stop(): Unit = {
    stopping = true
    writer.shutdown()
    writer.awaitTermination(5, TimeUnit.SECONDS)
  }

  /** Writes the latest counts; while HDFS is in safe mode (a NameNode restarting) it waits,
    * retrying every `TargetRecord.SafeModeRetryMs`: a later attempt must find the count. */
  private def write(): Unit = {
    var waiting = false
    var done = false
    while (!done) {
      val counts = latest
      try {
        // Non-recursive: once the application is killed and its staging dir deleted, a late
        // write must not bring the dir back.
        val fs = file.getFileSystem(conf)
        val out = fs.createNonRecursive(file, new FsPermission("600"), true, 4096,
          fs.getDefaultReplication(file), fs.getDefaultBlockSize(file), null)
        try out.write(TargetRecord.format(counts).getBytes(UTF_8)) finally out.close()
        if (waiting) log.info(s"Recorded the target of $counts containers: HDFS left safe mode")
        done = true
      } catch {
        case NonFatal(e) if SafeMode.refused(e) && !stopping =>
          if (!waiting) log.info(s"HDFS is in safe mode: the target of $counts containers waits for it to end")
          waiting = true
          Thread.sleep(TargetRecord.SafeModeRetryMs)
        case NonFatal(e) =>
          log.warn(s"Cannot record the target of $counts containers in $file", e)
          done = true // given up
      }
    }
  }
}

object TargetRecord {
  val SafeModeRetryMs: Long = 1000L

  def format(counts: Map[String, Int]): String =
    counts.toSeq.sorted.map { case (role, n) => s"$role=$n\n" }.mkString

  def parse(text: String): Map[String, Int] =
    text.linesIterator.map(_.trim).filter(_.contains('=')).flatMap { line =>
      val (role, count) = line.span(_ != '=')
      count.drop(1).toIntOption.map(role -> _)
    }.toMap
}
