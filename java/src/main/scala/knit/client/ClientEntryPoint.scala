package knit.client

import java.util.concurrent.{ConcurrentHashMap, Executors}

import scala.jdk.CollectionConverters._

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.util.Time
import org.apache.hadoop.yarn.api.records.{ApplicationId, ApplicationReport => YarnReport}
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, ContainerStates, HadoopConf, Json, LiveLogs, Localized, Messages}
import knit.common.Messages.{AppSpec, ClusterRef, GatewaySecrets, RoleSpec, Submitted}

/** What the Python `Knit` object calls on the client JVM, over Py4J. Arguments are
  * strings, ints and booleans; structured values are JSON text (see `Json`). Every call
  * first names its cluster and user (a `ClusterRef`), so one JVM serves every `Knit`
  * object of a process, whatever cluster each talks to and whoever it acts as. */
class ClientEntryPoint {
  private val log = LoggerFactory.getLogger(getClass)
  private val clients = new ConcurrentHashMap[ClusterRef, ClusterSession]()
  /** Applications to kill when the Python process goes away (not detached ones). */
  private val killOnExit = new ConcurrentHashMap[ApplicationId, ClusterSession]()
  /** When each cluster and user was last swept in the background, monotonic ms. */
  private val lastSweep = new ConcurrentHashMap[ClusterRef, java.lang.Long]()
  private val removal = new StagingRemoval
  private val sweeper = Executors.newSingleThreadExecutor { r =>
    val t = new Thread(r, "staging-sweep"); t.setDaemon(true); t
  }

  /** Logs in (see `ClientLogin`); `principal` and `keytab` are empty for the ticket cache.
    * With a proxy user, checks that this login may act as that user. Returns {"user":
    * the short name calls act as}. */
  def login(cluster: String, principal: String, keytab: String): String = {
    val ref = Messages.fromJson[ClusterRef](cluster)
    val conf = HadoopConf.load(Option(ref.confDir).filter(_.nonEmpty).orNull, ref.overrides)
    val user = ClientLogin.login(conf, Option(principal).filter(_.nonEmpty), Option(keytab).filter(_.nonEmpty))
    if (ref.proxyUser.isEmpty) Messages.toJson(Map("user" -> user))
    else on(cluster) { s => s.checkImpersonation(); Messages.toJson(Map("user" -> ref.proxyUser)) }
  }

  /** Runs `f` with the cluster's session, as the call's user (see `ClusterSession`). */
  private def on[T](cluster: String)(f: ClusterSession => T): T = {
    ClientLogin.refresh()
    val ref = Messages.fromJson[ClusterRef](cluster)
    val session = clients.computeIfAbsent(ref, r => ClusterSession.open(r))
    session.as(f(session))
  }

  /** Creates, stages and submits an application: `spec` is an AppSpec and `secrets` the
    * GatewaySecrets (JSON, see `Messages`); answers a Submitted. */
  def submit(cluster: String, spec: String, secrets: String, detached: Boolean): String = on(cluster) { s =>
    val (conf, yarn) = (s.conf, s.yarn)
    val req = Messages.fromJson[AppSpec](spec)
    val submitter = new Submitter(conf, yarn)
    val (id, staging) = submitter.submit(req, Messages.fromJson[GatewaySecrets](secrets),
      Option(s.ref.confDir).filter(_.nonEmpty))
    if (!detached) killOnExit.put(id, s)
    sweepInBackground(s, id.getClusterTimestamp)
    Messages.toJson(Submitted(id.toString, staging.toString, submitter.uploadedBytes))
  }

  /** After a start, while Python waits for the AM to register: removes what ended
    * applications left in `~/.knit` (see `StagingSweep`), at most once a `SweepEveryMs`
    * per cluster. Off the caller's thread: a start never waits for it. */
  private def sweepInBackground(s: ClusterSession, rmClusterTimestamp: Long): Unit = {
    val now = Time.monotonicNow()
    var due = false
    lastSweep.compute(s.ref, (_, last) =>
      if (last == null || now - last >= ClientEntryPoint.SweepEveryMs) { due = true; java.lang.Long.valueOf(now) } else last)
    if (due) sweeper.execute(() =>
        try s.as(StagingSweep.run(s.fs, s.yarn, rmClusterTimestamp))
        catch { case e: Exception => log.warn("Could not sweep the staging dirs of ended applications", e) })
  }

  /** Removes the staging dirs ended applications left (see `StagingSweep`), now; answers the
    * JSON list of RemovedStaging. `rmClusterTimestamp` is the ResourceManager's (its
    * `startedOn`): only its own ids may be unknown to it and still be removed. */
  def clean(cluster: String, rmClusterTimestamp: Long): String = on(cluster) { s =>
    Messages.toJson(StagingSweep.run(s.fs, s.yarn, rmClusterTimestamp))
  }

