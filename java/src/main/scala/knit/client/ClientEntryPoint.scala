package knit.client

import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.yarn.api.records.{ApplicationId, ApplicationReport}
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{HadoopConf, Json, Localized}

/** What the Python `Knit` object calls on the client JVM, over Py4J. Arguments are
  * strings, ints and booleans; structured values are JSON text (see `Json`). Every call
  * names the Hadoop conf dir and overrides (a JSON object), so one JVM serves every
  * `Knit` object of a process, whatever cluster each talks to. */
class ClientEntryPoint {
  private val log = LoggerFactory.getLogger(getClass)
  private val clients = new ConcurrentHashMap[String, (YarnConfiguration, YarnClient)]()
  /** Applications to kill when the Python process goes away (not detached ones). */
  private val killOnExit = new ConcurrentHashMap[ApplicationId, YarnClient]()

  /** Logs in (see `ClientLogin`); `principal` and `keytab` are empty for the ticket cache.
    * Returns {"user": short name}. */
  def login(confDir: String, overrides: String, principal: String, keytab: String): String = {
    val conf = HadoopConf.load(confDir, Json.stringMap(overrides))
    val user = ClientLogin.login(conf, Option(principal).filter(_.nonEmpty), Option(keytab).filter(_.nonEmpty))
    Json.write(Map("user" -> user))
  }

  private def client(confDir: String, overrides: String) = {
    ClientLogin.refresh()
    val overrideMap = Json.stringMap(overrides)
    val key = confDir + "\u0000" + overrideMap.toSeq.sorted.mkString(",")
    clients.computeIfAbsent(key, _ => {
      val conf = HadoopConf.load(confDir, overrideMap)
      val yarn = YarnClient.createYarnClient()
      yarn.init(conf)
      yarn.start()
      (conf, yarn)
    })
  }

  /** Reserves an application id; nothing shows in the ResourceManager until `submit`. */
  def newApplication(confDir: String, overrides: String): String = {
    val (_, yarn) = client(confDir, overrides)
    val response = yarn.createApplication().getNewApplicationResponse
    val max = response.getMaximumResourceCapability
    Json.write(Map(
      "app_id" -> response.getApplicationId.toString,
      "max_memory_mb" -> max.getMemorySize,
      "max_vcores" -> max.getVirtualCores))
  }

  /** Stages and submits; returns {"staging_dir": ...}. See `AppRequest` for the keys of `spec`. */
  def submit(confDir: String, overrides: String, appId: String,
      spec: String, detached: Boolean): String = {
    val (conf, yarn) = client(confDir, overrides)
    val s = Json.read(spec)
    def int(k: String) = s.get(k).asInt
    def str(k: String) = s.get(k).asText
    val req = AppRequest(
      name = str("name"),
      queue = str("queue"),
      nodeLabel = Option(s.get("node_label")).filterNot(_.isNull).map(_.asText),
      amMemoryMb = int("am_memory"),
      amVcores = int("am_vcores"),
      knitJar = str("knit_jar"),
      files = s.get("files").elements().asScala.map(_.asText).toSeq,
      command = str("command"),
      numContainers = int("num_containers"),
      memoryMb = int("memory"),
      vcores = int("vcores"),
      envvars = s.get("envvars").properties().asScala.map(e => e.getKey -> e.getValue.asText).toMap,
      gatewayToken = str("token"),
      gatewayCert = str("tls_cert"),
      gatewayKey = str("tls_key"),
      env = Option(s.get("env")).filterNot(_.isNull).map(_.asText),
      keepAlive = Option(s.get("keep_alive")).exists(_.asBoolean),
      leaseMs = if (detached) 0L else Option(s.get("lease_ms")).map(_.asLong).getOrElse(0L),
      maxRestarts = Option(s.get("max_restarts")).map(_.asInt).getOrElse(0),
      amAttempts = Option(s.get("am_attempts")).map(_.asInt).getOrElse(2),
      principal = Option(s.get("principal")).filterNot(_.isNull).map(_.asText),
      keytab = Option(s.get("keytab")).filterNot(_.isNull).map(_.asText))
    val id = ApplicationId.fromString(appId)
    if (!detached) killOnExit.put(id, yarn)
    try {
      val submitter = new Submitter(conf, yarn)
      val staging = submitter.submit(id, req)
      Json.write(Map("staging_dir" -> staging.toString, "uploaded_bytes" -> submitter.uploadedBytes))
    }
    catch { case e: Throwable => killOnExit.remove(id); throw e }
  }

