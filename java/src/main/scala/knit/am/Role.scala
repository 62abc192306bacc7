package knit.am

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest

import knit.common.AppFiles

/** One kind of container of an application: the main role runs the application's command;
  * others (a Dask scheduler beside its workers, say) run commands of their own, staged in
  * `roles/<name>/` by the client. Each role asks YARN with a priority of its own, which is
  * how its allocations are told from the others', and keeps its own books.
  *
  * Not thread-safe: the ApplicationMaster synchronizes access, except to `launchTemplate`,
  * which it guards with a lock of its own (building it reads HDFS).
  */
final class Role(val name: String, val dir: Path, val defaultSize: Resources, val priority: Int,
    /** Resource types beyond memory and vcores each container asks, e.g. yarn.io/gpu -> 1. */
    val otherResources: Map[String, Int] = Map.empty) {
  val allocator = new Allocator()
  /** YARN's own request objects, by size, so allocations remove exactly what was asked. */
  val requests: mutable.Map[Resources, mutable.Queue[ContainerRequest]] = mutable.Map.empty
  @volatile var launchTemplate: Option[ContainerLaunchContext] = None

  /** How many containers the role should have: live ones it keeps, plus asks. */
  def desiredCount: Int = allocator.desiredCount
}

object Role {
  /** YARN priority of the main role's requests; other roles take the next ones. */
  val MainPriority = 1

  def main(stagingDir: Path, size: Resources, otherResources: Map[String, Int]): Role =
    new Role(AppFiles.MainRole, stagingDir, size, MainPriority, otherResources)

  /** A role the client staged under `roles/<name>/` (see knit.client.RoleStaging). */
  def staged(conf: Configuration, stagingDir: Path, name: String): Role = {
    require(name.matches(AppFiles.RoleName), s"not a role name: $name")
    val dir = new Path(new Path(stagingDir, AppFiles.RolesDir), name)
    val fs = dir.getFileSystem(conf)
    val in = fs.open(new Path(dir, AppFiles.RoleSpec))
    val xml = try scala.io.Source.fromInputStream(in, "UTF-8").mkString finally in.close()
    val spec = new Configuration(false)
    spec.addResource(new java.io.ByteArrayInputStream(xml.getBytes("UTF-8")))
    val others = spec.getPropsWithPrefix(AppFiles.RoleResourcePrefix).asScala.map { case (k, v) => k -> v.toInt }.toMap
    new Role(name, dir, Resources(spec.getInt(AppFiles.RoleMemory, 1024), spec.getInt(AppFiles.RoleVcores, 1)),
      spec.getInt(AppFiles.RolePriority, MainPriority + 1), others)
  }

  /** The roles a client staged for an application (a later AM attempt takes them over). */
  def stagedNames(conf: Configuration, stagingDir: Path): Seq[String] = {
    val dir = new Path(stagingDir, AppFiles.RolesDir)
    val fs = dir.getFileSystem(conf)
    if (!fs.exists(dir)) Nil
    else fs.listStatus(dir).toSeq.filter(_.isDirectory).map(_.getPath.getName).sorted
  }
}
