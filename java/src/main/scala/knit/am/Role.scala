package knit.am

import scala.collection.mutable
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest

import knit.common.{AppFiles, RoleFiles}

/** One kind of container of an application: the main role runs the application's command;
  * others (a Dask scheduler beside its workers, say) run commands of their own, staged in
  * `roles/<name>/` by the client. Each role asks YARN with a priority of its own, which is
  * how its allocations are told from the others', and keeps its own books.
  *
  * Not thread-safe: the Coordinator synchronizes access, except to `launchTemplate`,
  * which it guards with a lock of its own (building it reads HDFS).
  */
final class Role(val name: String, val dir: Path, val defaultSize: Resources, val priority: Int,
    /** Resource types beyond memory and vcores each container asks, e.g. yarn.io/gpu -> 1. */
    val otherResources: Map[String, Int] = Map.empty,
    /** How many of its lost containers are replaced over the application's life. */
    maxRestarts: Int = 0,
    clock: () => Long = () => System.currentTimeMillis()) {
  val allocator = new Allocator(clock)
  val restarts = new Restarts(maxRestarts)
  /** YARN's own request objects, by size, so allocations remove exactly what was asked. */
  val requests: mutable.Map[Resources, mutable.Queue[ContainerRequest]] = mutable.Map.empty
  @volatile var launchTemplate: Option[ContainerLaunchContext] = None
  /** Each container asked for and not yet granted, oldest first: the size asked and the
    * variables it gets on top of the role's (empty for most). A launch takes the oldest of
    * the size its container filled; withdrawing asks drops entries, so there is one per
    * outstanding ask of the allocator. */
  val pendingVariables: mutable.ArrayBuffer[(Resources, Map[String, String])] = mutable.ArrayBuffer.empty

  /** The variables of the oldest ask of `size` now granted (empty if it had none). */
  def takeVariables(size: Resources): Map[String, String] = {
    val i = pendingVariables.indexWhere(_._1 == size)
    if (i < 0) Map.empty else pendingVariables.remove(i)._2
  }

  /** Forgets the newest ask of `size`, whose request was withdrawn. */
  def dropVariables(size: Resources): Unit = {
    val i = pendingVariables.lastIndexWhere(_._1 == size)
    if (i >= 0) pendingVariables.remove(i)
  }

  /** How many containers the role should have: live ones it keeps, plus asks. */
  def desiredCount: Int = allocator.desiredCount
}

object Role {
  def main(stagingDir: Path, size: Resources, otherResources: Map[String, Int], maxRestarts: Int): Role =
    new Role(AppFiles.MainRole, stagingDir, size, RoleFiles.MainPriority, otherResources, maxRestarts)

  /** A role the client staged under `roles/<name>/` (see knit.client.RoleStaging). */
  def staged(conf: Configuration, stagingDir: Path, name: String): Role = {
    val dir = RoleFiles.dir(stagingDir, name)
    val d = RoleFiles.read(dir.getFileSystem(conf), dir)
    new Role(name, dir, Resources(d.memoryMb, d.vcores), d.priority, d.otherResources, d.maxRestarts)
  }
}
