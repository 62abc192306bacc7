package knit.client

import java.util.concurrent.{ConcurrentHashMap, Executors}

import scala.jdk.CollectionConverters._

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.util.Time
import org.apache.hadoop.yarn.api.records.{ApplicationId, ApplicationReport => YarnReport}
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, HadoopConf, Json, LiveLogs, Localized, Messages}
import knit.common.Messages.{AppSpec, GatewaySecrets, RoleSpec, Submitted}

/** What the Python `Knit` object calls on the client JVM, over Py4J. Arguments are
  * strings, ints and booleans; structured values are JSON text (see `Json`). Every call
  * names the Hadoop conf dir and overrides (a JSON object), so one JVM serves every
  * `Knit` object of a process, whatever cluster each talks to. */
class ClientEntryPoint {
  private val log = LoggerFactory.getLogger(getClass)
  private val clients = new ConcurrentHashMap[String, (YarnConfiguration, YarnClient)]()
  /** Applications to kill when the Python process goes away (not detached ones). */
  private val killOnExit = new ConcurrentHashMap[ApplicationId, (YarnConfiguration, YarnClient)]()
  /** When each cluster (by client key) was last swept in the background, monotonic ms. */
  private val lastSweep = new ConcurrentHashMap[String, java.lang.Long]()
  private val removal = new StagingRemoval
  private val sweeper = Executors.newSingleThreadExecutor { r =>
    val t = new Thread(r, "staging-sweep"); t.setDaemon(true); t
  }

  /** Logs in (see `ClientLogin`); `principal` and `keytab` are empty for the ticket cache.
    * Returns {"user": short name}. */
  def login(confDir: String, overrides: String, principal: String, keytab: String): String = {
    val conf = HadoopConf.load(confDir, Json.stringMap(overrides))
    val user = ClientLogin.login(conf, Option(principal).filter(_.nonEmpty), Option(keytab).filter(_.nonEmpty))
    Messages.toJson(Map("user" -> user))
  }

  private def key(confDir: String, overrides: String) =
    confDir + "\u0000" + Json.stringMap(overrides).toSeq.sorted.mkString(",")

  private def client(confDir: String, overrides: String) = {
    ClientLogin.refresh()
    val overrideMap = Json.stringMap(overrides)
    val key = this.key(confDir, overrides)
    clients.computeIfAbsent(key, _ => {
      val conf = HadoopConf.load(confDir, overrideMap)
      val yarn = YarnClient.createYarnClient()
      yarn.init(HadoopConf.forResourceManager(conf))
      yarn.start()
      (conf, yarn)
    })
  }

  /** Creates, stages and submits an application: `spec` is an AppSpec and `secrets` the
    * GatewaySecrets (JSON, see `Messages`); answers a Submitted. */
  def submit(confDir: String, overrides: String, spec: String, secrets: String,
      detached: Boolean): String = {
    val (conf, yarn) = client(confDir, overrides)
    val req = Messages.fromJson[AppSpec](spec)
    val submitter = new Submitter(conf, yarn)
    val (id, staging) = submitter.submit(req, Messages.fromJson[GatewaySecrets](secrets),
      Option(confDir).filter(_.nonEmpty))
    if (!detached) killOnExit.put(id, (conf, yarn))
    sweepInBackground(key(confDir, overrides), conf, yarn, id.getClusterTimestamp)
    Messages.toJson(Submitted(id.toString, staging.toString, submitter.uploadedBytes))
  }

  /** After a start, while Python waits for the AM to register: removes what ended
    * applications left in `~/.knit` (see `StagingSweep`), at most once a `SweepEveryMs`
    * per cluster. Off the caller's thread: a start never waits for it. */
  private def sweepInBackground(key: String, conf: YarnConfiguration, yarn: YarnClient,
      rmClusterTimestamp: Long): Unit = {
    val now = Time.monotonicNow()
    var due = false
    lastSweep.compute(key, (_, last) =>
      if (last == null || now - last >= ClientEntryPoint.SweepEveryMs) { due = true; java.lang.Long.valueOf(now) } else last)
    if (due) sweeper.execute(() =>
        try StagingSweep.run(FileSystem.get(conf), yarn, rmClusterTimestamp)
        catch { case e: Exception => log.warn("Could not sweep the staging dirs of ended applications", e) })
  }

  /** Removes the staging dirs ended applications left (see `StagingSweep`), now; answers the
    * JSON list of RemovedStaging. `rmClusterTimestamp` is the ResourceManager's (its
    * `startedOn`): only its own ids may be unknown to it and still be removed. */
  def clean(confDir: String, overrides: String, rmClusterTimestamp: Long): String = {
    val (conf, yarn) = client(confDir, overrides)
    Messages.toJson(StagingSweep.run(FileSystem.get(conf), yarn, rmClusterTimestamp))
  }

  /** Stages another role of a running application (see `RoleStaging`); `role` is a RoleSpec. */
  def addRole(confDir: String, overrides: String, stagingDir: String, role: String): Unit = {
    val (conf, _) = client(confDir, overrides)
    val r = Messages.fromJson[RoleSpec](role)
    val staging = new Path(stagingDir)
    RoleStaging.stage(staging.getFileSystem(conf), staging, r)
  }

  /** What attaching to a running application of this user needs (an Attachment), read from
    * its private staging dir: HDFS refuses another user. */
  def attach(confDir: String, overrides: String, appId: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Messages.toJson(Attaching.read(fs, new Path(Localized.root(fs), appId)))
  }

