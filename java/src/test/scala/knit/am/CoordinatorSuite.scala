package knit.am

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.hadoop.fs.Path
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest
import org.apache.hadoop.yarn.util.Records
import org.scalatest.funsuite.AnyFunSuite

import knit.common.Messages.RoleRestarts

/** The ApplicationMaster's coordination, driven through the callbacks YARN's clients call,
  * with recording clients in their place and clocks the tests move. */
class CoordinatorSuite extends AnyFunSuite {
  import CoordinatorSuite._

  test("the first attempt asks for its containers, node-local and spread over the nodes") {
    val f = new Fixture(numContainers = 3)
    f.c.askInitial()
    assert(f.rm.asked.size == 3)
    assert(f.rm.asked.map(_.getNodes.asScala.toSeq).toSet == Set(Seq("n1"), Seq("n2"), Seq("n3")))
    assert(f.rm.asked.forall(r => r.getPriority.getPriority == 1 && r.getCapability.getMemorySize == 1024))
    assert(f.staging.targets == Map("main" -> 3))
    assert(f.rm.interval == f.c.heartbeats.fastMs)
  }

  test("more asks prefer the hosts with fewest containers") {
    val f = new Fixture(numContainers = 1, keepAlive = true)
    f.c.askInitial()
    f.running("n1")
    f.c.addContainers("main", 2, 0, 0)
    assert(f.rm.asked.map(_.getNodes.asScala.toSeq) == Seq(Seq("n2"), Seq("n3")))
  }

