package knit.am

import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{Executors, RejectedExecutionException, TimeUnit}

import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.fs.permission.FsPermission
import org.slf4j.LoggerFactory

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

  /** Waits for the last write: the staging dir is deleted next. */
  def stop(): Unit = {
    writer.shutdown()
    writer.awaitTermination(5, TimeUnit.SECONDS)
  }

  private def write(): Unit = {
    val counts = latest
    try {
      // Non-recursive: once the application is killed and its staging dir deleted, a late
      // write must not bring the dir back.
      val fs = file.getFileSystem(conf)
      val out = fs.createNonRecursive(file, new FsPermission("600"), true, 4096,
        fs.getDefaultReplication(file), fs.getDefaultBlockSize(file), null)
      try out.write(TargetRecord.format(counts).getBytes(UTF_8)) finally out.close()
    } catch { case NonFatal(e) => log.warn(s"Cannot record the target of $counts containers in $file", e) }
  }
}

object TargetRecord {
  def format(counts: Map[String, Int]): String =
    counts.toSeq.sorted.map { case (role, n) => s"$role=$n\n" }.mkString

  def parse(text: String): Map[String, Int] =
    text.linesIterator.map(_.trim).filter(_.contains('=')).flatMap { line =>
      val (role, count) = line.span(_ != '=')
      count.drop(1).toIntOption.map(role -> _)
    }.toMap
}
