package knit.am

import scala.collection.mutable

/** A container size: memory in MB and virtual cores. */
final case class Resources(memoryMb: Int, vcores: Int)

/** A container YARN gave us. */
final case class Allocated(id: String, node: String, resources: Resources)

/** A container that finished, with YARN's exit status and diagnostics. */
final case class Completion(id: String, exitStatus: Int, diagnostics: String)

/** What the application knows about one of its containers.
  *
  * `state` is one of [[Allocator.ALLOCATED]], [[Allocator.RUNNING]] or [[Allocator.COMPLETED]];
  * `exitStatus`, `outcome` and `finishedAt` are set once it is completed.
  */
final case class ContainerInfo(id: String, node: String, resources: Resources, state: String,
    exitStatus: Option[Int], outcome: Option[ExitStatuses.Outcome], message: String,
    allocatedAt: Long, launchedAt: Option[Long], finishedAt: Option[Long])

/** What to do with a batch of allocated containers.
  *
  * @param launch  containers to start, each with the size that was asked for the request it
  *                filled, so the caller can remove exactly that request from YARN
  * @param release surplus container ids to hand back to YARN unused
  */
final case class Decision(launch: Seq[(Allocated, Resources)], release: Seq[String])

/** What to undo when the ResourceManager reports a running container of a previous attempt
  * only after the top-up (see [[Allocator.topUp]]) asked for a container in its place. */
sealed trait LateAdoption

object LateAdoption {

  /** Nothing to undo: no top-up was owed for it, or the top-up's container already runs (the
    * application then has one container more than asked). */
  case object Kept extends LateAdoption

  /** Withdraw one outstanding ask of this size from YARN (the allocator already did). */
  final case class Withdraw(size: Resources) extends LateAdoption

  /** Give back this container, granted for the top-up and not yet running (the allocator
    * already counts it as released by us, so its end is no failure). */
  final case class Release(id: String) extends LateAdoption
}

object Allocator {

  val ALLOCATED: String = knit.common.ContainerStates.Allocated
  val RUNNING: String = knit.common.ContainerStates.Running
  val COMPLETED: String = knit.common.ContainerStates.Completed
}

/** The ApplicationMaster's container bookkeeping: what was asked for, what YARN gave, and how
  * each container ended.
  *
  * Pure and thread-agnostic: it does no I/O and the caller must synchronize access.
  *
  * @param clock the time source for the timestamps in [[ContainerInfo]], in milliseconds
  */
class Allocator(clock: () => Long = () => System.currentTimeMillis()) {
  import Allocator._

  private val wanted = mutable.Map.empty[Resources, Int]
  // Insertion order is allocation order; updating an entry keeps its place.
  private val tracked = mutable.LinkedHashMap.empty[String, ContainerInfo]
  private val releasedByUs = mutable.Set.empty[String]
  // Kept with every change of `tracked` (see `put`), so that a heartbeat's questions cost
  // nothing per container: with thousands tracked they are asked several times a beat.
  private var liveCount = 0
  private var liveReleasedCount = 0
  private val liveOn = mutable.Map.empty[String, Int].withDefaultValue(0)
  private var everRequested = false
  // Top-up containers that a late report of a previous attempt's container makes surplus.
  private var topUpSize = Resources(0, 0)
  private var topUpOpen = 0

  /** Asks for `n` more containers of size `res`, added to what is already outstanding. */
  def request(n: Int, res: Resources): Unit = {
    require(n >= 0, s"cannot request a negative number of containers: $n")
    if (n > 0) {
      wanted(res) = wanted.getOrElse(res, 0) + n
      everRequested = true
    }
  }

  /** How many containers the application should have: live ones it keeps, plus asks. */
  def desiredCount: Int = liveCount - liveReleasedCount + wanted.values.sum

  /** Containers asked for and not yet allocated, by size; sizes with none are left out. */
  def outstanding: Map[Resources, Int] = wanted.toMap

  /** Drops up to `n` outstanding requests of size `res`; returns how many were dropped. */
  def cancel(n: Int, res: Resources): Int = {
    require(n >= 0, s"cannot cancel a negative number of containers: $n")
    val have = wanted.getOrElse(res, 0)
    val dropped = math.min(n, have)
    setWanted(res, have - dropped)
    dropped
  }

