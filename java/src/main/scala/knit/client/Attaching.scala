package knit.client

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.hadoop.fs.{FileSystem, Path}

import knit.common.{AppFiles, Messages, RoleFiles}
import knit.common.Messages.{Attachment, GatewaySecrets, StagedApp}

/** What another process of an application's user needs to attach to it (`knit.connect`):
  * the gateway's token and certificate, and how the application was staged. All of it is
  * in the application's staging dir, mode 700 and the user's own, so HDFS refuses anyone
  * else (AccessControlException). */
object Attaching {
  /** A file of the staging dir, by its path relative to it (no `..`). */
  def text(fs: FileSystem, staging: Path, name: String): String = {
    require(!name.startsWith("/") && !name.split('/').contains(".."),
      s"a path inside the staging dir is relative and has no '..': got $name")
    val file = new Path(staging, name)
    if (!fs.exists(file)) throw new IllegalStateException(
      s"${staging.getName} is not a running knit application of this user (no $file): it " +
        "ended, or was started by someone else.")
    val in = fs.open(file)
    try scala.io.Source.fromInputStream(in, UTF_8.name).mkString finally in.close()
  }

  def read(fs: FileSystem, staging: Path): Attachment = {
    def text(name: String): String = Attaching.text(fs, staging, name)
    val secrets = Messages.fromJson[GatewaySecrets](text(AppFiles.ClientSecrets))
    val staged = Messages.fromJson[StagedApp](text(AppFiles.Spec))
    val roles = AppFiles.MainRole +: RoleFiles.stagedNames(fs.getConf, staging)
    Attachment(staging.getName, staging.toString, secrets.token, secrets.tlsCert,
      staged.envArchive.isDefined, staged.renewsTokens, roles)
  }
}
