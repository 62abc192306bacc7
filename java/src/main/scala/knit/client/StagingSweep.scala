package knit.client

import scala.util.control.NonFatal

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.yarn.api.records.ApplicationId
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException
import org.slf4j.LoggerFactory

import knit.common.Localized
import knit.common.Messages.RemovedStaging

/** Removes the staging dirs (`~/.knit/application_*`, this user's home only) that ended
  * applications left behind: an AM killed by YARN or by SIGKILL, a client killed with its
  * JVM. The client JVM runs it in the background after a start, and `knit clean` runs it.
  * Nothing else under `~/.knit` (stored environments, knit's jar) is touched. */
object StagingSweep {
  private val log = LoggerFactory.getLogger(getClass)

  /** Application states after which YARN runs nothing of it again. */
  val Finished: Set[String] = Set("FINISHED", "FAILED", "KILLED")
  /** What a dir the ResourceManager does not know is reported as. */
  val Unknown = "UNKNOWN"
  /** How old the dir of an application the ResourceManager does not know must be: a
    * start creates the dir before it submits (user files are uploaded in between, which
    * may take minutes), and the ResourceManager knows the id only once submitted. */
  val UnknownGraceMs: Long = 60L * 60 * 1000

  private val Name = """application_(\d+)_(\d+)""".r

  /** The ResourceManager's cluster timestamp in an application id's name, if it is one. */
  def clusterTimestamp(name: String): Option[Long] = name match {
    case Name(ts, _) => ts.toLongOption
    case _ => None
  }

  /** Whether the dir `name` (last modified at `dirModified`) may go, given its application's
    * state as the ResourceManager tells it (None: unknown to it) at `now`. A finished
    * application's dir goes at once: nothing reads it again. An unknown one's only when
    * the id is this ResourceManager's (`rmClusterTimestamp`; another ResourceManager,
    * sharing this HDFS, may be running it) and the dir is older than `UnknownGraceMs`
    * (a submission may be on its way): this ResourceManager forgot it (it keeps
    * `yarn.resourcemanager.max-completed-applications`). */
  def removable(name: String, state: Option[String], dirModified: Long, now: Long,
      rmClusterTimestamp: Long): Boolean = state match {
    case Some(s) => Finished(s)
    case None => clusterTimestamp(name).contains(rmClusterTimestamp) && now - dirModified >= UnknownGraceMs
  }

  /** Sweeps this user's `~/.knit`; returns what it removed. A dir whose application's state
    * cannot be read (the ResourceManager does not answer) stays. */
  def run(fs: FileSystem, yarn: YarnClient, rmClusterTimestamp: Long): Seq[RemovedStaging] = {
    val started = System.nanoTime()
    val root = Localized.root(fs)
    val dirs = if (!fs.exists(root)) Seq.empty
      else fs.listStatus(root).toSeq.filter(s => s.isDirectory && clusterTimestamp(s.getPath.getName).isDefined)
    val removed = dirs.flatMap { dir =>
      val name = dir.getPath.getName
      val report =
        try Right(Some(yarn.getApplicationReport(ApplicationId.fromString(name))))
        catch {
          case _: ApplicationNotFoundException => Right(None)
          case NonFatal(e) => Left(e)
        }
      val now = System.currentTimeMillis()
      report match {
        case Left(e) =>
          log.warn(s"Kept ${dir.getPath}: cannot read the state of $name", e); None
        case Right(r) =>
          val state = r.map(_.getYarnApplicationState.name)
          if (!removable(name, state, dir.getModificationTime, now, rmClusterTimestamp)) None
          else if (!delete(fs, dir.getPath)) None
          else {
            val since = r.map(_.getFinishTime).filter(_ > 0).getOrElse(dir.getModificationTime)
            Some(RemovedStaging(name, state.getOrElse(Unknown), math.max(0L, now - since)))
          }
      }
    }
    log.info(s"Swept $root: ${dirs.size} staging dirs, removed ${removed.size} " +
      s"(${removed.map(_.appId).mkString(", ")}) in ${(System.nanoTime() - started) / 1000000} ms")
    removed
  }

  private def delete(fs: FileSystem, dir: Path): Boolean =
    try fs.delete(dir, true) // false: gone meanwhile (its AM or client removed it)
    catch { case NonFatal(e) => log.warn(s"Cannot delete $dir", e); false }
}