  test("an allocation is launched and removes the ask it filled; surplus is released") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    val (a, b) = (f.container(), f.container())
    f.allocate(a, b)
    assert(f.nm.started == Seq(a.getId.toString))
    assert(f.rm.asked.isEmpty)
    assert(f.rm.released == Seq(b.getId.toString))
    assert(f.record(a).state == Allocator.ALLOCATED && f.record(a).nodeHttp == "n1:8042")
    f.started(a)
    assert(f.record(a).state == Allocator.RUNNING)
    assert(f.c.containerRecords.map(_.id) == Seq(a.getId.toString))
  }

  test("a container of a priority no role asked for is released, not launched") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    val stray = f.container(priority = 7)
    f.allocate(stray)
    assert(f.nm.started.isEmpty && f.rm.released == Seq(stray.getId.toString))
    assert(f.rm.asked.size == 1)
  }

  test("a failed container is replaced within its role's budget and not beyond") {
    val f = new Fixture(numContainers = 1, maxRestarts = 1)
    f.c.askInitial()
    val first = f.running()
    f.complete(first, 1)
    assert(f.rm.asked.size == 1, "one replacement asked")
    assert(f.restarts("main") == RoleRestarts(1, 1, 0))
    assert(!f.c.isDone)
    val second = f.running()
    f.complete(second, 1)
    assert(f.rm.asked.isEmpty, "no restarts left")
    assert(f.restarts("main") == RoleRestarts(1, 1, 1))
    assert(f.c.isDone) // nothing left to run
    val (status, message) = f.c.outcome()
    assert(status == FinalApplicationStatus.FAILED)
    assert(message.startsWith(s"2 of 2 containers failed; first: ${first.getId}: command exited with status 1"), message)
  }

  test("replaced failures do not fail the application") {
    val f = new Fixture(numContainers = 1, maxRestarts = 2)
    f.c.askInitial()
    f.complete(f.running(), 1)
    f.complete(f.running(), 0)
    assert(f.c.isDone)
    assert(f.c.outcome() == (FinalApplicationStatus.SUCCEEDED, "2 containers finished (1 failed and were replaced)"))
  }

  test("a node where 3 containers failed is excluded: what YARN puts there is given back and asked again") {
    val f = new Fixture(numContainers = 1, maxRestarts = 10)
    f.c.askInitial()
    for (_ <- 1 to 3) f.complete(f.running("n1"), 1)
    assert(f.c.excludedNodes == Set("n1:8041"))
    val ask = f.rm.asked.toSeq
    assert(ask.size == 1)
    val onExcluded = f.container("n1")
    f.allocate(onExcluded)
    assert(f.rm.released.contains(onExcluded.getId.toString) && f.nm.started.size == 3)
    assert(f.rm.asked.size == 1 && !(f.rm.asked.head eq ask.head), "the ask renewed")
    val elsewhere = f.container("n2")
    f.allocate(elsewhere)
    assert(f.nm.started.last == elsewhere.getId.toString)
  }

  test("scaling down withdraws asks and releases containers; their ends are no failures") {
    val f = new Fixture(numContainers = 0, keepAlive = true)
    f.c.addContainers("main", 3, 0, 0)
    val a = f.running()
    assert(f.c.cancelContainers("main", 5) == 2)
    assert(f.rm.asked.isEmpty && f.c.pending() == Map("main" -> Map()))
    assert(f.c.removeContainer(a.getId.toString))
    assert(f.rm.released == Seq(a.getId.toString))
    assert(f.staging.targets == Map("main" -> 0))
    f.complete(a, ExitStatuses.KILLED_BY_APPMASTER)
    assert(f.record(a).outcome.contains("RELEASED"))
    assert(f.rm.asked.isEmpty && f.restarts("main") == RoleRestarts(0, 0, 0))
    assert(!f.c.isDone, "kept alive")
    assert(!f.c.removeContainer("container_1_0001_01_000099"))
  }

  test("a client's stop releases everything and ends SUCCEEDED once YARN reports the ends") {
    val f = new Fixture(numContainers = 3, keepAlive = true)
    f.c.askInitial()
    val (a, b) = (f.running(), f.running())
    f.c.stopApplication()
    assert(f.rm.released.toSet == Set(a.getId.toString, b.getId.toString))
    assert(f.rm.asked.isEmpty)
    assert(!f.c.isDone)
    f.complete(a, ExitStatuses.KILLED_BY_APPMASTER)
    f.complete(b, ExitStatuses.ABORTED)
    assert(f.c.isDone)
    assert(f.c.outcome() == (FinalApplicationStatus.SUCCEEDED, "stopped by its client (2 containers)"))
  }

  test("after a client's stop the application ends even if YARN never reports the releases") {
    val f = new Fixture(numContainers = 1, keepAlive = true, releaseWaitMs = 50)
    f.c.askInitial()
    f.running()
    f.c.stopApplication()
    val deadline = System.nanoTime() + 30000000000L
    while (!f.c.isDone && System.nanoTime() < deadline) Thread.sleep(10)
    assert(f.c.isDone)
    assert(f.c.outcome()._1 == FinalApplicationStatus.SUCCEEDED)
  }

  test("the ResourceManager's shutdown request ends the application FAILED") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    f.running()
    f.c.rmCallbacks.onShutdownRequest()
    assert(f.c.isDone)
    assert(f.c.outcome() == (FinalApplicationStatus.FAILED, "shut down by the ResourceManager"))
    assert(!f.c.fail("later"), "the first reason stays")
  }

  test("completions of unknown or surplus containers are ignored") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    val (a, surplus) = (f.container(), f.container())
    f.allocate(a, surplus)
    f.complete(surplus, ExitStatuses.KILLED_BY_APPMASTER)
    f.complete(f.container(), 1) // never allocated to us
    assert(f.c.containerRecords.map(_.id) == Seq(a.getId.toString))
    assert(f.rm.asked.isEmpty && f.restarts("main") == RoleRestarts(0, 0, 0) && !f.c.isDone)
  }

  test("a preempted container is replaced without spending a restart") {
    val f = new Fixture(numContainers = 1, maxRestarts = 0)
    f.c.askInitial()
    val a = f.running()
    f.complete(a, ExitStatuses.PREEMPTED)
    assert(f.record(a).outcome.contains("PREEMPTED"))
    assert(f.rm.asked.size == 1)
    assert(f.restarts("main") == RoleRestarts(0, 0, 0))
    f.complete(f.running(), 0)
    assert(f.c.isDone && f.c.outcome()._1 == FinalApplicationStatus.SUCCEEDED)
  }

  test("each role replaces from its own budget") {
    val f = new Fixture(numContainers = 1, maxRestarts = 0,
      staged = Seq(("worker", 2, 2)))
    f.c.askInitial()
    f.c.addContainers("worker", 1, 0, 0)
    assert(f.rm.asked.map(_.getPriority.getPriority).sorted == Seq(1, 2))
    val w = f.running(priority = 2)
    assert(f.record(w).role == "worker")
    f.complete(w, 1)
    assert(f.restarts("worker") == RoleRestarts(2, 1, 0))
    assert(f.rm.asked.count(_.getPriority.getPriority == 2) == 1)
    f.complete(f.running(priority = 1), 1)
    assert(f.restarts("main") == RoleRestarts(0, 0, 1))
    assert(f.restarts("worker") == RoleRestarts(2, 1, 0))
  }

  test("a succeeded container the client counts as lost is replaced from its role's budget, once") {
    val f = new Fixture(numContainers = 2, maxRestarts = 1, keepAlive = true)
    f.c.askInitial()
    val (a, b) = (f.running(), f.running())
    f.complete(a, 0)
    assert(f.rm.asked.isEmpty, "a success is not replaced by itself")
    assert(f.c.replaceLost(a.getId.toString))
    assert(!f.c.replaceLost(a.getId.toString), "counted once")
    assert(f.rm.asked.size == 1 && f.restarts("main") == RoleRestarts(1, 1, 0))
    assert(!f.c.replaceLost(b.getId.toString), "still running")
    f.complete(b, 0)
    assert(!f.c.replaceLost(b.getId.toString))
    assert(f.restarts("main") == RoleRestarts(1, 1, 1))
  }

  test("a container that cannot be launched is released and reported failed") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    val a = f.container()
    f.allocate(a)
    f.c.nmCallbacks.onStartContainerError(a.getId, new RuntimeException("no such NodeManager"))
    assert(f.rm.released == Seq(a.getId.toString))
    assert(f.record(a).outcome.contains("FAILED") && f.record(a).diagnostics.contains("no such NodeManager"))
  }

  test("with expired delegation tokens a failure is explained and not replaced") {
    val f = new Fixture(numContainers = 1, maxRestarts = 3, tokensExpireAt = Some(500L))
    f.c.askInitial()
    val a = f.running()
    f.complete(a, 1)
    assert(f.rm.asked.isEmpty && f.restarts("main") == RoleRestarts(3, 0, 1))
    assert(f.record(a).diagnostics.contains("token"), f.record(a).diagnostics)
  }

  test("heartbeats are fast after asks and grants, slower while asks wait, idle after") {
    val f = new Fixture(numContainers = 1, keepAlive = true)
    f.c.askInitial()
    assert(f.rm.interval == f.c.heartbeats.fastMs)
    f.mono += 5000
    f.c.rmCallbacks.getProgress
    assert(f.rm.interval == f.c.heartbeats.pendingMs)
    f.running()
    assert(f.rm.interval == f.c.heartbeats.fastMs)
    f.mono += 5000
    f.c.rmCallbacks.getProgress
    assert(f.rm.interval == f.c.heartbeats.idleMs)
  }

  test("timestamps come from the wall clock given") {
    val f = new Fixture(numContainers = 1)
    f.c.askInitial()
    f.wall = 123456L
    val a = f.container()
    f.allocate(a)
    f.wall = 123999L
    f.started(a)
    assert(f.record(a).allocatedAt == 123456L && f.record(a).launchedAt.contains(123999L))
  }

  private def named(w: String) = Map("WORKER" -> w)

  test("each container gets its own variables on top of its role's, first asked first launched") {
    val f = new Fixture(numContainers = 0, keepAlive = true, staged = Seq(("worker", 2, 0)))
    f.c.addContainers("worker", 2, 0, 0, Seq(named("a"), named("b")))
    f.c.addContainers("worker", 1, 0, 0, Seq(named("c")))
    f.c.addContainers("worker", 1, 0, 0)
    val first = f.running(priority = 2)
    val Seq(second, third) = Seq(f.container(priority = 2), f.container(priority = 2))
    f.allocate(second, third)
    val fourth = f.running(priority = 2)
    assert(Seq(first, second, third, fourth).map(x => f.nm.env(x.getId.toString)) == Seq(
      Map("ROLE" -> "worker", "WORKER" -> "a"), Map("ROLE" -> "worker", "WORKER" -> "b"),
      Map("ROLE" -> "worker", "WORKER" -> "c"), Map("ROLE" -> "worker")))
    assert(f.record(second).envvars == named("b") && f.record(fourth).envvars.isEmpty)
    assert(f.rm.asked.isEmpty)
  }

  test("the ask of a container with a variable's value is withdrawn, and only its variables") {
    val f = new Fixture(numContainers = 0, keepAlive = true, staged = Seq(("worker", 2, 0)))
    f.c.addContainers("worker", 3, 0, 0, Seq(named("a"), named("b"), named("c")))
    assert(f.c.cancelContainerWith("worker", "WORKER", "b"))
    assert(!f.c.cancelContainerWith("worker", "WORKER", "b"), "withdrawn once")
    assert(!f.c.cancelContainerWith("worker", "WORKER", "z"))
    assert(f.rm.asked.size == 2 && f.c.pending() == Map("main" -> Map(), "worker" -> Map("1024x1" -> 2)))
    val (x, y) = (f.running(priority = 2), f.running(priority = 2))
    assert(Seq(x, y).map(f.record(_).envvars) == Seq(named("a"), named("c")))
    assert(!f.c.cancelContainerWith("worker", "WORKER", "a"), "granted already")
    assert(f.rm.asked.isEmpty)
    // Withdrawing by count drops the newest asks' variables.
    f.c.addContainers("worker", 2, 0, 0, Seq(named("d"), named("e")))
    assert(f.c.cancelContainers("worker", 1) == 1)
    assert(f.record(f.running(priority = 2)).envvars == named("d"))
  }

  test("a failed or preempted container's replacement gets its variables again") {
    val f = new Fixture(numContainers = 0, keepAlive = true, staged = Seq(("worker", 2, 1)))
    f.c.addContainers("worker", 2, 0, 0, Seq(named("a"), named("b")))
    val (a, b) = (f.running(priority = 2), f.running(priority = 2))
    f.complete(b, 1)
    val b2 = f.running(priority = 2)
    assert(f.nm.env(b2.getId.toString) == Map("ROLE" -> "worker", "WORKER" -> "b"))
    f.complete(a, ExitStatuses.PREEMPTED)
    assert(f.record(f.running(priority = 2)).envvars == named("a"))
  }

  test("a later attempt adopts what ran, asks for the rest, and undoes an ask for a late report") {
    val f = new Fixture(numContainers = 1, staged = Seq(("worker", 2, 0)))
    val kept = f.container()
    f.c.takeOver(Seq(kept), Seq(f.staging.role("worker")), Map("main" -> 3, "worker" -> 1))
    assert(f.record(kept).state == Allocator.RUNNING)
    assert(f.rm.asked.count(_.getPriority.getPriority == 1) == 2)
    assert(f.rm.asked.count(_.getPriority.getPriority == 2) == 1)
    val late = f.container()
    f.c.rmCallbacks.onContainersReceivedFromPreviousAttempts(Seq(late).asJava)
    assert(f.record(late).state == Allocator.RUNNING)
    assert(f.rm.asked.count(_.getPriority.getPriority == 1) == 1, "one ask withdrawn")
  }
}