  /** Matches newly allocated containers to outstanding requests.
    *
    * Each container fills the smallest outstanding request it can hold, since YARN rounds
    * sizes up (ask 300 MB, get 1024 MB). Matched containers are tracked as ALLOCATED and
    * returned to launch; the rest are surplus, never tracked, and returned to release.
    */
  def onAllocated(given: Seq[Allocated]): Decision = {
    val now = clock()
    val launch = Seq.newBuilder[(Allocated, Resources)]
    val release = Seq.newBuilder[String]
    for (c <- given if !tracked.contains(c.id)) { // a repeated id is already ours: keep it
      smallestFitting(c.resources) match {
        case Some(asked) =>
          setWanted(asked, wanted(asked) - 1)
          put(ContainerInfo(c.id, c.node, c.resources, ALLOCATED, None, None, "",
            now, None, None))
          launch += (c -> asked)
        case None =>
          release += c.id
      }
    }
    Decision(launch.result(), release.result())
  }

  /** Takes over containers a previous attempt of this AM started (YARN kept them running):
    * they are tracked as RUNNING and count towards what was asked. */
  def adopt(running: Seq[Allocated]): Unit = {
    val now = clock()
    for (c <- running if !tracked.contains(c.id)) {
      put(ContainerInfo(c.id, c.node, c.resources, RUNNING, None, None,
        "started by a previous attempt of the ApplicationMaster", now, Some(now), None))
      everRequested = true
    }
  }

  /** Asks for what `target` lacks, as containers of size `res`, counting the live
    * containers (on a later attempt of the AM: those adopted from the previous one); returns
    * how many were asked. A container of the previous attempt reported after this is
    * reconciled with these asks by [[adoptLate]].
    */
  def topUp(target: Int, res: Resources): Int = {
    require(target >= 0, s"cannot top up to a negative number of containers: $target")
    val n = math.max(0, target - tracked.values.count(isLive))
    request(n, res)
    topUpSize = res
    topUpOpen += n
    n
  }

  /** Adopts a running container of a previous attempt that the ResourceManager reported after
    * registration (it does so for containers it learns of late, e.g. from NodeManagers that
    * re-register after it restarted). If the top-up asked for a container in its place, one
    * of those is undone: an outstanding ask is withdrawn, else a top-up container not yet
    * running is released, else (it already runs) both are kept.
    */
  def adoptLate(c: Allocated): LateAdoption = {
    if (tracked.contains(c.id)) return LateAdoption.Kept // already known
    adopt(Seq(c))
    if (topUpOpen == 0) LateAdoption.Kept
    else {
      topUpOpen -= 1
      if (cancel(1, topUpSize) == 1) LateAdoption.Withdraw(topUpSize)
      else {
        // The newest container granted for the top-up size whose launch has not completed.
        val notRunning = tracked.values.filter(t => t.state == ALLOCATED && !releasedByUs(t.id) &&
          fits(topUpSize, t.resources)).lastOption
        notRunning match {
          case Some(t) =>
            markReleased(t.id)
            LateAdoption.Release(t.id)
          case None => LateAdoption.Kept
        }
      }
    }
  }

  /** Records that the container's launch succeeded: ALLOCATED becomes RUNNING. */
  def onLaunched(id: String): Unit =
    tracked.get(id).filter(_.state == ALLOCATED).foreach { c =>
      put(c.copy(state = RUNNING, launchedAt = Some(clock())))
    }

  /** Records that the container could not be launched: it is completed with a Failed outcome
    * and `reason` as its message. A container the application already released counts as
    * Released instead, since stopping it may be what broke the launch.
    */
  def onLaunchFailed(id: String, reason: String): Unit =
    tracked.get(id).filter(_.state != COMPLETED).foreach { c =>
      val outcome = if (releasedByUs(id)) ExitStatuses.Released else ExitStatuses.Failed
      put(c.copy(state = COMPLETED, exitStatus = None, outcome = Some(outcome),
        message = reason, finishedAt = Some(clock())))
    }

  /** Records finished containers, classified by [[ExitStatuses.classify]].
    *
    * Unknown ids (such as surplus we released) are ignored, and so are containers already
    * completed, so a launch failure's reason is not overwritten by YARN's later report.
    */
  def onCompleted(done: Seq[Completion]): Unit = {
    val now = clock()
    for (d <- done; c <- tracked.get(d.id) if c.state != COMPLETED) {
      val (outcome, message) = ExitStatuses.classify(d.exitStatus, d.diagnostics,
        releasedByUs(d.id), c.resources.memoryMb)
      put(c.copy(state = COMPLETED, exitStatus = Some(d.exitStatus),
        outcome = Some(outcome), message = message, finishedAt = Some(now)))
    }
  }

