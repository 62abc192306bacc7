package knit.am

import java.lang.management.ManagementFactory
import java.net.InetAddress
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.io.Text
import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.api.ApplicationConstants.Environment
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest
import org.apache.hadoop.yarn.client.api.async.{AMRMClientAsync, NMClientAsync}
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, Gateway, GatewayTls}

/** The knit ApplicationMaster: asks YARN for containers, runs the user's command in each,
  * keeps the books (in `Allocator`) and answers Python over an authenticated gateway.
  *
  * Threads: YARN's callback threads and the gateway's threads all go through methods
  * synchronized on `this`; the main thread waits for `done`.
  */
class ApplicationMaster(conf: YarnConfiguration, spec: Configuration) {
  private val log = LoggerFactory.getLogger(getClass)
  private val PendingIntervalMs = 100 // while asks are outstanding: grants arrive on the next call
  private val IdleIntervalMs = 1000   // otherwise: a light heartbeat
  private val FinalReportGraceMs = 10000L

  private val allocator = new Allocator()
  private val defaultSize = Resources(spec.getInt(AppFiles.Memory, 1024), spec.getInt(AppFiles.Vcores, 1))
  private val stagingDir = new Path(spec.get(AppFiles.StagingDir))
  /** YARN's own request objects, by size, so allocations remove exactly what was asked. */
  private val requests = mutable.Map[Resources, mutable.Queue[ContainerRequest]]()
  private val nodeHttp = mutable.Map[String, String]()
  private val done = new CountDownLatch(1)
  /** Counted down when Python reads the containers after the end (see `run`). */
  private val finalReportRead = new CountDownLatch(1)
  @volatile private var pythonConnected = false
  @volatile private var fatal: Option[String] = None
  private val nodes: Seq[String] = spec.getTrimmedStrings(AppFiles.Nodes).toSeq
  private val keepAlive = spec.getBoolean(AppFiles.KeepAlive, false)
  private val lease = new Lease(spec.getLong(AppFiles.LeaseMs, 0L), System.currentTimeMillis())
  private val restarts = new Restarts(spec.getInt(AppFiles.MaxRestarts, 0),
    spec.getInt(AppFiles.NodeFailuresToExclude, 3))
  private val nodeIds: Set[String] = spec.getTrimmedStrings(AppFiles.NodeIds).toSet
  private val priority = Priority.newInstance(1)

  /** Started with a keytab on a Kerberized cluster: renews delegation tokens (TokenRenewal). */
  private val keytabPrincipal: Option[String] = Option(spec.get(AppFiles.Principal))
    .filter(_ => UserGroupInformation.isSecurityEnabled && new java.io.File(AppFiles.Keytab).isFile)
  @volatile private var launchTemplate: Option[ContainerLaunchContext] = None
  /** Guards `launchTemplate` alone: building it reads HDFS, which must not hold up the rest
    * of the AM (taken after `this`, never before it). */
  private val launchLock = new Object
  private def launchContext: ContainerLaunchContext = launchLock.synchronized {
    launchTemplate.getOrElse {
      val updates = keytabPrincipal.map(_ => WorkerLaunch.TokenUpdates(new Path(spec.get(AppFiles.JarPath)),
        TokenSchedule.pollMs(TokenRenewal.currentExpiry() - System.currentTimeMillis())))
      val ctx = WorkerLaunch.context(conf, stagingDir, Option(spec.get(AppFiles.EnvArchive)).map(new Path(_)),
        updates)
      launchTemplate = Some(ctx)
      ctx
    }
  }
  private val targetRecord = new TargetRecord(conf, new Path(stagingDir, AppFiles.Target))
  private val tokenRenewal = keytabPrincipal.map(p => new TokenRenewal(conf, p,
    new java.io.File(AppFiles.Keytab), new Path(stagingDir, AppFiles.TokensDir),
    _ => launchLock.synchronized { launchTemplate = Some(WorkerLaunch.withCurrentTokens(launchContext)) }))
  // Starts fast: the first asks go out right after registration, and the heartbeat thread
  // only sees a new interval after its current sleep.
  private val amrm = AMRMClientAsync.createAMRMClientAsync[ContainerRequest](PendingIntervalMs, new RmCallbacks)
  private val nm = NMClientAsync.createNMClientAsync(new NmCallbacks)

  /** Which attempt of the application's AM this is (1 for the first). */
  private val attempt: Int = Option(System.getenv(Environment.CONTAINER_ID.name))
    .map(id => ContainerId.fromString(id).getApplicationAttemptId.getAttemptId).getOrElse(1)

