package knit.am

import java.lang.management.ManagementFactory
import java.net.InetAddress
import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.util.Time
import org.apache.hadoop.yarn.api.ApplicationConstants.Environment
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest
import org.apache.hadoop.yarn.client.api.async.{AMRMClientAsync, NMClientAsync}
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, DelegationTokens, Gateway, GatewayTls, Messages, RoleFiles}
import knit.common.Messages.StagedApp

/** The knit ApplicationMaster: asks YARN for containers, runs the user's command in each,
  * keeps the books (in `Allocator`) and answers Python over an authenticated gateway.
  *
  * Threads: YARN's callback threads and the gateway's threads all go through methods
  * synchronized on `this`; the main thread waits for `done`.
  */
class ApplicationMaster(conf: YarnConfiguration, staged: StagedApp,
    gatewayTls: java.util.concurrent.Future[javax.net.ssl.SSLContext]) {
  private val spec = staged.spec
  private val log = LoggerFactory.getLogger(getClass)
  private val heartbeats = new HeartbeatSchedule()
  private val FinalReportGraceMs = 10000L
  /** After a stop, how long to wait for YARN to report the released containers ended. */
  private val ReleaseWaitMs = 5000L

  private val stagingDir = new Path(staged.stagingDir)
  private val mainRole = Role.main(stagingDir,
    Resources(spec.memory, spec.vcores), spec.resources)
  /** The application's roles by name, the main one first; others are added by Python. */
  private val roles = mutable.LinkedHashMap[String, Role](mainRole.name -> mainRole)
  /** The role of each container, by id. */
  private val roleOf = mutable.Map[String, Role]()
  private val nodeHttp = mutable.Map[String, String]()
  private val done = new CountDownLatch(1)
  /** Counted down when Python reads the containers after the end (see `run`). */
  private val finalReportRead = new CountDownLatch(1)
  // Open once this attempt holds what the previous one left (see `run`): a client that
  // reconnects to a later attempt must not see it without its adopted containers, or it
  // would ask again for what runs.
  private val tookOver = new CountDownLatch(1)
  @volatile private var pythonConnected = false
  @volatile private var fatal: Option[String] = None
  @volatile private var stoppedByClient = false
  private val nodes: Seq[String] = staged.nodes
  private val keepAlive = spec.keepAlive
  // Lease and heartbeat intervals are durations: on the monotonic clock, which a step of
  // the wall clock (NTP, a VM restored from a snapshot) leaves alone.
  private val lease = new Lease(spec.leaseMs, Time.monotonicNow())
  private val restarts = new Restarts(spec.maxRestarts, AppFiles.NodeFailuresToExclude)
  private val nodeIds: Set[String] = staged.nodeIds.toSet

  /** Started with a keytab on a Kerberized cluster: renews delegation tokens (TokenRenewal). */
  private val keytabPrincipal: Option[String] = spec.principal
    .filter(_ => staged.renewsTokens && new java.io.File(AppFiles.Keytab).isFile)
  /** When the tokens of an application without a keytab die (nothing renews them past
    * their maximum lifetime); containers failing after it are told why (TokenExpiry). */
  private val tokensExpireAt: Option[Long] =
    if (keytabPrincipal.isDefined) None
    else DelegationTokens.earliestMaxDate(UserGroupInformation.getCurrentUser.getCredentials)
  /** Guards the roles' launch templates alone: building one reads HDFS, which must not
    * hold up the rest of the AM (taken after `this`, never before it). */
  private val launchLock = new Object
  private def launchContext(role: Role): ContainerLaunchContext = launchLock.synchronized {
    role.launchTemplate.getOrElse {
      val updates = keytabPrincipal.map(_ => WorkerLaunch.TokenUpdates(new Path(staged.jarPath),
        TokenSchedule.pollMs(TokenRenewal.currentExpiry() - System.currentTimeMillis())))
      val ctx = WorkerLaunch.context(conf, stagingDir, role.dir,
        staged.envArchive.map(new Path(_)), updates, tokensExpireAt)
      role.launchTemplate = Some(ctx)
      ctx
    }
  }
  private val targetRecord = new TargetRecord(conf, new Path(stagingDir, AppFiles.Target))
  private val tokenRenewal = keytabPrincipal.map(p => new TokenRenewal(conf, p,
    new java.io.File(AppFiles.Keytab), new Path(stagingDir, AppFiles.TokensDir),
    _ => launchLock.synchronized {
      synchronized(roles.values.toList).foreach(r => r.launchTemplate = Some(WorkerLaunch.withCurrentTokens(launchContext(r))))
    }))
  // Starts fast: the first asks go out right after registration, and the heartbeat thread
  // only sees a new interval after its current sleep.
  private val amrm = AMRMClientAsync.createAMRMClientAsync[ContainerRequest](heartbeats.fastMs, new RmCallbacks)
  private val nm = NMClientAsync.createNMClientAsync(new NmCallbacks)
  // By default the NodeManager client's stop stops every container it started, one RPC at
  // a time, while this AM, unregistered, still runs (1,000 containers: over 30 s before
  // the application could end). YARN ends them itself, on every node at once, when the
  // application ends; and a failed attempt's containers are the next attempt's to adopt.
  nm.getClient.cleanupRunningContainersOnStop(false)

  private val attemptId: Option[ApplicationAttemptId] = Option(System.getenv(Environment.CONTAINER_ID.name))
    .map(id => ContainerId.fromString(id).getApplicationAttemptId)
  /** Which attempt of the application's AM this is (1 for the first). */
  private val attempt: Int = attemptId.map(_.getAttemptId).getOrElse(1)
  val appId: String = attemptId.map(_.getApplicationId.toString).getOrElse(stagingDir.getName)

  private val stagingCleanup = new StagingCleanup(conf, stagingDir, attempt, spec.amAttempts)

  /** Runs the application to its end; returns the final status it unregistered with. */
  def run(): FinalApplicationStatus = {
    // The workers' launch context needs HDFS (the client's first use costs a few hundred
    // ms): ready by the time YARN grants the first container. With a keytab it waits for
    // the renewal's first check instead (a later attempt may need new tokens first).
    if (tokenRenewal.isEmpty) java.util.concurrent.CompletableFuture.runAsync(() =>
      try launchContext(mainRole) catch { case e: Exception => log.warn("Cannot prepare the launch context yet", e) })
    amrm.init(conf)
    amrm.start()
    nm.init(conf)
    nm.start()
    val host = Option(System.getenv(Environment.NM_HOST.name)).getOrElse(InetAddress.getLocalHost.getHostName)
    val clientsAt = ManagementFactory.getRuntimeMXBean.getUptime
    // TLS is set up alongside (ApplicationMasterMain); connections wait for it, not this.
    val gateway = Gateway.start(new AmEntryPoint(this), InetAddress.getByName("0.0.0.0"),
      AmSecrets.read(AppFiles.GatewayTokenKey), GatewayTls.deferred(gatewayTls))
    try {
      // The first attempt asks before registering: AMRMClientAsync's first heartbeat follows
      // registration at once and carries them, where asks added after it waited for the
      // second (100 ms later; the first worker came 0.1 s sooner). A later attempt asks
      // only once registration has told it what the previous one left running.
      if (attempt == 1) synchronized {
        addRequests(mainRole, mainRole.allocator.topUp(spec.numContainers, mainRole.defaultSize),
          mainRole.defaultSize)
      }
      val registration = amrm.registerApplicationMaster(host, gateway.getListeningPort, "")
      log.info(s"Registered attempt $attempt ${ManagementFactory.getRuntimeMXBean.getUptime} ms " +
        s"after the JVM started (YARN clients up at $clientsAt ms); gateway on " +
        s"$host:${gateway.getListeningPort}; max container ${registration.getMaximumResourceCapability}")
      // A NodeManager started again without recovery no longer knows this AM, and one gone
      // for longer than YARN waits has been declared lost: either way a new attempt takes
      // over, so this one ends, without unregistering (the application is the new
      // attempt's now). A NodeManager that restarts with recovery keeps it.
      val nodeWatch = NodeManagerWatch.start(UserGroupInformation.getCurrentUser.getShortUserName,
        NodeManagerWatch.givenUpAfterMs(conf), _ => sys.exit(2))
      tokenRenewal.foreach(_.start()) // first: a later attempt's tokens may have expired
      // The tracking page after registration: Jetty's start (some 200 ms of class loading)
      // would delay it; the URL goes to YARN with the next heartbeat.
      val page = java.util.concurrent.CompletableFuture.supplyAsync { () =>
        val started = TrackingPage.start(conf, host, this)
        started.foreach(p => amrm.updateTrackingUrl(p.url))
        started
      }
      // A later attempt (the previous AM died) takes over the containers YARN kept running
      // (those their NodeManager had reported; YARN stops the others) and asks only for
      // what is missing of the count the previous one recorded (else the initial one),
      // before the callbacks see any late report.
      // Only a previous attempt can have staged roles or recorded counts (and reading HDFS
      // costs time).
      val (staged, recorded) =
        if (attempt > 1) (RoleFiles.stagedNames(conf, stagingDir).map(Role.staged(conf, stagingDir, _)), targetRecord.read())
        else (Nil, Map.empty[String, Int])
      synchronized {
        staged.foreach(r => roles(r.name) = r)
        adoptPreviousContainers(registration.getContainersFromPreviousAttempts.asScala.toSeq)
        if (attempt > 1) for (role <- roles.values) {
          val initial = if (role eq mainRole) spec.numContainers else 0
          val target = recorded.getOrElse(role.name, initial)
          addRequests(role, role.allocator.topUp(target, role.defaultSize), role.defaultSize)
        }
      }
      tookOver.countDown()
      gatewayTls.get() // a TLS context that cannot be made fails the AM (its gateway is useless)
      log.info(s"Gateway TLS ready at ${ManagementFactory.getRuntimeMXBean.getUptime} ms")
      ClassArchive.checkInBackground() // after the first asks: it is not on their way
      val leaseWatch = watchLease()
      done.await()
      page.thenAccept(_.foreach(_.stop()))
      leaseWatch.shutdownNow()
      nodeWatch.foreach(_.shutdownNow())
      tokenRenewal.foreach(_.stop())
      // The ResourceManager forgets containers once we unregister: give a watching Python
      // a moment to read their final states (wait_for_completion does at once).
      if (pythonConnected && !lease.expired(Time.monotonicNow()))
        finalReportRead.await(FinalReportGraceMs, TimeUnit.MILLISECONDS)
      val (status, message) = outcome()
      log.info(s"Finishing with $status: $message")
      amrm.unregisterApplicationMaster(status, message, "")
      // Only now: a later attempt, after a crash before this point, needs the staging dir.
      targetRecord.stop()
      stagingCleanup.remove("after unregistering")
      status
    } finally {
      tookOver.countDown() // no client call waits for a take-over that failed
      gateway.shutdown()
      nm.stop()
      amrm.stop()
    }
  }

  // Where this AM runs, as its NodeManager set it in the environment.
  private val ownContainer = sys.env.getOrElse(Environment.CONTAINER_ID.name, "")
  private val ownNodeHttp = (sys.env.get(Environment.NM_HOST.name), sys.env.get(Environment.NM_HTTP_PORT.name)) match {
    case (Some(host), Some(port)) => s"$host:$port"
    case _ => ""
  }

  /** Client calls wait for this: until then the gateway answers, but a later attempt has not
    * yet adopted the previous one's containers nor restored its counts. */
  def awaitTakeOver(): Unit = tookOver.await()

  private def allocated(c: Container) = Allocated(c.getId.toString, c.getNodeId.toString,
    Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores))

  /** The role whose requests carry `c`'s priority, if any. */
  private def roleByPriority(c: Container): Option[Role] =
    roles.values.find(_.priority == c.getPriority.getPriority)

  private def adoptPreviousContainers(previous: Seq[Container]): Unit = synchronized {
    for ((role, theirs) <- previous.groupBy(roleByPriority).collect { case (Some(r), cs) => r -> cs }) {
      role.allocator.adopt(theirs.map(allocated))
      theirs.foreach { c => nodeHttp(c.getId.toString) = c.getNodeHttpAddress; roleOf(c.getId.toString) = role }
      log.info(s"Took over ${theirs.size} ${role.name} containers from the previous attempt")
    }
  }

  /** Containers of the previous attempt reported after registration: adopted, and what the
    * top-up asked in their place is undone (see `Allocator.adoptLate`). */
  private def adoptLateContainers(late: Seq[Container]): Unit = synchronized {
    for (c <- late; role <- roleByPriority(c)) {
      nodeHttp(c.getId.toString) = c.getNodeHttpAddress
      roleOf(c.getId.toString) = role
      role.allocator.adoptLate(allocated(c)) match {
        case LateAdoption.Withdraw(size) =>
          role.requests.get(size).filter(_.nonEmpty).foreach(q => amrm.removeContainerRequest(q.dequeue()))
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
    knit.common.LiveLogs.read(conf, Seq(containerId -> where), Seq(name))
      .logs.get(containerId).flatMap(_.get(name)).getOrElse("")
  }

  /** From Python: the owner ends the application. Live containers are released (so their
    * ends are no failures) and asks withdrawn; the AM finishes once the ResourceManager has
    * reported them all ended (or after `ReleaseWaitMs`). Unregistering first would leave
    * them running until this AM's own container ends (YARN stops an attempt's containers
    * only then), and its exit can take long: the first AM on a node writes its class-data
    * archive (knit-am.sh), which kept 1,000 containers running 35 s longer in scale.py. */
  def stopApplication(): Unit = synchronized {
    pythonConnected = true
    stoppedByClient = true
    var released = 0
    for (role <- roles.values; c <- role.allocator.containers if role.allocator.release(c.id)) {
      amrm.releaseAssignedContainer(ContainerId.fromString(c.id))
      released += 1
    }
    for (role <- roles.values; (size, queue) <- role.requests) {
      val k = role.allocator.cancel(queue.size, size)
      (1 to k).foreach(_ => amrm.removeContainerRequest(queue.dequeue()))
    }
    log.info(s"Stopped by its client; released $released containers")
    // The releases go with the next heartbeat, their ends come back with the one after.
    amrm.setHeartbeatInterval(heartbeats.busy(Time.monotonicNow()))
    val fallback = new Thread(() => {
      if (!done.await(ReleaseWaitMs, TimeUnit.MILLISECONDS)) {
        log.warn(s"The ResourceManager did not report every released container ended within $ReleaseWaitMs ms; finishing")
        done.countDown()
      }
    }, "release-wait")
    fallback.setDaemon(true)
    fallback.start()
    checkFinished()
  }

  /** From Python, every few seconds while it lives; returns this AM's attempt number. */
  def renewLease(): Int = { lease.renew(Time.monotonicNow()); attempt }

  /** Ends the application once the client stops renewing its lease (if it holds one). */
  private def watchLease(): java.util.concurrent.ScheduledExecutorService = {
    val timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor { r =>
      val t = new Thread(r, "lease-watch"); t.setDaemon(true); t
    }
    if (lease.enabled) timer.scheduleWithFixedDelay(() => {
      val now = Time.monotonicNow()
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

  private def allContainers: Seq[ContainerInfo] = roles.values.toSeq.flatMap(_.allocator.containers)

  private def outcome(): (FinalApplicationStatus, String) = synchronized {
    fatal match {
      case Some(reason) => (FinalApplicationStatus.FAILED, reason)
      case None if stoppedByClient =>
        (FinalApplicationStatus.SUCCEEDED, s"stopped by its client (${allContainers.size} containers)")
      // A failure that was replaced does not fail the application; its replacement counts.
      case None if restarts.unreplacedFailures == 0 =>
        val replaced = if (restarts.restartsUsed > 0) s" (${restarts.restartsUsed} failed and " +
          "were replaced)" else ""
        (FinalApplicationStatus.SUCCEEDED, s"${allContainers.size} containers finished$replaced")
      case None =>
        val failed = roles.values.toSeq.flatMap(_.allocator.failed)
        (FinalApplicationStatus.FAILED, s"${failed.size} of ${allContainers.size} " +
          s"containers failed; first: ${failed.head.id}: ${failed.head.message}")
    }
  }

  /** The role called `name`; one the client staged since this AM started is loaded (its
    * size and priority from its role.xml). */
  private def role(name: String): Role = synchronized {
    roles.getOrElse(name, {
      val r = Role.staged(conf, stagingDir, name)
      require(!roles.values.exists(_.priority == r.priority), s"role $name reuses priority ${r.priority}")
      roles(name) = r
      log.info(s"Role $name: containers of ${r.defaultSize}, priority ${r.priority}")
      r
    })
  }

  /** From Python: more containers of a role (sizes <= 0 mean the role's default). */
  def addContainers(roleName: String, n: Int, memoryMb: Int, vcores: Int): Unit = synchronized {
    pythonConnected = true
    ask(role(roleName), n, memoryMb, vcores)
  }

  private def ask(role: Role, n: Int, memoryMb: Int, vcores: Int): Unit = synchronized {
    require(n >= 0, s"the number of containers must be >= 0, got $n")
    val size = Resources(if (memoryMb > 0) memoryMb else role.defaultSize.memoryMb,
      if (vcores > 0) vcores else role.defaultSize.vcores)
    role.allocator.request(n, size)
    addRequests(role, n, size)
  }

  /** Sends YARN `n` asks of `size` for `role` (its allocator already counts them). */
  private def addRequests(role: Role, n: Int, size: Resources): Unit = synchronized {
    if (n == 0) return
    val capability = Resource.newInstance(size.memoryMb.toLong, size.vcores)
    role.otherResources.foreach { case (name, n) => capability.setResourceValue(name, n.toLong) }
    // Node-local asks where the nodes are known: the capacity scheduler places any number
    // of node-local containers per heartbeat, but only one off-switch one.
    val preferred: Seq[Array[String]] =
      if (nodes.isEmpty) Seq.fill(n)(null) else role.allocator.placements(n, nodes).map(Array(_))
    preferred.foreach { where =>
      val request = new ContainerRequest(capability, where, null, Priority.newInstance(role.priority), true)
      role.requests.getOrElseUpdate(size, mutable.Queue.empty).enqueue(request)
      amrm.addContainerRequest(request)
    }
    amrm.setHeartbeatInterval(heartbeats.busy(Time.monotonicNow()))
    recordTargets()
    log.info(s"Asked for $n ${role.name} containers of $size")
  }

  private def recordTargets(): Unit = targetRecord.update(roles.values.map(r => r.name -> r.desiredCount).toMap)

  /** From Python: withdraw up to `n` asks of a role not yet granted; returns how many. */
  def cancelContainers(roleName: String, n: Int): Int = synchronized {
    pythonConnected = true
    val r = role(roleName)
    var cancelled = 0
    for ((size, queue) <- r.requests if cancelled < n) {
      val k = r.allocator.cancel(math.min(n - cancelled, queue.size), size)
      (1 to k).foreach(_ => amrm.removeContainerRequest(queue.dequeue()))
      cancelled += k
    }
    if (cancelled > 0) log.info(s"Withdrew $cancelled ${r.name} container requests")
    checkFinished()
    cancelled
  }

  def removeContainer(id: String): Boolean = synchronized {
    val ours = roleOf.get(id).exists(_.allocator.release(id))
    if (ours) amrm.releaseAssignedContainer(ContainerId.fromString(id))
    recordTargets()
    ours
  }

  /** The containers, as `Messages.ContainerList`; `finished` tells Python the list is final. */
  def containerList(): Messages.ContainerList = synchronized {
    pythonConnected = true
    val finished = done.getCount == 0
    if (finished) finalReportRead.countDown()
    Messages.ContainerList(finished, attempt, containerRecords, ownContainer, ownNodeHttp)
  }

  /** Every container the application has had, oldest first. */
  def containerRecords: Seq[Messages.Container] = synchronized {
    val all = roles.values.toSeq.flatMap(r => r.allocator.containers.map(r -> _)).sortBy(_._2.allocatedAt)
    all.map { case (r, c) =>
      Messages.Container(
        id = c.id,
        role = r.name,
        node = c.node,
        nodeHttp = nodeHttp.getOrElse(c.id, ""),
        state = c.state,
        memoryMb = c.resources.memoryMb,
        vcores = c.resources.vcores,
        allocatedAt = c.allocatedAt,
        exitStatus = c.exitStatus,
        outcome = c.outcome.map(_.toString.toUpperCase),
        diagnostics = c.message,
        launchedAt = c.launchedAt,
        finishedAt = c.finishedAt)
    }
  }

  /** Links the client gave for the tracking page (name -> URL), e.g. the Dask dashboard. */
  private val links = new java.util.concurrent.ConcurrentHashMap[String, String]()
  def setLink(name: String, url: String): Unit = {
    require(url.startsWith("http://") || url.startsWith("https://"), s"not an http(s) URL: $url")
    links.put(name, url)
  }
  def pageLinks: Map[String, String] = links.asScala.toMap

  /** Requests not granted yet: {role: {"<memory>x<vcores>": count}}. */
  def pending(): Map[String, Map[String, Int]] = synchronized {
    roles.values.map(r => r.name -> r.allocator.outstanding.map { case (size, n) =>
      s"${size.memoryMb}x${size.vcores}" -> n }).toMap
  }

  /** Whether asks are outstanding, or released containers wait for YARN's word. */
  private def waitingOnYarn: Boolean = synchronized {
    stoppedByClient || roles.values.exists(_.allocator.outstanding.nonEmpty)
  }

  /** Ends the application when no role has anything left to do (unless kept alive). */
  private def checkFinished(): Unit = {
    recordTargets()
    amrm.setHeartbeatInterval(heartbeats.next(Time.monotonicNow(), waitingOnYarn))
    val idle = roles.values.forall(_.allocator.isIdle)
    val finished = roles.values.exists(_.allocator.hasRequested) && idle
    if ((finished && !keepAlive) || (stoppedByClient && idle)) done.countDown()
  }

  /** A failed container: replace it (max_restarts) and stop using a node that keeps failing. */
  private def onFailure(role: Role, c: ContainerInfo): Unit = {
    val hopeless = TokenExpiry.replacementWouldFail(System.currentTimeMillis(), tokensExpireAt)
    if (hopeless) log.warn(s"Not replacing ${c.id}: a new container would get the same expired delegation tokens")
    val (replace, excluded) = restarts.onFailure(c.node, nodeIds + c.node, replaceable = !hopeless)
    excluded.foreach(n => log.warn(s"Excluding node $n: containers keep failing there"))
    if (replace) {
      log.info(s"Replacing ${c.id} (restart ${restarts.restartsUsed} of ${restarts.maxRestarts})")
      ask(role, 1, c.resources.memoryMb, c.resources.vcores)
    }
  }

  /** YARN placed a container on an excluded node: give it back and renew the ask it filled
    * (AMRMClient only resends an ask whose count it sees change). */
  private def askAgainElsewhere(c: Container): Unit = {
    amrm.releaseAssignedContainer(c.getId)
    val got = Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores)
    for (role <- roleByPriority(c)) {
      val requests = role.requests
      val filled = requests.keys.filter(r => r.memoryMb <= got.memoryMb && r.vcores <= got.vcores)
        .filter(r => requests(r).nonEmpty).toSeq.sortBy(r => (r.memoryMb, r.vcores)).headOption
      filled.foreach { size =>
        val old = requests(size).dequeue()
        amrm.removeContainerRequest(old)
        val hosts = Option(old.getNodes).map(_.asScala.toArray).orNull
        val again = new ContainerRequest(old.getCapability, hosts, null, old.getPriority, true)
        requests(size).enqueue(again)
        amrm.addContainerRequest(again)
      }
    }
    log.info(s"Released ${c.getId} on excluded node ${c.getNodeId}; asked again")
  }

  private class RmCallbacks extends AMRMClientAsync.AbstractCallbackHandler {
    override def onContainersAllocated(all: java.util.List[Container]): Unit = ApplicationMaster.this.synchronized {
      val (onExcluded, given) = all.asScala.partition(c => restarts.excluded(c.getNodeId.toString))
      if (all.size > 0) heartbeats.busy(Time.monotonicNow()) // more may follow
      onExcluded.foreach(askAgainElsewhere)
      val byId = given.map(c => c.getId.toString -> c).toMap
      val (known, unknown) = given.toSeq.partition(roleByPriority(_).isDefined)
      unknown.foreach(c => amrm.releaseAssignedContainer(c.getId)) // no role asked for it
      for ((role, theirs) <- known.groupBy(roleByPriority(_).get)) {
        val decision = role.allocator.onAllocated(theirs.map(allocated))
        decision.release.foreach(id => amrm.releaseAssignedContainer(byId(id).getId))
        decision.launch.foreach { case (a, asked) =>
          role.requests.get(asked).filter(_.nonEmpty).foreach(q => amrm.removeContainerRequest(q.dequeue()))
          val container = byId(a.id)
          nodeHttp(a.id) = container.getNodeHttpAddress
          roleOf(a.id) = role
          nm.startContainerAsync(container, WorkerLaunch.forLaunch(launchContext(role)))
        }
        if (decision.release.nonEmpty) log.info(s"Released ${decision.release.size} surplus ${role.name} containers")
      }
      checkFinished()
    }

    override def onContainersCompleted(statuses: java.util.List[ContainerStatus]): Unit = ApplicationMaster.this.synchronized {
      for (s <- statuses.asScala; role <- roleOf.get(s.getContainerId.toString)) {
        val id = s.getContainerId.toString
        role.allocator.onCompleted(Seq(Completion(id, s.getExitStatus, Option(s.getDiagnostics).getOrElse(""))))
        if (role.allocator.info(id).exists(_.outcome.exists(_.isFailure)))
          TokenExpiry.explanation(System.currentTimeMillis(), tokensExpireAt)
            .foreach(role.allocator.explain(id, _))
        role.allocator.info(id).foreach { c =>
          if (c.outcome.exists(_.isFailure)) {
            log.warn(s"${c.id} (${role.name}) on ${c.node}: ${c.message}\nYARN diagnostics: ${s.getDiagnostics}")
            onFailure(role, c)
          } else log.info(s"${c.id} (${role.name}) finished: ${c.message}")
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

    /** Called after every heartbeat's answer: sets the interval of the next. */
    override def getProgress: Float = {
      amrm.setHeartbeatInterval(heartbeats.next(Time.monotonicNow(), waitingOnYarn))
      0.5f
    }

    override def onError(e: Throwable): Unit = {
      log.error("Lost the ResourceManager", e)
      fatal = Some(s"AM error: $e")
      done.countDown()
    }
  }

  private class NmCallbacks extends NMClientAsync.AbstractCallbackHandler {
    override def onContainerStarted(id: ContainerId, response: java.util.Map[String, java.nio.ByteBuffer]): Unit =
      ApplicationMaster.this.synchronized { roleOf.get(id.toString).foreach(_.allocator.onLaunched(id.toString)) }

    override def onStartContainerError(id: ContainerId, t: Throwable): Unit = ApplicationMaster.this.synchronized {
      log.warn(s"Could not start $id", t)
      roleOf.get(id.toString).foreach(_.allocator.onLaunchFailed(id.toString, s"could not start: ${t.getMessage}"))
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
