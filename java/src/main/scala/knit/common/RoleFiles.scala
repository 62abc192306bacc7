package knit.common

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}

/** A role's files in the staging dir, `roles/<name>/`, as the client writes them
  * (knit.client.RoleStaging) and the ApplicationMaster reads them (knit.am.Role.staged):
  * the format both sides share. */
object RoleFiles {
  /** YARN priority of the main role's requests; other roles take the next ones, which is
    * how an AM tells a role's allocations from the others'. */
  val MainPriority = 1

  /** What `role.xml` says of a role: its default size, its priority, its other resource
    * types (e.g. yarn.io/gpu -> 1) and how many lost containers are replaced. */
  final case class Described(memoryMb: Int, vcores: Int, priority: Int, otherResources: Map[String, Int],
      maxRestarts: Int)

  /** The dir of role `name` in `stagingDir`. */
  def dir(stagingDir: Path, name: String): Path = {
    require(name.matches(AppFiles.RoleName), s"not a role name: $name")
    new Path(new Path(stagingDir, AppFiles.RolesDir), name)
  }

  /** `role.xml` of a role, the `taken`-th other role of its application. */
  def describe(memoryMb: Int, vcores: Int, resources: Map[String, Int], maxRestarts: Int,
      taken: Int): Array[Byte] = {
    val spec = new Configuration(false)
    spec.setInt(AppFiles.RoleMaxRestarts, maxRestarts)
    spec.setInt(AppFiles.RoleMemory, memoryMb)
    spec.setInt(AppFiles.RoleVcores, vcores)
    spec.setInt(AppFiles.RolePriority, MainPriority + 1 + taken)
    resources.foreach { case (k, v) => spec.setInt(AppFiles.RoleResourcePrefix + k, v) }
    val out = new java.io.ByteArrayOutputStream()
    spec.writeXml(out)
    out.toByteArray
  }

  /** What a staged role's `role.xml` says. */
  def read(fs: FileSystem, roleDir: Path): Described = {
    val in = fs.open(new Path(roleDir, AppFiles.RoleSpec))
    val xml = try scala.io.Source.fromInputStream(in, "UTF-8").mkString finally in.close()
    val spec = new Configuration(false)
    spec.addResource(new java.io.ByteArrayInputStream(xml.getBytes("UTF-8")))
    val others = spec.getPropsWithPrefix(AppFiles.RoleResourcePrefix).asScala
      .map { case (k, v) => k -> v.toInt }.toMap
    Described(spec.getInt(AppFiles.RoleMemory, 1024), spec.getInt(AppFiles.RoleVcores, 1),
      spec.getInt(AppFiles.RolePriority, MainPriority + 1), others, spec.getInt(AppFiles.RoleMaxRestarts, 0))
  }

  /** The roles a client staged for an application (a later AM attempt takes them over). */
  def stagedNames(conf: Configuration, stagingDir: Path): Seq[String] = {
    val dir = new Path(stagingDir, AppFiles.RolesDir)
    val fs = dir.getFileSystem(conf)
    if (!fs.exists(dir)) Nil
    else fs.listStatus(dir).toSeq.filter(_.isDirectory).map(_.getPath.getName).sorted
  }
}
