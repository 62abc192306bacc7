package knit.am

import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.util.Time
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest
import org.apache.hadoop.yarn.client.api.async.{AMRMClientAsync, NMClientAsync}
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, Messages}

object Coordinator {

  /** The ResourceManager calls the coordination makes (AMRMClientAsync's). */
  trait Rm {
    def addContainerRequest(request: ContainerRequest): Unit
    def removeContainerRequest(request: ContainerRequest): Unit
    def releaseAssignedContainer(id: ContainerId): Unit
    def setHeartbeatInterval(ms: Int): Unit
  }

  /** The NodeManager call it makes (NMClientAsync's). */
  trait Nm {
    def startContainerAsync(container: Container, context: ContainerLaunchContext): Unit
  }

  /** What it needs of the staging dir in HDFS. */
  trait Staging {
    /** A role the client staged since the AM started (its role.xml). */
    def role(name: String): Role
    /** The launch context of one of the role's containers. */
    def launchContext(role: Role): ContainerLaunchContext
    /** How many containers each role should have now (`TargetRecord`). */
    def recordTargets(counts: Map[String, Int]): Unit
  }

  /** The application as it was submitted: its main role's count, keep-alive, the hosts
    * node-local asks are spread over and the NodeManagers (host:port) then running,
    * when its delegation tokens die (None: renewed, or they do not). */
  final case class Settings(numContainers: Int, keepAlive: Boolean, nodes: Seq[String],
      nodeIds: Set[String], tokensExpireAt: Option[Long] = None,
      failuresToExclude: Int = AppFiles.NodeFailuresToExclude,
      /** After a client's stop, how long to wait for YARN to report the releases ended. */
      releaseWaitMs: Long = 5000L)
}

/** The ApplicationMaster's coordination: what it asks of YARN, what it launches, how it
  * replaces lost containers (each role from its own budget, `Restarts`) and excludes
  * failing nodes, what the client asks for, and when and how the application finishes.
  * The ApplicationMaster wires it to YARN's clients (`rm`, `nm`; their callbacks are
  * `rmCallbacks` and `nmCallbacks`) and to HDFS (`staging`); tests and the allocation
  * simulation give it recording ones, and clocks of their own: `wallMs` for timestamps
  * and token expiry, `monotonicMs` for heartbeat intervals.
  *
  * Threads: YARN's callback threads and the gateway's all go through methods synchronized
  * on `this`; the AM's main thread waits for `awaitDone`.
  */
