package knit.client

import java.io.File
import java.nio.ByteBuffer
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{Callable, ExecutionException, ExecutorService, Executors, Future}

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.io.{DataOutputBuffer, Text}
import org.apache.hadoop.security.{Credentials, UserGroupInformation}
import org.apache.hadoop.yarn.api.ApplicationConstants
import org.apache.hadoop.yarn.api.ApplicationConstants.Environment
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.apache.hadoop.yarn.util.Records
import org.slf4j.LoggerFactory

import knit.common.{ActingUser, AppFiles, DelegationTokens, Localized, Messages}
import knit.common.Messages.{AppSpec, GatewaySecrets, StagedApp}

/** A request YARN can never run: containers bigger than its maximum allocation. */
class CapacityException(message: String) extends RuntimeException(message)

/** Stages an application in HDFS and submits its ApplicationMaster. */
object Submitter {
  /** The AM coordinates rather than computes, so its JVM is set to start fast and stay
    * small: C1 only and the serial collector (registration 0.4-0.5 s sooner), and a heap
    * that starts at 32 MB and grows only as needed. Without -Xms the JVM starts with 1/64 of
    * the node's memory and fills its young generation before the first collection (peak
    * RSS with 20 containers: 236 MiB, against 147 MiB with -Xms32m). Its live data is some
    * 20 MB: a 4 MB young generation (-Xmn4m; 12.8 MB by default at -Xms32m) is touched less
    * and collected in a few ms (peak RSS 134 -> 125 MiB, first worker no slower). The
    * heap-free ratios, MALLOC_ARENA_MAX=2, -Xss256k and -XX:CICompilerCount=1 each saved
    * 1-2 MiB at most. */
  val AmJvmOptions = Seq("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms32m", "-Xmn4m")

  /** Threads for the staging writes of submissions (idle ones end after a minute). */
  private[client] val writers: ExecutorService = Executors.newCachedThreadPool { r =>
    val t = new Thread(r, "knit-staging"); t.setDaemon(true); t
  }
}

/** Tasks run side by side on the submitter's threads, awaited together. */
private class SideBySide {
  private val started = mutable.ArrayBuffer[Future[_]]()

  def run[T](task: => T): Future[T] = {
    val f = Submitter.writers.submit(new Callable[T] { def call(): T = task })
    started += f
    f
  }

  /** Waits for every task; then throws the first failure, if any. */
  def await(): Unit = {
    val failures = started.toSeq.flatMap { f =>
      try { f.get(); None } catch { case e: ExecutionException => Some(e.getCause) }
    }
    failures.headOption.foreach(e => throw e)
  }

  /** Waits for every task, whatever became of them. */
  def awaitQuietly(): Unit = started.foreach(f => try f.get() catch { case _: Exception => })
}

class Submitter(conf: YarnConfiguration, yarn: YarnClient) {
  import Submitter.AmJvmOptions
  private val log = LoggerFactory.getLogger(getClass)
  /** Bytes the last `submit` sent to HDFS for shared files (0 when all were there). */
  var uploadedBytes = 0L

