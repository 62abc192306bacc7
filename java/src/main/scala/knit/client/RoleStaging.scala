package knit.client

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.hadoop.fs.{FileSystem, Path}

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
    val taken = if (fs.exists(roles)) fs.listStatus(roles).count(_.isDirectory) else 0
    SharedFiles.privateDirs(fs, roles, dir)
    PrivateFiles.write(fs, new Path(dir, AppFiles.Command), CommandScript(role.command, role.envvars,
      withEnv = role.withEnv, withTokenUpdater = role.renewsTokens).getBytes(UTF_8))
    PrivateFiles.uploadAll(fs, role.files, new Path(dir, AppFiles.FilesDir))
    PrivateFiles.write(fs, new Path(dir, AppFiles.RoleSpec),
      RoleFiles.describe(role.memory, role.vcores, role.resources, role.maxRestarts, taken))
  }
}