  /** Adds `why` to a completed container's message: what the application knows of its
    * failure that YARN's exit status does not say. */
  def explain(id: String, why: String): Unit =
    tracked.get(id).filter(_.state == COMPLETED).foreach { c =>
      put(c.copy(message = s"${c.message}; $why"))
    }

  /** Marks a container as released at the user's wish, so its end is not a failure.
    *
    * @return true if the container is ours and not completed; the caller then asks YARN
    *         to release it
    */
  def release(id: String): Boolean =
    tracked.get(id).exists(_.state != COMPLETED) && { markReleased(id); true }

  /** One tracked container, by id. */
  def info(id: String): Option[ContainerInfo] = tracked.get(id)

  /** Every container ever tracked, in allocation order. */
  def containers: Seq[ContainerInfo] = tracked.values.toSeq

  /** Completed containers whose outcome is a failure. */
  def failed: Seq[ContainerInfo] = containers.filter(_.outcome.exists(_.isFailure))

  /** "FAILED" if any container failed, else "SUCCEEDED". */
  def finalStatus: String = if (failed.nonEmpty) "FAILED" else "SUCCEEDED"

  /** True once something was requested, nothing is outstanding and no container is live. */
  def isFinished: Boolean = hasRequested && isIdle

  /** Whether anything was ever asked for (or adopted). */
  def hasRequested: Boolean = everRequested

  /** Nothing outstanding and no live container. */
  def isIdle: Boolean = wanted.isEmpty && liveCount == 0

  /** Preferred nodes for `n` new requests, spread out: each pick is the node with the fewest
    * live containers plus picks so far, ties going to the earlier node in `nodes` (hosts:
    * a container on NodeManager host:port counts for its host).
    */
  def placements(n: Int, nodes: Seq[String]): Seq[String] = {
    require(n >= 0, s"cannot place a negative number of containers: $n")
    if (nodes.isEmpty) Seq.empty
    else {
      // The least loaded node first, the earlier one on ties: (load, position) in a heap.
      val byLoad = mutable.PriorityQueue.empty[(Int, Int)](Ordering[(Int, Int)].reverse)
      nodes.iterator.zipWithIndex.foreach { case (node, i) => byLoad.enqueue((liveOn(node), i)) }
      Seq.fill(n) {
        val (load, i) = byLoad.dequeue()
        byLoad.enqueue((load + 1, i))
        nodes(i)
      }
    }
  }

  /** Every change to `tracked` goes through here: it keeps the live counts. */
  private def put(c: ContainerInfo): Unit = {
    val wasLive = tracked.get(c.id).exists(isLive)
    tracked(c.id) = c
    if (wasLive != isLive(c)) {
      val step = if (isLive(c)) 1 else -1
      liveCount += step
      val host = hostOf(c.node)
      liveOn(host) += step
      if (liveOn(host) == 0) liveOn.remove(host)
      if (releasedByUs(c.id)) liveReleasedCount += step
    }
  }

  /** The host of a node: YARN names a container's node by its NodeManager, host:port;
    * placements are over hosts, which node-local asks name. */
  private def hostOf(node: String): String = {
    val colon = node.lastIndexOf(':')
    if (colon > 0) node.substring(0, colon) else node
  }

  private def markReleased(id: String): Unit =
    if (releasedByUs.add(id) && tracked.get(id).exists(isLive)) liveReleasedCount += 1

  private def isLive(c: ContainerInfo): Boolean = c.state == ALLOCATED || c.state == RUNNING

  private def fits(asked: Resources, got: Resources): Boolean =
    asked.memoryMb <= got.memoryMb && asked.vcores <= got.vcores

  private def smallestFitting(got: Resources): Option[Resources] = {
    val candidates = wanted.keys.filter(fits(_, got))
    if (candidates.isEmpty) None else Some(candidates.minBy(r => (r.memoryMb, r.vcores)))
  }

  // Keeps zero counts out of the map so `outstanding` and `isFinished` stay simple.
  private def setWanted(res: Resources, n: Int): Unit =
    if (n > 0) wanted(res) = n else wanted.remove(res)
}