  /** Stages another role of a running application (see `RoleStaging`); `role` is a RoleSpec. */
  def addRole(cluster: String, stagingDir: String, role: String): Unit = on(cluster) { s =>
    val r = Messages.fromJson[RoleSpec](role)
    val staging = new Path(stagingDir)
    RoleStaging.stage(staging.getFileSystem(s.conf), staging, r)
  }

  /** What attaching to a running application of this user needs (an Attachment), read from
    * its private staging dir: HDFS refuses another user. */
  def attach(cluster: String, appId: String): String = on(cluster) { s =>
    Messages.toJson(Attaching.read(s.fs, new Path(Localized.root(s.fs), appId)))
  }

  /** A file of a running application's private staging dir, by its path there (its text,
    * as a JSON string). */
  def readStagedFile(cluster: String, appId: String, name: String): String = on(cluster) { s =>
    Messages.toJson(Attaching.text(s.fs, new Path(Localized.root(s.fs), appId), name))
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
    "staging_root" -> AppFiles.StagingRoot,
    "python_bin_variable" -> AppFiles.PythonBinVar,
    "container_states" -> ujson.Arr.from(ContainerStates.All),
    "container_outcomes" -> ujson.Arr.from(ContainerStates.Outcomes)))

  def report(cluster: String, appId: String): String = on(cluster) { s =>
    describe(s.yarn.getApplicationReport(ApplicationId.fromString(appId)))
  }

  /** Kills the application (if still running) and removes its staging dir. Idempotent. */
  def kill(cluster: String, appId: String): Unit = on(cluster) { s =>
    val id = ApplicationId.fromString(appId)
    killOnExit.remove(id)
    s.yarn.killApplication(id) // a no-op for a finished application
    removal.remove(s.fs, new Path(Localized.root(s.fs), appId))
  }

  /** Removes the staging dir of an application that ended (its AM removes it when it
    * finishes; not when YARN killed it). */
  def removeStaging(cluster: String, appId: String): Unit = on(cluster) { s =>
    removal.remove(s.fs, new Path(Localized.root(s.fs), appId))
  }

  /** The application is over or left to run on its own: do not kill it at exit. */
  def forget(appId: String): Unit = killOnExit.remove(ApplicationId.fromString(appId))

  /** Logs of a finished application: {container id -> {file name -> contents}}; stdout and
    * stderr, or every file with `allFiles`. */
  def aggregatedLogs(cluster: String, appId: String, allFiles: Boolean): String = on(cluster) { s =>
    val id = ApplicationId.fromString(appId)
    val owner = s.yarn.getApplicationReport(id).getUser
    Messages.toJson(AggregatedLogs.read(s.conf, id, owner, allFiles))
  }

  /** stdout and stderr of running containers (every file their NodeManagers list, with
    * `allFiles`), read from their NodeManagers. `containers` is a JSON object {container
    * id: NodeManager http address}; the answer is a LiveLogsRead. */
  def liveLogs(cluster: String, containers: String, allFiles: Boolean): String = on(cluster) { s =>
    Messages.toJson(LiveLogs.read(s.conf, Json.stringMap(containers).toSeq, allFiles = allFiles))
  }

  /** Packed environments stored in HDFS: a JSON list of StoredEnv. */
  def listEnvs(cluster: String): String = on(cluster) { s =>
    Messages.toJson(SharedFiles.list(s.fs, Localized.root(s.fs), "envs")
      .map { case (sha, name, size, modified) => Messages.StoredEnv(sha, name, size, modified) })
  }

  /** Deletes stored environments by name or sha256 (prefix); returns how many (as JSON). */
  def removeEnv(cluster: String, nameOrHash: String): String = on(cluster) { s =>
    Messages.toJson(SharedFiles.remove(s.fs, Localized.root(s.fs), "envs", nameOrHash))
  }

  /** Called when Python goes away: kill what it did not detach and remove their staging
    * dirs (the AM's own removal, in the 250 ms YARN leaves between SIGTERM and SIGKILL,
    * may not finish), then close clients. An unreachable ResourceManager must not keep
    * this JVM alive: the kills get `timeoutMs` in all, in parallel. */
  def shutdown(timeoutMs: Long = 15000L): Unit = {
    val kills = killOnExit.asScala.toSeq.map { case (id, s) =>
      val t = new Thread(() => {
        // killApplication returns once YARN reports the application ended: only then may
        // its dir go (a kill that failed leaves it to the AM, whose lease runs out).
        try s.as {
          s.yarn.killApplication(id)
          log.info(s"Killed $id: its Python process exited")
          removal.remove(s.fs, new Path(Localized.root(s.fs), id.toString))
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
    clients.values.asScala.foreach { s =>
      try s.yarn.stop() catch { case e: Exception => log.warn("Could not stop a YARN client", e) }
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