  /** Creates the application (one id), checks the request against YARN's maximum, uploads
    * jar, command, spec and files under `~/.knit/<appId>/` (mode 700) and submits. On any
    * failure the staging dir is removed before the exception propagates. */
  def submit(req: AppSpec, secrets: GatewaySecrets,
      clientConfDir: Option[String] = None): (ApplicationId, Path) = {
    val app = yarn.createApplication()
    val response = app.getNewApplicationResponse
    val max = response.getMaximumResourceCapability
    if (req.memory > max.getMemorySize || req.vcores > max.getVirtualCores)
      throw new CapacityException(s"Containers of ${req.memory} MB and ${req.vcores} vcores exceed " +
        s"the cluster's maximum of ${max.getMemorySize} MB and ${max.getVirtualCores} vcores; ask " +
        "for smaller containers.")
    val appId = response.getApplicationId
    val fs = FileSystem.get(conf)
    val root = Localized.root(fs)
    val staging = new Path(root, appId.toString)
    val writes = new SideBySide()
    try {
      SharedFiles.privateDirs(fs, root, staging)
      val jar = SharedFiles.ensure(fs, root, "jars", new File(req.knitJar))
      val env = req.env.map(e => SharedFiles.ensure(fs, root, "envs", new File(e)))
      uploadedBytes = jar.uploadedBytes + env.map(_.uploadedBytes).getOrElse(0L)
      val renewsTokens = req.keytab.isDefined && UserGroupInformation.isSecurityEnabled
      // Hosts to spread node-local asks over (see ApplicationMaster.addRequests).
      val running = yarn.getNodeReports(NodeState.RUNNING).asScala.map(_.getNodeId).toSeq
      val staged = StagedApp(req, staging.toString, jar.path.toString, env.map(_.path.toString),
        running.map(_.getHost).distinct, running.map(_.toString), renewsTokens)
      val command = CommandScript(req.command, req.envvars, withEnv = env.isDefined,
        withTokenUpdater = renewsTokens).getBytes(UTF_8)
      // The staging dir's files go side by side: each is an HDFS round trip or two (some
      // 40 ms here) and none needs another (one after the other they took 0.2 s of a start).
      val filesDir = new Path(staging, AppFiles.FilesDir)
      SharedFiles.privateDirs(fs, filesDir)
      writes.run(write(fs, new Path(staging, AppFiles.Command), command))
      req.files.foreach(f => writes.run(PrivateFiles.uploadInto(fs, f, filesDir)))
      writes.run(clientConfDir.foreach(d => HadoopClientConf.stage(fs, staging, new File(d))))
      // With a keytab the AM obtains new delegation tokens before the first ones reach
      // their maximum lifetime (knit.am.TokenRenewal); the keytab is readable by the user alone.
      val keytab = for (k <- req.keytab if renewsTokens)
        yield writes.run(upload(fs, new Path(new File(k).getAbsoluteFile.toURI), new Path(staging, AppFiles.Keytab)))
      // A client pointed at its own krb5.conf (KRB5_CONFIG) hands it on: the AM logs in
      // from the keytab against the same KDC, whatever the node's /etc/krb5.conf says.
      val krb5Conf = for (_ <- keytab; c <- Option(System.getProperty("java.security.krb5.conf")))
        yield writes.run(upload(fs, new Path(new File(c).getAbsoluteFile.toURI), new Path(staging, AppFiles.Krb5Conf)))
      val spec = writes.run(write(fs, new Path(staging, AppFiles.Spec), Messages.toJson(staged).getBytes(UTF_8)))
      val amLaunch = writes.run(write(fs, new Path(staging, AppFiles.AmLaunch), AppFiles.AmLaunchScript.getBytes(UTF_8)))
      // What `knit.connect` needs to attach from another process of this user; the dir is
      // the user's alone (mode 700), the file too (600). Never the AM's TLS key.
      writes.run(write(fs, new Path(staging, AppFiles.ClientSecrets), Messages.toJson(
        secrets.copy(tlsKey = "")).getBytes(UTF_8)))
      writes.await()

      val ctx = app.getApplicationSubmissionContext
      ctx.setApplicationName(req.name)
      ctx.setApplicationType("KNIT")
      ctx.setApplicationTags(req.tags.toSet.asJava)
      ctx.setQueue(req.queue)
      req.nodeLabel.foreach(ctx.setNodeLabelExpression)
      // A new AM attempt takes over the containers YARN keeps running across attempts.
      ctx.setMaxAppAttempts(req.amAttempts)
      ctx.setKeepContainersAcrossApplicationAttempts(true)
      ctx.setResource(Resource.newInstance(req.amMemory, req.amVcores))
      // knit's jar is PRIVATE: NodeManagers keep it in the user's cache across applications.
      ctx.setAMContainerSpec(amLaunchContext(fs, Localized.resource(fs, jar.path, LocalResourceType.FILE,
        LocalResourceVisibility.PRIVATE), spec.get(), amLaunch.get(), keytab.map(AppFiles.Keytab -> _.get()) ++
        krb5Conf.map(AppFiles.Krb5Conf -> _.get()), req, secrets))
      yarn.submitApplication(ctx)
      log.info(s"Submitted $appId, staged in $staging")
      (appId, staging)
    } catch {
      case e: Throwable =>
        writes.awaitQuietly() // nothing lands after the staging dir is gone
        try fs.delete(staging, true) catch { case _: Exception => }
        throw e
    }
  }