  /** A file of a running application's private staging dir, by its path there (its text,
    * as a JSON string). */
  def readStagedFile(confDir: String, overrides: String, appId: String, name: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Messages.toJson(Attaching.text(fs, new Path(Localized.root(fs), appId), name))
  }

  /** The messages this side defines, for the contract test: {message: {field: type}}. */
  def contract(): String = Messages.toJson(Messages.describe())

  /** The names and rules both sides use, for the contract test (knit/names.py holds
    * Python's): {name: its values}. */
  def sharedNames(): String = ujson.write(ujson.Obj(
    "main_role" -> AppFiles.MainRole,
    "role_name" -> AppFiles.RoleName,
    "container_reserved_names" -> ujson.Arr.from(AppFiles.ContainerReservedNames.sorted),
    "std_logs" -> ujson.Arr.from(LiveLogs.StdFiles),
    "staging_root" -> AppFiles.StagingRoot))

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
    removal.remove(fs, new Path(Localized.root(fs), appId))
  }

  /** Removes the staging dir of an application that ended (its AM removes it when it
    * finishes; not when YARN killed it). */
  def removeStaging(confDir: String, overrides: String, appId: String): Unit = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    removal.remove(fs, new Path(Localized.root(fs), appId))
  }

  /** The application is over or left to run on its own: do not kill it at exit. */
  def forget(appId: String): Unit = killOnExit.remove(ApplicationId.fromString(appId))

  /** Logs of a finished application: {container id -> {file name -> contents}}; stdout and
    * stderr, or every file with `allFiles`. */
  def aggregatedLogs(confDir: String, overrides: String, appId: String, allFiles: Boolean): String = {
    val (conf, yarn) = client(confDir, overrides)
    val id = ApplicationId.fromString(appId)
    val owner = yarn.getApplicationReport(id).getUser
    Messages.toJson(AggregatedLogs.read(conf, id, owner, allFiles))
  }

  /** stdout and stderr of running containers (every file their NodeManagers list, with
    * `allFiles`), read from their NodeManagers. `containers` is a JSON object {container
    * id: NodeManager http address}; the answer is a LiveLogsRead. */
  def liveLogs(confDir: String, overrides: String, containers: String, allFiles: Boolean): String = {
    val (conf, _) = client(confDir, overrides)
    Messages.toJson(LiveLogs.read(conf, Json.stringMap(containers).toSeq, allFiles = allFiles))
  }

  /** Packed environments stored in HDFS: a JSON list of StoredEnv. */
  def listEnvs(confDir: String, overrides: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Messages.toJson(SharedFiles.list(fs, Localized.root(fs), "envs")
      .map { case (sha, name, size, modified) => Messages.StoredEnv(sha, name, size, modified) })
  }

  /** Deletes stored environments by name or sha256 (prefix); returns how many (as JSON). */
  def removeEnv(confDir: String, overrides: String, nameOrHash: String): String = {
    val (conf, _) = client(confDir, overrides)
    val fs = FileSystem.get(conf)
    Messages.toJson(SharedFiles.remove(fs, Localized.root(fs), "envs", nameOrHash))
  }

  /** Called when Python goes away: kill what it did not detach and remove their staging
    * dirs (the AM's own removal, in the 250 ms YARN leaves between SIGTERM and SIGKILL,
    * may not finish), then close clients. An unreachable ResourceManager must not keep
    * this JVM alive: the kills get `timeoutMs` in all, in parallel. */
  def shutdown(timeoutMs: Long = 15000L): Unit = {
    val kills = killOnExit.asScala.toSeq.map { case (id, (conf, yarn)) =>
      val t = new Thread(() => {
        // killApplication returns once YARN reports the application ended: only then may
        // its dir go (a kill that failed leaves it to the AM, whose lease runs out).
        try {
          yarn.killApplication(id)
          log.info(s"Killed $id: its Python process exited")
          val fs = FileSystem.get(conf)
          removal.remove(fs, new Path(Localized.root(fs), id.toString))
        }
        catch { case e: Exception => log.warn(s"Could not kill $id or remove its staging dir", e) }
      }, s"kill-$id")
      t.setDaemon(true)
      t.start()
      t
    }
    val deadline = Time.monotonicNow() + timeoutMs
    kills.foreach(t => t.join(math.max(1L, deadline - Time.monotonicNow())))
    killOnExit.clear()
    clients.values.asScala.foreach { case (_, yarn) =>
      try yarn.stop() catch { case e: Exception => log.warn("Could not stop a YARN client", e) }
    }
  }

  private def describe(r: YarnReport): String = Messages.toJson(Messages.ApplicationReport(
    appId = r.getApplicationId.toString,
    name = r.getName,
    user = r.getUser,
    queue = r.getQueue,
    state = r.getYarnApplicationState.name,
    finalStatus = r.getFinalApplicationStatus.name,
    diagnostics = Option(r.getDiagnostics).getOrElse(""),
    amHost = Option(r.getHost).getOrElse(""),
    amPort = r.getRpcPort,
    trackingUrl = Option(r.getTrackingUrl).getOrElse(""),
    startTime = r.getStartTime,
    finishTime = r.getFinishTime,
    logAggregationStatus = Option(r.getLogAggregationStatus).map(_.name).getOrElse(""),
    // Which attempt of the ApplicationMaster is YARN's current one (0: none yet).
    attempt = Option(r.getCurrentApplicationAttemptId).map(_.getAttemptId).getOrElse(0)))
}

object ClientEntryPoint {
  /** A client JVM sweeps a cluster's ended staging dirs after a start at most this often:
    * a process starting many applications does not list `~/.knit` for each. */
  val SweepEveryMs: Long = 60000L
}