object CoordinatorSuite {
  /** The ResourceManager client, recording: the asks outstanding, the releases, the interval. */
  final class RecordingRm extends Coordinator.Rm {
    val asked: mutable.Buffer[ContainerRequest] = mutable.Buffer.empty
    val released: mutable.Buffer[String] = mutable.Buffer.empty
    var interval = 0
    def addContainerRequest(r: ContainerRequest): Unit = asked += r
    def removeContainerRequest(r: ContainerRequest): Unit = {
      val i = asked.indexWhere(_ eq r)
      require(i >= 0, "removed an ask that was not made")
      asked.remove(i)
    }
    def releaseAssignedContainer(id: ContainerId): Unit = released += id.toString
    def setHeartbeatInterval(ms: Int): Unit = interval = ms
  }

  /** The NodeManager client, recording the containers started and their environments. */
  final class RecordingNm extends Coordinator.Nm {
    val started: mutable.Buffer[String] = mutable.Buffer.empty
    val env: mutable.Map[String, Map[String, String]] = mutable.Map.empty
    def startContainerAsync(c: Container, ctx: ContainerLaunchContext): Unit = {
      started += c.getId.toString
      env(c.getId.toString) = ctx.getEnvironment.asScala.toMap
    }
  }

  final class MemoryStaging(roles: Map[String, () => Role]) extends Coordinator.Staging {
    var targets = Map.empty[String, Int]
    def role(name: String): Role = roles(name)()
    def launchContext(role: Role): ContainerLaunchContext = {
      val ctx = Records.newRecord(classOf[ContainerLaunchContext])
      ctx.setEnvironment(Map("ROLE" -> role.name).asJava)
      ctx
    }
    def recordTargets(counts: Map[String, Int]): Unit = targets = counts
  }