  /** Runs the application to its end; returns the final status it unregistered with. */
  def run(): FinalApplicationStatus = {
    val creds = UserGroupInformation.getCurrentUser.getCredentials
    def secret(key: String) = new String(creds.getSecretKey(new Text(key)), UTF_8)
    // Setting up TLS (JSSE's first use) takes a few hundred ms: alongside the clients' start.
    val tls = java.util.concurrent.CompletableFuture.supplyAsync(() =>
      GatewayTls.serverSocketFactory(secret(AppFiles.GatewayCertKey), secret(AppFiles.GatewayKeyKey)))
    // The workers' launch context needs HDFS (the client's first use costs a few hundred
    // ms): ready by the time YARN grants the first container. With a keytab it waits for
    // the renewal's first check instead (a later attempt may need new tokens first).
    if (tokenRenewal.isEmpty) java.util.concurrent.CompletableFuture.runAsync(() =>
      try launchContext catch { case e: Exception => log.warn("Cannot prepare the launch context yet", e) })
    amrm.init(conf)
    amrm.start()
    nm.init(conf)
    nm.start()
    val host = Option(System.getenv(Environment.NM_HOST.name)).getOrElse(InetAddress.getLocalHost.getHostName)
    val clientsAt = ManagementFactory.getRuntimeMXBean.getUptime
    val sockets = tls.get()
    val tlsAt = ManagementFactory.getRuntimeMXBean.getUptime
    val gateway = Gateway.start(new AmEntryPoint(this), InetAddress.getByName("0.0.0.0"),
      secret(AppFiles.GatewayTokenKey), sockets)
    try {
      val registration = amrm.registerApplicationMaster(host, gateway.getListeningPort, "")
      log.info(s"Registered attempt $attempt ${ManagementFactory.getRuntimeMXBean.getUptime} ms " +
        s"after the JVM started (YARN clients up at $clientsAt ms, TLS at $tlsAt ms); gateway on " +
        s"$host:${gateway.getListeningPort}; max container ${registration.getMaximumResourceCapability}")
      // A NodeManager killed under this AM leaves it running outside YARN, and one started
      // again without recovery no longer knows it: either way a new attempt takes over, so
      // this one ends, without unregistering (the application is the new attempt's now).
      val nodeWatch = NodeManagerWatch.start(UserGroupInformation.getCurrentUser.getShortUserName,
        _ => sys.exit(2))
      tokenRenewal.foreach(_.start()) // first: a later attempt's tokens may have expired
      // A later attempt (the previous AM died) takes over the containers YARN kept running
      // (those their NodeManager had reported; YARN stops the others) and asks only for
      // what is missing of the count the previous one recorded (else the initial one),
      // before the callbacks see any late report.
      synchronized {
        adoptPreviousContainers(registration.getContainersFromPreviousAttempts.asScala.toSeq)
        // Only a previous attempt can have recorded a count (and reading HDFS costs time).
        val recorded = if (attempt > 1) targetRecord.read() else None
        val target = recorded.getOrElse(spec.getInt(AppFiles.NumContainers, 0))
        addRequests(allocator.topUp(target, defaultSize), defaultSize)
      }
      val leaseWatch = watchLease()
      done.await()
      leaseWatch.shutdownNow()
      nodeWatch.foreach(_.shutdownNow())
      tokenRenewal.foreach(_.stop())
      // The ResourceManager forgets containers once we unregister: give a watching Python
      // a moment to read their final states (wait_for_completion does at once).
      if (pythonConnected && !lease.expired(System.currentTimeMillis()))
        finalReportRead.await(FinalReportGraceMs, TimeUnit.MILLISECONDS)
      val (status, message) = outcome()
      log.info(s"Finishing with $status: $message")
      amrm.unregisterApplicationMaster(status, message, "")
      // Only now: a later attempt, after a crash before this point, needs the staging dir.
      targetRecord.stop()
      try stagingDir.getFileSystem(conf).delete(stagingDir, true)
      catch { case e: Exception => log.warn(s"Could not delete $stagingDir", e) }
      status
    } finally {
      gateway.shutdown()
      nm.stop()
      amrm.stop()
    }
  }