  /** Stages another role of a running application (see `RoleStaging`); `role` is a JSON
    * object {"name", "command", "envvars", "files", "memory", "vcores", "with_env",
    * "renews_tokens"}. */
  def addRole(confDir: String, overrides: String, stagingDir: String, role: String): Unit = {
    val (conf, _) = client(confDir, overrides)
    val r = Json.read(role)
    val staging = new Path(stagingDir)
    RoleStaging.stage(staging.getFileSystem(conf), staging, r.get("name").asText, r.get("command").asText,
      Json.stringMap(r.get("envvars").toString), r.get("files").elements().asScala.map(_.asText).toSeq,
      r.get("memory").asInt, r.get("vcores").asInt, r.get("with_env").asBoolean,
      r.get("renews_tokens").asBoolean)
  }

  def report(confDir: String, overrides: String, appId: String): String = {
    val (_, yarn) = client(confDir, overrides)
    describe(yarn.getApplicationReport(ApplicationId.fromString(appId)))
  }

  /** Kills the application (if still running) and removes its staging dir. Idempotent. */
  def kill(confDir: String, overrides: String, appId: String): Unit = {
    val (conf, yarn) = client(confDir, overrides)
    val id = ApplicationId.fromString(appId)
    killOnExit.remove(id)
    yarn.killApplication(id) // a no-op for a finished application
    val fs = FileSystem.get(conf)
    fs.delete(new Path(Localized.root(fs), appId), true)
  }

  /** The application is over or left to run on its own: do not kill it at exit. */
  def forget(appId: String): Unit = killOnExit.remove(ApplicationId.fromString(appId))

  /** Logs of a finished application: {container id -> {file name -> contents}}. */
  def aggregatedLogs(confDir: String, overrides: String, appId: String): String = {
    val (conf, yarn) = client(confDir, overrides)
    val id = ApplicationId.fromString(appId)
    val owner = yarn.getApplicationReport(id).getUser
    Json.write(AggregatedLogs.read(conf, id, owner))
  }

  /** stdout and stderr of running containers, read from their NodeManagers. `containers`
    * is a JSON object {container id: NodeManager http address}; the answer is {"logs": like
    * `aggregatedLogs`, "unreadable": {container id: why}}. */
  def liveLogs(confDir: String, overrides: String, containers: String): String = {
    val (conf, _) = client(confDir, overrides)
    val read = LiveLogs.read(conf, Json.stringMap(containers).toSeq)
    Json.write(Map("logs" -> read.logs, "unreadable" -> read.unreadable))
  }

  /** Packed environments stored in HDFS: a JSON list of {sha256, name, size, modified}. */
  def listEnvs(confDir: String, overrides: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Json.write(SharedFiles.list(fs, Localized.root(fs), "envs")
      .map { case (sha, name, size, modified) =>
        Map("sha256" -> sha, "name" -> name, "size" -> size, "modified" -> modified) })
  }

  /** Deletes stored environments by name or sha256 (prefix); returns how many (as JSON). */
  def removeEnv(confDir: String, overrides: String, nameOrHash: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Json.write(SharedFiles.remove(fs, Localized.root(fs), "envs",
      nameOrHash))
  }

  /** Called when Python goes away: kill what it did not detach, then close clients. An
    * unreachable ResourceManager must not keep this JVM alive: the kills get
    * `timeoutMs` in all, in parallel. */
  def shutdown(timeoutMs: Long = 15000L): Unit = {
    val kills = killOnExit.asScala.toSeq.map { case (id, yarn) =>
      val t = new Thread(() => {
        try { yarn.killApplication(id); log.info(s"Killed $id: its Python process exited") }
        catch { case e: Exception => log.warn(s"Could not kill $id", e) }
      }, s"kill-$id")
      t.setDaemon(true)
      t.start()
      t
    }
    val deadline = System.currentTimeMillis() + timeoutMs
    kills.foreach(t => t.join(math.max(1L, deadline - System.currentTimeMillis())))
    killOnExit.clear()
    clients.values.asScala.foreach { case (_, yarn) =>
      try yarn.stop() catch { case e: Exception => log.warn("Could not stop a YARN client", e) }
    }
  }

  private def describe(r: ApplicationReport): String = Json.write(Map[String, Any](
    "app_id" -> r.getApplicationId.toString,
    "name" -> r.getName,
    "user" -> r.getUser,
    "queue" -> r.getQueue,
    "state" -> r.getYarnApplicationState.name,
    "final_status" -> r.getFinalApplicationStatus.name,
    "diagnostics" -> Option(r.getDiagnostics).getOrElse(""),
    "am_host" -> Option(r.getHost).getOrElse(""),
    "am_port" -> r.getRpcPort,
    "tracking_url" -> Option(r.getTrackingUrl).getOrElse(""),
    "start_time" -> r.getStartTime,
    "finish_time" -> r.getFinishTime,
    "log_aggregation_status" -> Option(r.getLogAggregationStatus).map(_.name).getOrElse(""),
    // Which attempt of the ApplicationMaster is YARN's current one (0: none yet).
    "attempt" -> Option(r.getCurrentApplicationAttemptId).map(_.getAttemptId).getOrElse(0)
  ))
}