  private def upload(fs: FileSystem, src: Path, dst: Path): LocalResource =
    PrivateFiles.upload(fs, src, dst)

  private def write(fs: FileSystem, dst: Path, bytes: Array[Byte]): LocalResource =
    PrivateFiles.write(fs, dst, bytes)

  private def amLaunchContext(fs: FileSystem, jar: LocalResource, spec: LocalResource,
      amLaunch: LocalResource, kerberosFiles: Iterable[(String, LocalResource)], req: AppSpec,
      secrets: GatewaySecrets): ContainerLaunchContext = {
    val classpath = Localized.jvmClasspath(conf)
    val heapMb = math.max(128, (req.amMemory * 0.7).toInt)
    val logDir = ApplicationConstants.LOG_DIR_EXPANSION_VAR
    val krb5 = kerberosFiles.collect { case (AppFiles.Krb5Conf, _) => s"-Djava.security.krb5.conf=${AppFiles.Krb5Conf}" }
    // Temporary files (Jetty's, where HttpServer2 serves the tracking page) in the
    // container's own tmp dir, which the NodeManager creates and removes, not the node's
    // /tmp, where a killed AM left them.
    val tmpDir = s"-Djava.io.tmpdir=${new Path(Environment.PWD.$$(), YarnConfiguration.DEFAULT_CONTAINER_TEMP_DIR)}"
    // knit-am.sh adds the class-data archive's options and then the main class.
    val command = (Seq("/bin/bash", AppFiles.AmLaunch, "knit.am.ApplicationMasterMain",
      Environment.JAVA_HOME.$$() + "/bin/java", s"-Xmx${heapMb}m", tmpDir) ++ AmJvmOptions ++ krb5 ++
      AppFiles.JvmCompatOptions ++
      Seq("-Dlog4j.configuration=knit-am-log4j.properties", s"1>$logDir/stdout", s"2>$logDir/stderr")).mkString(" ")

    val ctx = Records.newRecord(classOf[ContainerLaunchContext])
    ctx.setLocalResources((Map(AppFiles.Jar -> jar, AppFiles.Spec -> spec, AppFiles.AmLaunch -> amLaunch) ++
      kerberosFiles).asJava)
    ctx.setEnvironment((Map("CLASSPATH" -> classpath) ++ ActingUser.environment()).asJava)
    ctx.setCommands(java.util.Collections.singletonList(command))
    // The gateway token travels in the AM's credentials: never on a command line or in
    // an environment variable that other users could read.
    // On a Kerberized cluster: HDFS and ResourceManager delegation tokens, renewed by the
    // ResourceManager while the application runs; the AM hands them on to the containers.
    val creds = if (UserGroupInformation.isSecurityEnabled)
      DelegationTokens.obtain(conf, DelegationTokens.resourceManagerPrincipal(conf), Some(yarn))
    else new Credentials()
    creds.addSecretKey(new Text(AppFiles.GatewayTokenKey), secrets.token.getBytes(UTF_8))
    creds.addSecretKey(new Text(AppFiles.GatewayCertKey), secrets.tlsCert.getBytes(UTF_8))
    creds.addSecretKey(new Text(AppFiles.GatewayKeyKey), secrets.tlsKey.getBytes(UTF_8))
    val buf = new DataOutputBuffer()
    creds.writeTokenStorageToStream(buf)
    ctx.setTokens(ByteBuffer.wrap(buf.getData, 0, buf.getLength))
    ctx
  }
}
