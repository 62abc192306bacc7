package knit.client

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.hadoop.fs.{FileAlreadyExistsException, FileSystem, Path}
import org.apache.hadoop.ipc.RemoteException

import knit.common.{AppFiles, RoleFiles}
import knit.common.Messages.RoleSpec

/** Stages another role of a running application under `roles/<name>/` of its staging dir:
  * its command script, its files and `role.xml` (default size, and the YARN priority its
  * requests carry, the next one free). The ApplicationMaster loads it on its first request
  * for that role (knit.am.Role.staged, through RoleFiles), and a later AM attempt from the same files. */
object RoleStaging {
  def stage(fs: FileSystem, staging: Path, role: RoleSpec): Unit = {
    val name = role.name
    require(name.matches(AppFiles.RoleName) && name != AppFiles.MainRole,
      s"a role name is a letter then letters, digits, '_' or '-' (not ${AppFiles.MainRole}); got $name")
    val roles = new Path(staging, AppFiles.RolesDir)
    val dir = new Path(roles, name)
    require(!fs.exists(dir), s"the application already has a role called $name")
    SharedFiles.privateDirs(fs, roles, dir)
    val taken = claimPriority(fs, roles)
    PrivateFiles.write(fs, new Path(dir, AppFiles.Command), CommandScript(role.command, role.envvars,
      withEnv = role.withEnv, withTokenUpdater = role.renewsTokens).getBytes(UTF_8))
    PrivateFiles.uploadAll(fs, role.files, new Path(dir, AppFiles.FilesDir))
    PrivateFiles.write(fs, new Path(dir, AppFiles.RoleSpec),
      RoleFiles.describe(role.memory, role.vcores, role.resources, role.maxRestarts, taken))
  }

  /** How many roles took a priority before this one: the first k for which this call
    * creates `roles/.priority-<k>` (a create that fails if the file exists is atomic in
    * HDFS). Roles staged at once, as dask-gateway starts workers, each get their own. */
  private def claimPriority(fs: FileSystem, roles: Path): Int = {
    var k = fs.listStatus(roles).count(_.isDirectory) - 1 // those staged before, at least
    while (true) {
      try { fs.create(new Path(roles, s".priority-$k"), false).close(); return k }
      catch {
        case _: FileAlreadyExistsException => k += 1
        // Another thread of this client is creating it: HDFS says so by lease.
        case e: RemoteException if e.getClassName.endsWith("AlreadyBeingCreatedException") => k += 1
      }
    }
    k
  }
}
