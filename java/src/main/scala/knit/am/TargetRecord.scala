package knit.am

import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{Executors, RejectedExecutionException, TimeUnit}

import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.fs.permission.FsPermission
import org.slf4j.LoggerFactory

/** How many containers the application should have now (running or asked for), kept in a
  * file of its staging dir: a later AM attempt restores that count, not the initial one,
  * after the application was scaled. Written off the caller's thread; the latest value wins.
  */
class TargetRecord(conf: Configuration, file: Path) {
  private val log = LoggerFactory.getLogger(getClass)
  private val writer = Executors.newSingleThreadExecutor { r =>
    val t = new Thread(r, "target-record"); t.setDaemon(true); t
  }
  @volatile private var latest = -1

  def update(n: Int): Unit = if (n != latest) {
    latest = n
    try writer.execute(() => write()) catch { case _: RejectedExecutionException => } // stopped
  }

  /** The count a previous attempt recorded, if any. */
  def read(): Option[Int] =
    try {
      val fs = file.getFileSystem(conf)
      if (!fs.exists(file)) None
      else {
        val in = fs.open(file)
        try scala.io.Source.fromInputStream(in, UTF_8.name).mkString.trim.toIntOption finally in.close()
      }
    } catch { case NonFatal(e) => log.warn(s"Cannot read $file", e); None }

  /** Waits for the last write: the staging dir is deleted next. */
  def stop(): Unit = {
    writer.shutdown()
    writer.awaitTermination(5, TimeUnit.SECONDS)
  }

  private def write(): Unit = {
    val n = latest
    try {
      // Non-recursive: once the application is killed and its staging dir deleted, a late
      // write must not bring the dir back.
      val fs = file.getFileSystem(conf)
      val out = fs.createNonRecursive(file, new FsPermission("600"), true, 4096,
        fs.getDefaultReplication(file), fs.getDefaultBlockSize(file), null)
      try out.write(n.toString.getBytes(UTF_8)) finally out.close()
    } catch { case NonFatal(e) => log.warn(s"Cannot record the target of $n containers in $file", e) }
  }
}
