package knit.am

import java.nio.ByteBuffer

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.io.{DataOutputBuffer, Text}
import org.apache.hadoop.security.{Credentials, UserGroupInformation}
import org.apache.hadoop.yarn.api.ApplicationConstants
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.security.AMRMTokenIdentifier
import org.apache.hadoop.yarn.util.Records

import knit.common.{ActingUser, AppFiles, Localized}

/** Builds the launch context the containers of a role get: the role's command script
  * (which also sets the user's variables, see `CommandScript`) run by bash, the role's
  * staged files, the environment, and credentials without the AM's own secrets. Built once
  * per role: its containers share it. */
object WorkerLaunch {

  /** What containers need to run `knit.container.TokenUpdater`: knit's jar in HDFS and
    * how often to look for new tokens. */
  case class TokenUpdates(jar: Path, pollMs: Long)

  /** `roleDir` holds the role's command script and `files/` (the staging dir itself for
    * the main role). */
  def context(conf: Configuration, stagingDir: Path, roleDir: Path, env: Option[Path],
      tokenUpdates: Option[TokenUpdates] = None, tokensExpireAt: Option[Long] = None): ContainerLaunchContext = {
    val fs = stagingDir.getFileSystem(conf)
    // The environment is content-addressed and PRIVATE: NodeManagers unpack it once per
    // user and reuse it across applications.
    val envResource = env.map(e => AppFiles.EnvLink -> Localized.resource(fs, e, LocalResourceType.ARCHIVE,
      LocalResourceVisibility.PRIVATE))
    val resources = Map(AppFiles.Command -> Localized.resource(fs, new Path(roleDir, AppFiles.Command),
      LocalResourceType.FILE)) ++ stagedFiles(fs, new Path(roleDir, AppFiles.FilesDir)) ++
      envResource ++ clientConf(fs, stagingDir) ++ tokenUpdates.map(t => AppFiles.Jar -> Localized.resource(fs, t.jar,
        LocalResourceType.FILE, LocalResourceVisibility.PRIVATE))
    val logDir = ApplicationConstants.LOG_DIR_EXPANSION_VAR
    // A script file, not `bash -c "<cmd>"`: the NodeManager pastes commands into its launch
    // script inside double quotes without escaping, which breaks quotes in the command.
    val command = s"/bin/bash ${AppFiles.Command} 1>$logDir/stdout 2>$logDir/stderr"

    val ctx = Records.newRecord(classOf[ContainerLaunchContext])
    ctx.setLocalResources(resources.asJava)
    ctx.setCommands(java.util.Collections.singletonList(command))
    val tokenUpdaterEnv = tokenUpdates.map(t => Map(
      AppFiles.ClasspathVar -> Localized.jvmClasspath(conf),
      AppFiles.TokensDirVar -> fs.makeQualified(new Path(stagingDir, AppFiles.TokensDir)).toString,
      AppFiles.TokenPollMsVar -> t.pollMs.toString)).getOrElse(Map.empty)
    // Not a secret: the command script names it when a command fails after it.
    val expiryEnv = tokensExpireAt.map(ms => AppFiles.TokensExpireAtVar -> (ms / 1000).toString)
    // How long the container's NodeManager watch lets its NodeManager refuse connections
    // (see CommandScript.NodeManagerWatch): as long as YARN waits for a node.
    val watchEnv = Map(AppFiles.NodeManagerGivenUpAfterVar -> (NodeManagerWatch.givenUpAfterMs(conf) / 1000).toString)
    ctx.setEnvironment((tokenUpdaterEnv ++ expiryEnv ++ watchEnv ++ ActingUser.environment()).asJava)
    ctx.setTokens(workerTokens())
    ctx
  }

  /** A copy of `template` for one launch. Containers start concurrently and reading a
    * context's token buffer moves its position: a shared one fails some launches with
    * BufferUnderflowException. */
  def forLaunch(template: ContainerLaunchContext): ContainerLaunchContext =
    ContainerLaunchContext.newInstance(template.getLocalResources, template.getEnvironment,
      template.getCommands, null, template.getTokens.duplicate(), null)

  /** `ctx` with `variables` added to its environment (a container's own, on top of its
    * role's), as a new context: the role's is shared by its launches. */
  def withVariables(ctx: ContainerLaunchContext, variables: Map[String, String]): ContainerLaunchContext =
    if (variables.isEmpty) ctx
    else {
      val env = new java.util.HashMap[String, String]()
      Option(ctx.getEnvironment).foreach(env.putAll)
      variables.foreach { case (k, v) => env.put(k, v) }
      ContainerLaunchContext.newInstance(ctx.getLocalResources, env, ctx.getCommands, null, ctx.getTokens, null)
    }

  /** `template` with the AM's current credentials (after a token renewal). */
  def withCurrentTokens(template: ContainerLaunchContext): ContainerLaunchContext =
    ContainerLaunchContext.newInstance(template.getLocalResources, template.getEnvironment,
      template.getCommands, null, workerTokens(), null)

  /** The client's Hadoop configuration, if the client staged it (knit.client.HadoopClientConf). */
  private def clientConf(fs: FileSystem, stagingDir: Path): Map[String, LocalResource] = {
    val archive = new Path(stagingDir, AppFiles.HadoopConfArchive)
    if (fs.exists(archive)) Map(AppFiles.HadoopConfLink -> Localized.resource(fs, archive, LocalResourceType.ARCHIVE))
    else Map.empty
  }

  private def stagedFiles(fs: FileSystem, dir: Path): Map[String, LocalResource] =
    if (!fs.exists(dir)) Map.empty
    else fs.listStatus(dir).toSeq.map { st =>
      val name = st.getPath.getName
      val kind = if (AppFiles.isArchive(name)) LocalResourceType.ARCHIVE else LocalResourceType.FILE
      name -> Localized.resource(fs, st.getPath, kind)
    }.toMap


  /** The AM's credentials minus what only the AM may hold: the AMRMToken (it would let a
    * worker act as the AM towards the ResourceManager) and the gateway secrets. Built anew
    * from what may go (`Credentials.removeToken` exists only from Hadoop 3.5). */
  private def workerTokens(): ByteBuffer = {
    val mine = UserGroupInformation.getCurrentUser.getCredentials
    val creds = new Credentials()
    mine.getTokenMap.asScala.foreach { case (alias, token) =>
      if (token.getKind != AMRMTokenIdentifier.KIND_NAME) creds.addToken(alias, token)
    }
    mine.getSecretKeyMap.asScala.foreach { case (key, value) =>
      if (!AppFiles.AmOnlySecretKeys.contains(key.toString)) creds.addSecretKey(key, value)
    }
    val buf = new DataOutputBuffer()
    creds.writeTokenStorageToStream(buf)
    ByteBuffer.wrap(buf.getData, 0, buf.getLength)
  }
}