  private val attempt = ApplicationAttemptId.newInstance(ApplicationId.newInstance(1L, 1), 1)

  /** A Coordinator on recording clients, nodes n1..n3, and clocks the test moves;
    * `staged` roles are (name, priority, maxRestarts). */
  final class Fixture(numContainers: Int, maxRestarts: Int = 0, keepAlive: Boolean = false,
      tokensExpireAt: Option[Long] = None, releaseWaitMs: Long = 5000L,
      staged: Seq[(String, Int, Int)] = Nil) {
    var wall = 1000L
    var mono = 0L
    private val size = Resources(1024, 1)
    private def newRole(name: String, priority: Int, restarts: Int) =
      new Role(name, new Path("/staging"), size, priority, Map.empty, restarts, () => wall)
    val rm = new RecordingRm
    val nm = new RecordingNm
    val staging = new MemoryStaging(staged.map { case (n, p, r) => n -> (() => newRole(n, p, r)) }.toMap)
    private val hosts = Seq("n1", "n2", "n3")
    val c = new Coordinator(newRole("main", 1, maxRestarts),
      Coordinator.Settings(numContainers, keepAlive, hosts, hosts.map(_ + ":8041").toSet, tokensExpireAt,
        releaseWaitMs = releaseWaitMs),
      rm, nm, staging, () => wall, () => mono)
    private var next = 1L

    def container(host: String = "n1", priority: Int = 1): Container = {
      next += 1
      Container.newInstance(ContainerId.newContainerId(attempt, next), NodeId.newInstance(host, 8041),
        s"$host:8042", Resource.newInstance(1024L, 1), Priority.newInstance(priority), null)
    }
    def allocate(cs: Container*): Unit = c.rmCallbacks.onContainersAllocated(cs.asJava)
    def started(cs: Container*): Unit =
      cs.foreach(x => c.nmCallbacks.onContainerStarted(x.getId, java.util.Collections.emptyMap()))
    /** A container allocated and started. */
    def running(host: String = "n1", priority: Int = 1): Container = {
      val x = container(host, priority)
      allocate(x)
      started(x)
      x
    }
    def complete(x: Container, exit: Int): Unit = c.rmCallbacks.onContainersCompleted(
      Seq(ContainerStatus.newInstance(x.getId, ContainerState.COMPLETE, "", exit)).asJava)
    def record(x: Container): knit.common.Messages.Container =
      c.containerRecords.find(_.id == x.getId.toString).get
    def restarts(role: String): RoleRestarts = c.containerList(1, "", "").restarts(role)
  }
}