  private def allocated(c: Container) = Allocated(c.getId.toString, c.getNodeId.toString,
    Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores))

  private def adoptPreviousContainers(previous: Seq[Container]): Unit = synchronized {
    if (previous.nonEmpty) {
      allocator.adopt(previous.map(allocated))
      previous.foreach(c => nodeHttp(c.getId.toString) = c.getNodeHttpAddress)
      log.info(s"Took over ${previous.size} containers from the previous attempt")
    }
  }

  /** Containers of the previous attempt reported after registration: adopted, and what the
    * top-up asked in their place is undone (see `Allocator.adoptLate`). */
  private def adoptLateContainers(late: Seq[Container]): Unit = synchronized {
    for (c <- late) {
      nodeHttp(c.getId.toString) = c.getNodeHttpAddress
      allocator.adoptLate(allocated(c)) match {
        case LateAdoption.Withdraw(size) =>
          requests.get(size).filter(_.nonEmpty).foreach(q => amrm.removeContainerRequest(q.dequeue()))
          log.info(s"Took over ${c.getId} from the previous attempt, reported late; withdrew an ask")
        case LateAdoption.Release(id) =>
          amrm.releaseAssignedContainer(ContainerId.fromString(id))
          log.info(s"Took over ${c.getId} from the previous attempt, reported late; released $id")
        case LateAdoption.Kept =>
          log.info(s"Took over ${c.getId} from the previous attempt, reported late")
      }
    }
    checkFinished()
  }

  /** From Python: a file from a container's log dir, through its NodeManager. */
  def readLogFile(containerId: String, name: String): String = {
    require(name.nonEmpty && !name.contains('/') && name != "." && name != "..",
      s"not a file name: $name")
    val where = synchronized(nodeHttp.get(containerId))
      .getOrElse(throw new IllegalArgumentException(s"not a container of this application: $containerId"))
    knit.client.LiveLogs.read(conf, Seq(containerId -> where), Seq(name))
      .logs.get(containerId).flatMap(_.get(name)).getOrElse("")
  }

  /** From Python, every few seconds while it lives; returns this AM's attempt number. */
  def renewLease(): Int = { lease.renew(System.currentTimeMillis()); attempt }

  /** Ends the application once the client stops renewing its lease (if it holds one). */
  private def watchLease(): java.util.concurrent.ScheduledExecutorService = {
    val timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor { r =>
      val t = new Thread(r, "lease-watch"); t.setDaemon(true); t
    }
    if (lease.enabled) timer.scheduleWithFixedDelay(() => {
      val now = System.currentTimeMillis()
      if (lease.expired(now)) synchronized {
        if (fatal.isEmpty) {
          fatal = Some(s"The client that started this application stopped renewing its lease " +
            s"${lease.silentForMs(now) / 1000} s ago (it died?); ended so that nothing is left " +
            "running. Start with detached=True to outlive the client.")
          log.warn(fatal.get)
        }
        done.countDown()
      }
    }, 1, 1, TimeUnit.SECONDS)
    timer
  }

  private def outcome(): (FinalApplicationStatus, String) = synchronized {
    fatal match {
      case Some(reason) => (FinalApplicationStatus.FAILED, reason)
      // A failure that was replaced does not fail the application; its replacement counts.
      case None if restarts.unreplacedFailures == 0 =>
        val replaced = if (restarts.restartsUsed > 0) s" (${restarts.restartsUsed} failed and " +
          "were replaced)" else ""
        (FinalApplicationStatus.SUCCEEDED, s"${allocator.containers.size} containers finished$replaced")
      case None =>
        val failed = allocator.failed
        (FinalApplicationStatus.FAILED, s"${failed.size} of ${allocator.containers.size} " +
          s"containers failed; first: ${failed.head.id}: ${failed.head.message}")
    }
  }

  /** From Python: more containers (sizes <= 0 mean the application's default). */
  def addContainers(n: Int, memoryMb: Int, vcores: Int): Unit = synchronized {
    pythonConnected = true
    ask(n, memoryMb, vcores)
  }

  private def ask(n: Int, memoryMb: Int, vcores: Int): Unit = synchronized {
    require(n >= 0, s"the number of containers must be >= 0, got $n")
    val size = Resources(if (memoryMb > 0) memoryMb else defaultSize.memoryMb,
      if (vcores > 0) vcores else defaultSize.vcores)
    allocator.request(n, size)
    addRequests(n, size)
  }

  /** Sends YARN `n` asks of `size` (the allocator already counts them). */
  private def addRequests(n: Int, size: Resources): Unit = synchronized {
    if (n == 0) return
    val capability = Resource.newInstance(size.memoryMb.toLong, size.vcores)
    // Node-local asks where the nodes are known: the capacity scheduler places any number
    // of node-local containers per heartbeat, but only one off-switch one.
    val preferred: Seq[Array[String]] =
      if (nodes.isEmpty) Seq.fill(n)(null) else allocator.placements(n, nodes).map(Array(_))
    preferred.foreach { where =>
      val request = new ContainerRequest(capability, where, null, priority, true)
      requests.getOrElseUpdate(size, mutable.Queue.empty).enqueue(request)
      amrm.addContainerRequest(request)
    }
    amrm.setHeartbeatInterval(PendingIntervalMs)
    targetRecord.update(allocator.desiredCount)
    log.info(s"Asked for $n containers of $size")
  }

  /** From Python: withdraw up to `n` asks not yet granted; returns how many. */
  def cancelContainers(n: Int): Int = synchronized {
    pythonConnected = true
    var cancelled = 0
    for ((size, queue) <- requests if cancelled < n) {
      val k = allocator.cancel(math.min(n - cancelled, queue.size), size)
      (1 to k).foreach(_ => amrm.removeContainerRequest(queue.dequeue()))
      cancelled += k
    }
    if (cancelled > 0) log.info(s"Withdrew $cancelled container requests")
    checkFinished()
    cancelled
  }

  def removeContainer(id: String): Boolean = synchronized {
    val ours = allocator.release(id)
    if (ours) amrm.releaseAssignedContainer(ContainerId.fromString(id))
    targetRecord.update(allocator.desiredCount)
    ours
  }

  /** Containers as plain maps; `finished` tells Python the list is final. */
  def describeContainers(): Map[String, Any] = synchronized {
    pythonConnected = true
    val finished = done.getCount == 0
    if (finished) finalReportRead.countDown()
    Map("finished" -> finished, "attempt" -> attempt, "containers" -> allocator.containers.map { c =>
      Map[String, Any](
        "id" -> c.id,
        "node" -> c.node,
        "node_http" -> nodeHttp.getOrElse(c.id, ""),
        "state" -> c.state,
        "exit_status" -> c.exitStatus,
        "outcome" -> c.outcome.map(_.toString.toUpperCase),
        "diagnostics" -> c.message,
        "memory_mb" -> c.resources.memoryMb,
        "vcores" -> c.resources.vcores,
        "allocated_at" -> c.allocatedAt,
        "launched_at" -> c.launchedAt,
        "finished_at" -> c.finishedAt)
    })
  }

  def pending(): Map[String, Int] = synchronized {
    allocator.outstanding.map { case (r, n) => s"${r.memoryMb}x${r.vcores}" -> n }
  }

  private def checkFinished(): Unit = {
    targetRecord.update(allocator.desiredCount)
    if (allocator.outstanding.isEmpty) amrm.setHeartbeatInterval(IdleIntervalMs)
    if (allocator.isFinished && !keepAlive) done.countDown()
  }

  /** A failed container: replace it (max_restarts) and stop using a node that keeps failing. */
  private def onFailure(c: ContainerInfo): Unit = {
    val (replace, excluded) = restarts.onFailure(c.node, nodeIds + c.node)
    excluded.foreach(n => log.warn(s"Excluding node $n: containers keep failing there"))
    if (replace) {
      log.info(s"Replacing ${c.id} (restart ${restarts.restartsUsed} of ${restarts.maxRestarts})")
      ask(1, c.resources.memoryMb, c.resources.vcores)
    }
  }

  /** YARN placed a container on an excluded node: give it back and renew the ask it filled
    * (AMRMClient only resends an ask whose count it sees change). */
  private def askAgainElsewhere(c: Container): Unit = {
    amrm.releaseAssignedContainer(c.getId)
    val got = Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores)
    val filled = requests.keys.filter(r => r.memoryMb <= got.memoryMb && r.vcores <= got.vcores)
      .filter(r => requests(r).nonEmpty).toSeq.sortBy(r => (r.memoryMb, r.vcores)).headOption
    filled.foreach { size =>
      val old = requests(size).dequeue()
      amrm.removeContainerRequest(old)
      val hosts = Option(old.getNodes).map(_.asScala.toArray).orNull
      val again = new ContainerRequest(old.getCapability, hosts, null, priority, true)
      requests(size).enqueue(again)
      amrm.addContainerRequest(again)
    }
    log.info(s"Released ${c.getId} on excluded node ${c.getNodeId}; asked again")
  }

  private class RmCallbacks extends AMRMClientAsync.AbstractCallbackHandler {
    override def onContainersAllocated(all: java.util.List[Container]): Unit = ApplicationMaster.this.synchronized {
      val (onExcluded, given) = all.asScala.partition(c => restarts.excluded(c.getNodeId.toString))
      onExcluded.foreach(askAgainElsewhere)
      val byId = given.map(c => c.getId.toString -> c).toMap
      val decision = allocator.onAllocated(given.toSeq.map(allocated))
      decision.release.foreach(id => amrm.releaseAssignedContainer(byId(id).getId))
      decision.launch.foreach { case (a, asked) =>
        requests.get(asked).filter(_.nonEmpty).foreach(q => amrm.removeContainerRequest(q.dequeue()))
        val container = byId(a.id)
        nodeHttp(a.id) = container.getNodeHttpAddress
        nm.startContainerAsync(container, WorkerLaunch.forLaunch(launchContext))
      }
      if (decision.release.nonEmpty) log.info(s"Released ${decision.release.size} surplus containers")
      checkFinished()
    }

    override def onContainersCompleted(statuses: java.util.List[ContainerStatus]): Unit = ApplicationMaster.this.synchronized {
      allocator.onCompleted(statuses.asScala.toSeq.map(s =>
        Completion(s.getContainerId.toString, s.getExitStatus, Option(s.getDiagnostics).getOrElse(""))))
      statuses.asScala.foreach { s =>
        allocator.containers.find(_.id == s.getContainerId.toString).foreach { c =>
          if (c.outcome.exists(_.isFailure)) {
            log.warn(s"${c.id} on ${c.node}: ${c.message}\nYARN diagnostics: ${s.getDiagnostics}")
            onFailure(c)
          } else log.info(s"${c.id} finished: ${c.message}")
        }
      }
      checkFinished()
    }

    override def onContainersUpdated(containers: java.util.List[UpdatedContainer]): Unit = ()

    /** Running containers of the previous attempt that the ResourceManager reports only
      * after registration (it learnt of them late, e.g. after it restarted). */
    override def onContainersReceivedFromPreviousAttempts(late: java.util.List[Container]): Unit =
      adoptLateContainers(late.asScala.toSeq)

    override def onShutdownRequest(): Unit = {
      log.warn("The ResourceManager asked this AM to shut down")
      fatal = Some("shut down by the ResourceManager")
      done.countDown()
    }

    override def onNodesUpdated(updated: java.util.List[NodeReport]): Unit = ()

    override def getProgress: Float = 0.5f

    override def onError(e: Throwable): Unit = {
      log.error("Lost the ResourceManager", e)
      fatal = Some(s"AM error: $e")
      done.countDown()
    }
  }

  private class NmCallbacks extends NMClientAsync.AbstractCallbackHandler {
    override def onContainerStarted(id: ContainerId, response: java.util.Map[String, java.nio.ByteBuffer]): Unit =
      ApplicationMaster.this.synchronized { allocator.onLaunched(id.toString) }

    override def onStartContainerError(id: ContainerId, t: Throwable): Unit = ApplicationMaster.this.synchronized {
      log.warn(s"Could not start $id", t)
      allocator.onLaunchFailed(id.toString, s"could not start: ${t.getMessage}")
      amrm.releaseAssignedContainer(id)
      checkFinished()
    }

    override def onContainerStatusReceived(id: ContainerId, status: ContainerStatus): Unit = ()
    override def onGetContainerStatusError(id: ContainerId, t: Throwable): Unit = ()
    override def onContainerStopped(id: ContainerId): Unit = ()
    override def onStopContainerError(id: ContainerId, t: Throwable): Unit = ()
    override def onContainerResourceIncreased(id: ContainerId, r: Resource): Unit = ()
    override def onIncreaseContainerResourceError(id: ContainerId, t: Throwable): Unit = ()
    override def onContainerResourceUpdated(id: ContainerId, r: Resource): Unit = ()
    override def onUpdateContainerResourceError(id: ContainerId, t: Throwable): Unit = ()
    override def onContainerReInitialize(id: ContainerId): Unit = ()
    override def onContainerReInitializeError(id: ContainerId, t: Throwable): Unit = ()
    override def onContainerRestart(id: ContainerId): Unit = ()
    override def onContainerRestartError(id: ContainerId, t: Throwable): Unit = ()
    override def onRollbackLastReInitialization(id: ContainerId): Unit = ()
    override def onRollbackLastReInitializationError(id: ContainerId, t: Throwable): Unit = ()
    override def onCommitLastReInitialization(id: ContainerId): Unit = ()
    override def onCommitLastReInitializationError(id: ContainerId, t: Throwable): Unit = ()
  }
}