final class Coordinator(mainRole: Role, settings: Coordinator.Settings, rm: Coordinator.Rm,
    nm: Coordinator.Nm, staging: Coordinator.Staging,
    wallMs: () => Long = () => System.currentTimeMillis(),
    monotonicMs: () => Long = () => Time.monotonicNow()) {
  private val log = LoggerFactory.getLogger(getClass)
  val heartbeats = new HeartbeatSchedule()
  /** The application's roles by name, the main one first; others are added by Python. */
  private val roles = mutable.LinkedHashMap[String, Role](mainRole.name -> mainRole)
  /** The role of each container, by id. */
  private val roleOf = mutable.Map[String, Role]()
  private val nodeHttp = mutable.Map[String, String]()
  private val exclusion = new NodeExclusion(settings.failuresToExclude)
  /** The variables each container got on top of its role's (`addContainers`), by id;
    * its replacement gets them again. A later attempt does not know those of the
    * containers it takes over, nor those of asks the previous one made. */
  private val variablesOf = mutable.Map[String, Map[String, String]]()
  /** Succeeded containers the client counted as lost (`replaceLost`), each once. */
  private val judgedLost = mutable.Set[String]()
  private val done = new CountDownLatch(1)
  /** Counted down when Python reads the containers after the end (see `awaitFinalRead`). */
  private val finalReportRead = new CountDownLatch(1)
  @volatile private var pythonConnected = false
  @volatile private var fatal: Option[String] = None
  @volatile private var stoppedByClient = false

  // ------------------------------------------------------------------ start and take-over

  /** The first attempt's asks: the main role's containers. */
  def askInitial(): Unit = synchronized {
    addRequests(mainRole, mainRole.allocator.topUp(settings.numContainers, mainRole.defaultSize),
      mainRole.defaultSize)
  }

  /** A later attempt takes over what the previous one left: its staged roles, the running
    * containers YARN kept (`previous`), and asks for what is missing of the counts it
    * recorded (else the initial ones). */
  def takeOver(previous: Seq[Container], staged: Seq[Role], recorded: Map[String, Int]): Unit = synchronized {
    staged.foreach(r => roles(r.name) = r)
    for ((role, theirs) <- previous.groupBy(roleByPriority).collect { case (Some(r), cs) => r -> cs }) {
      role.allocator.adopt(theirs.map(allocated))
      theirs.foreach { c => nodeHttp(c.getId.toString) = c.getNodeHttpAddress; roleOf(c.getId.toString) = role }
      log.info(s"Took over ${theirs.size} ${role.name} containers from the previous attempt")
    }
    for (role <- roles.values) {
      val initial = if (role eq mainRole) settings.numContainers else 0
      val target = recorded.getOrElse(role.name, initial)
      addRequests(role, role.allocator.topUp(target, role.defaultSize), role.defaultSize)
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
          role.requests.get(size).filter(_.nonEmpty).foreach(q => rm.removeContainerRequest(q.dequeue()))
          role.dropVariables(size)
          log.info(s"Took over ${c.getId} from the previous attempt, reported late; withdrew an ask")
        case LateAdoption.Release(id) =>
          rm.releaseAssignedContainer(ContainerId.fromString(id))
          log.info(s"Took over ${c.getId} from the previous attempt, reported late; released $id")
        case LateAdoption.Kept =>
          log.info(s"Took over ${c.getId} from the previous attempt, reported late")
      }
    }
    checkFinished()
  }

  // ------------------------------------------------------------------ the client's calls

  /** From Python: more containers of a role (sizes <= 0 mean the role's default);
    * `variables`, if given, one map per container: what each gets in its environment on
    * top of the role's, in the order YARN grants them. */
  def addContainers(roleName: String, n: Int, memoryMb: Int, vcores: Int,
      variables: Seq[Map[String, String]] = Nil): Unit = synchronized {
    pythonConnected = true
    require(variables.isEmpty || variables.size == n,
      s"give the variables of each container asked for: $n containers, ${variables.size} maps")
    ask(role(roleName), n, memoryMb, vcores, variables)
  }

  /** From Python: withdraw up to `n` asks of a role not yet granted; returns how many. */
  def cancelContainers(roleName: String, n: Int): Int = synchronized {
    pythonConnected = true
    val r = role(roleName)
    var cancelled = 0
    for ((size, queue) <- r.requests if cancelled < n) {
      val k = r.allocator.cancel(math.min(n - cancelled, queue.size), size)
      (1 to k).foreach { _ => rm.removeContainerRequest(queue.dequeue()); r.dropVariables(size) }
      cancelled += k
    }
    if (cancelled > 0) log.info(s"Withdrew $cancelled ${r.name} container requests")
    checkFinished()
    cancelled
  }

  /** From Python: withdraw the ask not yet granted whose container would get `variable` =
    * `value`; false if there is none (it was granted, or never asked). */
  def cancelContainerWith(roleName: String, variable: String, value: String): Boolean = synchronized {
    pythonConnected = true
    val r = role(roleName)
    val i = r.pendingVariables.indexWhere(_._2.get(variable).contains(value))
    val found = i >= 0 && {
      val size = r.pendingVariables.remove(i)._1
      r.allocator.cancel(1, size)
      r.requests.get(size).filter(_.nonEmpty).foreach(q => rm.removeContainerRequest(q.dequeue()))
      log.info(s"Withdrew the ${r.name} container request with $variable=$value")
      true
    }
    checkFinished()
    found
  }

  /** From Python: stop and give back one container; false if it is not a live one of ours. */
  def removeContainer(id: String): Boolean = synchronized {
    val ours = roleOf.get(id).exists(_.allocator.release(id))
    if (ours) rm.releaseAssignedContainer(ContainerId.fromString(id))
    recordTargets()
    ours
  }

  /** From Python: a container that ended with status 0 and whose end the client counts as
    * a loss (a Dask worker that exited unasked) is replaced from its role's restarts, as a
    * failure would be. False when none are left, or it is no such container (or was
    * counted already). */
  def replaceLost(id: String): Boolean = synchronized {
    pythonConnected = true
    val found = for {
      role <- roleOf.get(id)
      c <- role.allocator.info(id) if c.outcome.contains(ExitStatuses.Succeeded) && judgedLost.add(id)
    } yield (role, c)
    found.exists { case (role, c) => replace(role, c, role.restarts.onFailure()) }
  }

  /** From Python: the owner ends the application. Live containers are released (so their
    * ends are no failures) and asks withdrawn; the application finishes once the
    * ResourceManager has reported them all ended (or after `releaseWaitMs`). Unregistering
    * first would leave them running until the AM's own container ends (YARN stops an
    * attempt's containers only then), and its exit can take long: the first AM on a node
    * writes its class-data archive (knit-am.sh), which kept 1,000 containers running 35 s
    * longer in scale.py. */
  def stopApplication(): Unit = synchronized {
    pythonConnected = true
    stoppedByClient = true
    var released = 0
    for (role <- roles.values; c <- role.allocator.containers if role.allocator.release(c.id)) {
      rm.releaseAssignedContainer(ContainerId.fromString(c.id))
      released += 1
    }
    for (role <- roles.values; (size, queue) <- role.requests) {
      val k = role.allocator.cancel(queue.size, size)
      (1 to k).foreach(_ => rm.removeContainerRequest(queue.dequeue()))
      role.pendingVariables.clear()
    }
    log.info(s"Stopped by its client; released $released containers")
    // The releases go with the next heartbeat, their ends come back with the one after.
    rm.setHeartbeatInterval(heartbeats.busy(monotonicMs()))
    val fallback = new Thread(() => {
      if (!done.await(settings.releaseWaitMs, TimeUnit.MILLISECONDS)) {
        log.warn(s"The ResourceManager did not report every released container ended within " +
          s"${settings.releaseWaitMs} ms; finishing")
        done.countDown()
      }
    }, "release-wait")
    fallback.setDaemon(true)
    fallback.start()
    checkFinished()
  }

  /** The containers and each role's restarts; `finished` tells Python the list is final. */
  def containerList(attempt: Int, amContainer: String, amNodeHttp: String): Messages.ContainerList = synchronized {
    pythonConnected = true
    val finished = done.getCount == 0
    if (finished) finalReportRead.countDown()
    Messages.ContainerList(finished, attempt, containerRecords, amContainer, amNodeHttp,
      roles.values.map(r => r.name -> Messages.RoleRestarts(r.restarts.maxRestarts,
        r.restarts.restartsUsed, r.restarts.unreplacedFailures)).toMap)
  }

  /** Every container the application has had, oldest first. */
  def containerRecords: Seq[Messages.Container] = synchronized {
    val all = roles.values.toSeq.flatMap(r => r.allocator.containers.map(r -> _)).sortBy(_._2.allocatedAt)
    all.map { case (r, c) =>
      Messages.Container(id = c.id, role = r.name, node = c.node, nodeHttp = nodeHttp.getOrElse(c.id, ""),
        state = c.state, memoryMb = c.resources.memoryMb, vcores = c.resources.vcores,
        allocatedAt = c.allocatedAt, exitStatus = c.exitStatus, outcome = c.outcome.map(ExitStatuses.wireName),
        diagnostics = c.message, launchedAt = c.launchedAt, finishedAt = c.finishedAt,
        envvars = variablesOf.getOrElse(c.id, Map.empty))
    }
  }

  /** Requests not granted yet: {role: {"<memory>x<vcores>": count}}. */
  def pending(): Map[String, Map[String, Int]] = synchronized {
    roles.values.map(r => r.name -> r.allocator.outstanding.map { case (size, n) =>
      s"${size.memoryMb}x${size.vcores}" -> n }).toMap
  }

  /** The NodeManager web address of one of the application's containers. */
  def nodeHttpOf(id: String): Option[String] = synchronized(nodeHttp.get(id))

  def allRoles: Seq[Role] = synchronized(roles.values.toList)

  def excludedNodes: Set[String] = synchronized(exclusion.excluded)

  // ------------------------------------------------------------------ the end

  /** Ends the application with FAILED and `reason`; true if it is the first reason given
    * (the one it ends with). */
  def fail(reason: String): Boolean = {
    val first = synchronized { fatal.isEmpty && { fatal = Some(reason); true } }
    done.countDown()
    first
  }

  def isDone: Boolean = done.getCount == 0

  def awaitDone(): Unit = done.await()

  /** After the end, gives a watching Python up to `graceMs` to read the final list (the
    * ResourceManager forgets containers once the AM unregisters). */
  def awaitFinalRead(graceMs: Long): Unit =
    if (pythonConnected) finalReportRead.await(graceMs, TimeUnit.MILLISECONDS)

  private def allContainers: Seq[ContainerInfo] = roles.values.toSeq.flatMap(_.allocator.containers)

  /** The final status to unregister with, and why. */
  def outcome(): (FinalApplicationStatus, String) = synchronized {
    val unreplaced = roles.values.map(_.restarts.unreplacedFailures).sum
    val replaced = roles.values.map(_.restarts.restartsUsed).sum
    fatal match {
      case Some(reason) => (FinalApplicationStatus.FAILED, reason)
      case None if stoppedByClient =>
        (FinalApplicationStatus.SUCCEEDED, s"stopped by its client (${allContainers.size} containers)")
      // A failure that was replaced does not fail the application; its replacement counts.
      case None if unreplaced == 0 =>
        val note = if (replaced > 0) s" ($replaced failed and were replaced)" else ""
        (FinalApplicationStatus.SUCCEEDED, s"${allContainers.size} containers finished$note")
      case None =>
        allContainers.filter(_.outcome.exists(_.isFailure)) match {
          case Seq() => (FinalApplicationStatus.FAILED,
            s"$unreplaced of ${allContainers.size} containers were lost and not replaced")
          case failed => (FinalApplicationStatus.FAILED, s"${failed.size} of ${allContainers.size} " +
            s"containers failed; first: ${failed.head.id}: ${failed.head.message}")
        }
    }
  }

  // ------------------------------------------------------------------ asking and replacing

  private def allocated(c: Container) = Allocated(c.getId.toString, c.getNodeId.toString,
    Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores))

  /** The role whose requests carry `c`'s priority, if any. */
  private def roleByPriority(c: Container): Option[Role] =
    roles.values.find(_.priority == c.getPriority.getPriority)

  /** The role called `name`; one the client staged since this AM started is loaded. */
  private def role(name: String): Role = synchronized {
    roles.getOrElse(name, {
      val r = staging.role(name)
      require(!roles.values.exists(_.priority == r.priority), s"role $name reuses priority ${r.priority}")
      roles(name) = r
      log.info(s"Role $name: containers of ${r.defaultSize}, priority ${r.priority}, " +
        s"${r.restarts.maxRestarts} restarts")
      r
    })
  }

  private def ask(role: Role, n: Int, memoryMb: Int, vcores: Int,
      variables: Seq[Map[String, String]] = Nil): Unit = synchronized {
    require(n >= 0, s"the number of containers must be >= 0, got $n")
    val size = Resources(if (memoryMb > 0) memoryMb else role.defaultSize.memoryMb,
      if (vcores > 0) vcores else role.defaultSize.vcores)
    role.allocator.request(n, size)
    addRequests(role, n, size, variables)
  }

  /** Sends YARN `n` asks of `size` for `role` (its allocator already counts them), the
    * containers to get `variables` (one map each; none: none). */
  private def addRequests(role: Role, n: Int, size: Resources,
      variables: Seq[Map[String, String]] = Nil): Unit = synchronized {
    if (n == 0) return
    role.pendingVariables ++= (0 until n).map(i => size -> variables.lift(i).getOrElse(Map.empty[String, String]))
    val capability = Resource.newInstance(size.memoryMb.toLong, size.vcores)
    role.otherResources.foreach { case (name, n) => capability.setResourceValue(name, n.toLong) }
    // Node-local asks where the nodes are known: the capacity scheduler places any number
    // of node-local containers per heartbeat, but only one off-switch one.
    val preferred: Seq[Array[String]] =
      if (settings.nodes.isEmpty) Seq.fill(n)(null) else role.allocator.placements(n, settings.nodes).map(Array(_))
    preferred.foreach { where =>
      val request = new ContainerRequest(capability, where, null, Priority.newInstance(role.priority), true)
      role.requests.getOrElseUpdate(size, mutable.Queue.empty).enqueue(request)
      rm.addContainerRequest(request)
    }
    rm.setHeartbeatInterval(heartbeats.busy(monotonicMs()))
    recordTargets()
    log.info(s"Asked for $n ${role.name} containers of $size")
  }

  private def recordTargets(): Unit = staging.recordTargets(roles.values.map(r => r.name -> r.desiredCount).toMap)

  /** Whether asks are outstanding, or released containers wait for YARN's word. */
  private def waitingOnYarn: Boolean = synchronized {
    stoppedByClient || roles.values.exists(_.allocator.outstanding.nonEmpty)
  }

  /** Ends the application when no role has anything left to do (unless kept alive). */
  private def checkFinished(): Unit = {
    recordTargets()
    rm.setHeartbeatInterval(heartbeats.next(monotonicMs(), waitingOnYarn))
    val idle = roles.values.forall(_.allocator.isIdle)
    val finished = roles.values.exists(_.allocator.hasRequested) && idle
    if ((finished && !keepAlive) || (stoppedByClient && idle)) done.countDown()
  }

  private def keepAlive = settings.keepAlive

  /** A failed container: replace it (its role's restarts) and stop using a node that keeps failing. */
  private def onFailure(role: Role, c: ContainerInfo): Unit = {
    val hopeless = TokenExpiry.replacementWouldFail(wallMs(), settings.tokensExpireAt)
    if (hopeless) log.warn(s"Not replacing ${c.id}: a new container would get the same expired delegation tokens")
    exclusion.onFailure(c.node, settings.nodeIds + c.node)
      .foreach(n => log.warn(s"Excluding node $n: containers keep failing there"))
    replace(role, c, role.restarts.onFailure(replaceable = !hopeless))
  }

  private def replace(role: Role, c: ContainerInfo, allowed: Boolean): Boolean = {
    val r = role.restarts
    if (allowed) {
      log.info(s"Replacing ${c.id} (${role.name} restart ${r.restartsUsed} of ${r.maxRestarts})")
      ask(role, 1, c.resources.memoryMb, c.resources.vcores, variablesOf.get(c.id).toSeq)
    } else log.warn(s"Not replacing ${c.id} (${role.name}: ${r.restartsUsed} of ${r.maxRestarts} " +
      s"restarts used, ${r.unreplacedFailures} lost and not replaced)")
    allowed
  }

  /** YARN placed a container on an excluded node: give it back and renew the ask it filled
    * (AMRMClient only resends an ask whose count it sees change). */
  private def askAgainElsewhere(c: Container): Unit = {
    rm.releaseAssignedContainer(c.getId)
    val got = Resources(c.getResource.getMemorySize.toInt, c.getResource.getVirtualCores)
    for (role <- roleByPriority(c)) {
      val requests = role.requests
      val filled = requests.keys.filter(r => r.memoryMb <= got.memoryMb && r.vcores <= got.vcores)
        .filter(r => requests(r).nonEmpty).toSeq.sortBy(r => (r.memoryMb, r.vcores)).headOption
      filled.foreach { size =>
        val old = requests(size).dequeue()
        rm.removeContainerRequest(old)
        val hosts = Option(old.getNodes).map(_.asScala.toArray).orNull
        val again = new ContainerRequest(old.getCapability, hosts, null, old.getPriority, true)
        requests(size).enqueue(again)
        rm.addContainerRequest(again)
      }
    }
    log.info(s"Released ${c.getId} on excluded node ${c.getNodeId}; asked again")
  }

  // ------------------------------------------------------------------ YARN's callbacks

  /** The ResourceManager's callbacks (AMRMClientAsync's heartbeat thread calls them). */
  val rmCallbacks: AMRMClientAsync.AbstractCallbackHandler = new AMRMClientAsync.AbstractCallbackHandler {
    override def onContainersAllocated(all: java.util.List[Container]): Unit = Coordinator.this.synchronized {
      val (onExcluded, given) = all.asScala.partition(c => exclusion(c.getNodeId.toString))
      if (all.size > 0) heartbeats.busy(monotonicMs()) // more may follow
      onExcluded.foreach(askAgainElsewhere)
      val byId = given.map(c => c.getId.toString -> c).toMap
      val (known, unknown) = given.toSeq.partition(roleByPriority(_).isDefined)
      unknown.foreach(c => rm.releaseAssignedContainer(c.getId)) // no role asked for it
      for ((role, theirs) <- known.groupBy(roleByPriority(_).get)) {
        val decision = role.allocator.onAllocated(theirs.map(allocated))
        decision.release.foreach(id => rm.releaseAssignedContainer(byId(id).getId))
        decision.launch.foreach { case (a, asked) =>
          role.requests.get(asked).filter(_.nonEmpty).foreach(q => rm.removeContainerRequest(q.dequeue()))
          val container = byId(a.id)
          nodeHttp(a.id) = container.getNodeHttpAddress
          roleOf(a.id) = role
          val variables = role.takeVariables(asked)
          if (variables.nonEmpty) variablesOf(a.id) = variables
          nm.startContainerAsync(container, WorkerLaunch.withVariables(staging.launchContext(role), variables))
        }
        if (decision.release.nonEmpty) log.info(s"Released ${decision.release.size} surplus ${role.name} containers")
      }
      checkFinished()
    }

    override def onContainersCompleted(statuses: java.util.List[ContainerStatus]): Unit = Coordinator.this.synchronized {
      for (s <- statuses.asScala; role <- roleOf.get(s.getContainerId.toString)) {
        val id = s.getContainerId.toString
        role.allocator.onCompleted(Seq(Completion(id, s.getExitStatus, Option(s.getDiagnostics).getOrElse(""))))
        if (role.allocator.info(id).exists(_.outcome.exists(_.isFailure)))
          TokenExpiry.explanation(wallMs(), settings.tokensExpireAt).foreach(role.allocator.explain(id, _))
        role.allocator.info(id).foreach { c =>
          if (c.outcome.exists(_.isFailure)) {
            log.warn(s"${c.id} (${role.name}) on ${c.node}: ${c.message}\nYARN diagnostics: ${s.getDiagnostics}")
            onFailure(role, c)
          } else if (c.outcome.contains(ExitStatuses.Preempted) && !stoppedByClient) {
            // Not the command's fault: replaced, whatever restarts are left.
            log.warn(s"${c.id} (${role.name}) on ${c.node} was preempted; asking for another")
            ask(role, 1, c.resources.memoryMb, c.resources.vcores, variablesOf.get(c.id).toSeq)
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
      fail("shut down by the ResourceManager")
    }

    override def onNodesUpdated(updated: java.util.List[NodeReport]): Unit = ()

    /** Called after every heartbeat's answer: sets the interval of the next. */
    override def getProgress: Float = {
      rm.setHeartbeatInterval(heartbeats.next(monotonicMs(), waitingOnYarn))
      0.5f
    }

    override def onError(e: Throwable): Unit = {
      log.error("Lost the ResourceManager", e)
      fail(s"AM error: $e")
    }
  }

  /** The NodeManagers' callbacks (NMClientAsync's threads call them). */
  val nmCallbacks: NMClientAsync.AbstractCallbackHandler = new NMClientAsync.AbstractCallbackHandler {
    override def onContainerStarted(id: ContainerId, response: java.util.Map[String, java.nio.ByteBuffer]): Unit =
      Coordinator.this.synchronized { roleOf.get(id.toString).foreach(_.allocator.onLaunched(id.toString)) }

    override def onStartContainerError(id: ContainerId, t: Throwable): Unit = Coordinator.this.synchronized {
      log.warn(s"Could not start $id", t)
      roleOf.get(id.toString).foreach(_.allocator.onLaunchFailed(id.toString, s"could not start: ${t.getMessage}"))
      rm.releaseAssignedContainer(id)
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
