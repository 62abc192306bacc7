package knit.am

import java.lang.management.ManagementFactory
import java.net.InetAddress
import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.jdk.CollectionConverters._

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

/** The knit ApplicationMaster's wiring: builds YARN's clients and hands them to the
  * `Coordinator` (what to ask, launch, replace and when to finish), registers, answers
  * Python over an authenticated gateway, serves the tracking page, keeps the client's
  * lease, renews tokens, and removes the staging dir at the end.
  */
class ApplicationMaster(conf: YarnConfiguration, staged: StagedApp,
    gatewayTls: java.util.concurrent.Future[javax.net.ssl.SSLContext]) {
  private val spec = staged.spec
  private val log = LoggerFactory.getLogger(getClass)
  private val FinalReportGraceMs = 10000L

  private val stagingDir = new Path(staged.stagingDir)
  private val mainRole = Role.main(stagingDir,
    Resources(spec.memory, spec.vcores), spec.resources, spec.maxRestarts)
  // Open once this attempt holds what the previous one left (see `run`): a client that
  // reconnects to a later attempt must not see it without its adopted containers, or it
  // would ask again for what runs.
  private val tookOver = new CountDownLatch(1)
  // Lease and heartbeat intervals are durations: on the monotonic clock, which a step of
  // the wall clock (NTP, a VM restored from a snapshot) leaves alone.
  private val lease = new Lease(spec.leaseMs, Time.monotonicNow())

  /** Started with a keytab on a Kerberized cluster: renews delegation tokens (TokenRenewal). */
  private val keytabPrincipal: Option[String] = spec.principal
    .filter(_ => staged.renewsTokens && new java.io.File(AppFiles.Keytab).isFile)
  /** When the tokens of an application without a keytab die (nothing renews them past
    * their maximum lifetime); containers failing after it are told why (TokenExpiry). */
  private val tokensExpireAt: Option[Long] =
    if (keytabPrincipal.isDefined) None
    else DelegationTokens.earliestMaxDate(UserGroupInformation.getCurrentUser.getCredentials)
  /** Guards the roles' launch templates alone: building one reads HDFS, which must not
    * hold up the coordination (taken after the Coordinator's lock, never before it). */
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

  /** The coordination, on YARN's real clients (built below: their callbacks are its own). */
  val coordinator: Coordinator = new Coordinator(mainRole,
    Coordinator.Settings(spec.numContainers, spec.keepAlive, staged.nodes, staged.nodeIds.toSet, tokensExpireAt),
    new Coordinator.Rm {
      def addContainerRequest(r: ContainerRequest): Unit = amrm.addContainerRequest(r)
      def removeContainerRequest(r: ContainerRequest): Unit = amrm.removeContainerRequest(r)
      def releaseAssignedContainer(id: ContainerId): Unit = amrm.releaseAssignedContainer(id)
      def setHeartbeatInterval(ms: Int): Unit = amrm.setHeartbeatInterval(ms)
    },
    new Coordinator.Nm {
      def startContainerAsync(c: Container, ctx: ContainerLaunchContext): Unit = nm.startContainerAsync(c, ctx)
    },
    new Coordinator.Staging {
      def role(name: String): Role = Role.staged(conf, stagingDir, name)
      def launchContext(role: Role): ContainerLaunchContext = WorkerLaunch.forLaunch(ApplicationMaster.this.launchContext(role))
      def recordTargets(counts: Map[String, Int]): Unit = targetRecord.update(counts)
    })
  // Starts fast: the first asks go out right after registration, and the heartbeat thread
  // only sees a new interval after its current sleep.
  private lazy val amrm = AMRMClientAsync.createAMRMClientAsync[ContainerRequest](
    coordinator.heartbeats.fastMs, coordinator.rmCallbacks)
  private lazy val nm = NMClientAsync.createNMClientAsync(coordinator.nmCallbacks)
  // By default the NodeManager client's stop stops every container it started, one RPC at
  // a time, while this AM, unregistered, still runs (1,000 containers: over 30 s before
  // the application could end). YARN ends them itself, on every node at once, when the
  // application ends; and a failed attempt's containers are the next attempt's to adopt.
  nm.getClient.cleanupRunningContainersOnStop(false)
  amrm // built now, as the Coordinator's calls may come from any thread

  private val tokenRenewal = keytabPrincipal.map(p => new TokenRenewal(conf, p,
    new java.io.File(AppFiles.Keytab), new Path(stagingDir, AppFiles.TokensDir),
    _ => {
      val roles = coordinator.allRoles // before launchLock, which is taken after the Coordinator's
      launchLock.synchronized {
        roles.foreach(r => r.launchTemplate = Some(WorkerLaunch.withCurrentTokens(launchContext(r))))
      }
    }))

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
      if (attempt == 1) coordinator.askInitial()
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
      // before the callbacks see any late report. Only a previous attempt can have staged
      // roles or recorded counts (and reading HDFS costs time).
      if (attempt > 1) coordinator.takeOver(registration.getContainersFromPreviousAttempts.asScala.toSeq,
        RoleFiles.stagedNames(conf, stagingDir).map(Role.staged(conf, stagingDir, _)), targetRecord.read())
      tookOver.countDown()
      gatewayTls.get() // a TLS context that cannot be made fails the AM (its gateway is useless)
      log.info(s"Gateway TLS ready at ${ManagementFactory.getRuntimeMXBean.getUptime} ms")
      ClassArchive.checkInBackground() // after the first asks: it is not on their way
      val leaseWatch = watchLease()
      coordinator.awaitDone()
      page.thenAccept(_.foreach(_.stop()))
      leaseWatch.shutdownNow()
      nodeWatch.foreach(_.shutdownNow())
      tokenRenewal.foreach(_.stop())
      // The ResourceManager forgets containers once we unregister: give a watching Python
      // a moment to read their final states (wait_for_completion does at once).
      if (!lease.expired(Time.monotonicNow())) coordinator.awaitFinalRead(FinalReportGraceMs)
      val (status, message) = coordinator.outcome()
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

  /** The containers and the roles' restarts, as `Messages.ContainerList`. */
  def containerList(): Messages.ContainerList = coordinator.containerList(attempt, ownContainer, ownNodeHttp)

  /** From Python: a file from a container's log dir, through its NodeManager. */
  def readLogFile(containerId: String, name: String): String = {
    require(name.nonEmpty && !name.contains('/') && name != "." && name != "..",
      s"not a file name: $name")
    val where = coordinator.nodeHttpOf(containerId)
      .getOrElse(throw new IllegalArgumentException(s"not a container of this application: $containerId"))
    knit.common.LiveLogs.read(conf, Seq(containerId -> where), Seq(name))
      .logs.get(containerId).flatMap(_.get(name)).getOrElse("")
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
      if (lease.expired(now)) {
        val why = s"The client that started this application stopped renewing its lease " +
          s"${lease.silentForMs(now) / 1000} s ago (it died?); ended so that nothing is left " +
          "running. Start with detached=True to outlive the client."
        if (coordinator.fail(why)) log.warn(why)
      }
    }, 1, 1, TimeUnit.SECONDS)
    timer
  }

  /** Links the client gave for the tracking page (name -> URL), e.g. the Dask dashboard. */
  private val links = new java.util.concurrent.ConcurrentHashMap[String, String]()
  def setLink(name: String, url: String): Unit = {
    require(url.startsWith("http://") || url.startsWith("https://"), s"not an http(s) URL: $url")
    links.put(name, url)
  }
  def pageLinks: Map[String, String] = links.asScala.toMap
}
