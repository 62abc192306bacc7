package knit.am

import org.scalatest.funsuite.AnyFunSuite

import knit.am.Allocator._
import knit.am.ExitStatuses._

class AllocatorSuite extends AnyFunSuite {

  private val small = Resources(512, 1)
  private val big = Resources(2048, 2)

  /** An allocator whose clock the test moves by hand. */
  private class Fixture {
    var now = 1000L
    val alloc = new Allocator(() => now)
    def info(id: String): ContainerInfo = alloc.containers.find(_.id == id).get
  }

  private def given(id: String, res: Resources, node: String = "n1") = Allocated(id, node, res)

  test("request adds to the outstanding count per size and rejects negatives") {
    val a = new Allocator()
    assert(a.outstanding.isEmpty)
    a.request(2, small)
    a.request(1, small)
    a.request(1, big)
    a.request(0, Resources(1, 1))
    assert(a.outstanding == Map(small -> 3, big -> 1))
    intercept[IllegalArgumentException](a.request(-1, small))
    assert(a.outstanding == Map(small -> 3, big -> 1))
  }

  test("matched containers are launched as ALLOCATED and leave the outstanding count") {
    val f = new Fixture
    f.alloc.request(2, small)
    val d = f.alloc.onAllocated(Seq(given("c1", small)))
    assert(d == Decision(Seq(given("c1", small) -> small), Seq.empty))
    assert(f.alloc.outstanding == Map(small -> 1))
    assert(f.info("c1") == ContainerInfo("c1", "n1", small, ALLOCATED, None, None, "", 1000L,
      None, None))
  }

  test("surplus allocations are released and never launched or tracked") {
    val a = new Allocator()
    a.request(1, small)
    val d = a.onAllocated(Seq(given("c1", small), given("c2", small), given("c3", big)))
    assert(d.launch.map(_._1.id) == Seq("c1"))
    assert(d.release == Seq("c2", "c3"))
    assert(a.containers.map(_.id) == Seq("c1"))
    assert(a.outstanding.isEmpty)
    // A later batch with nothing outstanding is all surplus.
    assert(a.onAllocated(Seq(given("c4", big))) == Decision(Seq.empty, Seq("c4")))
    // Surplus completing later is ignored, not counted as a failure.
    a.onCompleted(Seq(Completion("c2", ABORTED, ""), Completion("c4", 1, "")))
    assert(a.containers.map(_.id) == Seq("c1"))
    assert(a.failed.isEmpty)
  }

  test("a container too small for every request is surplus") {
    val a = new Allocator()
    a.request(1, Resources(1024, 1))
    val d = a.onAllocated(Seq(given("c1", Resources(512, 4)), given("c2", Resources(4096, 0))))
    assert(d.launch.isEmpty)
    assert(d.release == Seq("c1", "c2"))
    assert(a.outstanding == Map(Resources(1024, 1) -> 1))
  }

  test("a rounded-up container matches the smaller request and reports the asked size") {
    val a = new Allocator()
    val asked = Resources(300, 1)
    a.request(1, asked)
    val rounded = given("c1", Resources(1024, 1))
    assert(a.onAllocated(Seq(rounded)) == Decision(Seq(rounded -> asked), Seq.empty))
    assert(a.outstanding.isEmpty)
    assert(a.containers.head.resources == Resources(1024, 1), "tracks what YARN gave")
  }

  test("with mixed sizes each container fills the smallest request it can hold") {
    val mid = Resources(1024, 1)
    val a = new Allocator()
    a.request(1, small)
    a.request(1, big)
    a.request(1, mid)
    val d = a.onAllocated(Seq(given("s", small), given("b1", big), given("b2", big)))
    assert(d.launch.map { case (c, asked) => c.id -> asked } ==
      Seq("s" -> small, "b1" -> mid, "b2" -> big))
    assert(d.release.isEmpty)
    assert(a.outstanding.isEmpty)
  }

  test("a big container fills the smallest request even if a small one arrives after it") {
    val a = new Allocator()
    a.request(1, small)
    a.request(1, big)
    // Matching goes in arrival order, so "b" takes the small request and "s" fits nothing.
    val d = a.onAllocated(Seq(given("b", big), given("s", small)))
    assert(d.launch == Seq(given("b", big) -> small))
    assert(d.release == Seq("s"))
    assert(a.outstanding == Map(big -> 1))
  }

  test("vcores count when matching") {
    val a = new Allocator()
    a.request(1, Resources(512, 4))
    a.request(1, Resources(1024, 1))
    val d = a.onAllocated(Seq(given("c1", Resources(1024, 2))))
    assert(d.launch.map(_._2) == Seq(Resources(1024, 1)))
  }

  test("never launches more than asked") {
    val a = new Allocator()
    a.request(3, small)
    val batch = (1 to 10).map(i => given(s"c$i", small))
    val d = a.onAllocated(batch)
    assert(d.launch.size == 3)
    assert(d.release.size == 7)
    assert((d.launch.map(_._1.id) ++ d.release).toSet == batch.map(_.id).toSet)
  }

  test("a repeated allocation of a container we already track is neither launched nor released") {
    val a = new Allocator()
    a.request(2, small)
    a.onAllocated(Seq(given("c1", small)))
    assert(a.onAllocated(Seq(given("c1", small))) == Decision(Seq.empty, Seq.empty))
    assert(a.outstanding == Map(small -> 1))
  }

  test("launch, then completion, with timestamps from the injected clock") {
    val f = new Fixture
    f.alloc.request(1, small)
    f.alloc.onAllocated(Seq(given("c1", small)))
    f.now = 2000L
    f.alloc.onLaunched("c1")
    assert(f.info("c1").state == RUNNING)
    assert(f.info("c1").launchedAt.contains(2000L))
    f.now = 5000L
    f.alloc.onCompleted(Seq(Completion("c1", 0, "")))
    val c = f.info("c1")
    assert(c.state == COMPLETED)
    assert(c.exitStatus.contains(0))
    assert(c.outcome.contains(Succeeded))
    assert((c.allocatedAt, c.launchedAt, c.finishedAt) == ((1000L, Some(2000L), Some(5000L))))
  }

  test("onLaunched only moves ALLOCATED containers and ignores unknown ids") {
    val f = new Fixture
    f.alloc.request(1, small)
    f.alloc.onAllocated(Seq(given("c1", small)))
    f.alloc.onLaunched("nope")
    f.alloc.onCompleted(Seq(Completion("c1", 1, "")))
    f.alloc.onLaunched("c1")
    assert(f.info("c1").state == COMPLETED)
    assert(f.info("c1").launchedAt.isEmpty)
  }

  test("explain adds to a completed container's message, and to no other") {
    val f = new Fixture
    f.alloc.request(2, small)
    f.alloc.onAllocated(Seq(given("c1", small), given("c2", small)))
    f.alloc.onCompleted(Seq(Completion("c1", 3, "")))
    f.alloc.explain("c1", "tokens expired")
    f.alloc.explain("c2", "tokens expired") // still running
    assert(f.info("c1").message == "command exited with status 3 (see its stderr); tokens expired")
    assert(f.info("c2").message == "")
  }

  test("a failed launch completes the container as Failed with the reason") {
    val f = new Fixture
    f.alloc.request(1, small)
    f.alloc.onAllocated(Seq(given("c1", small)))
    f.now = 3000L
    f.alloc.onLaunchFailed("c1", "could not start: connection refused")
    val c = f.info("c1")
    assert(c.state == COMPLETED)
    assert(c.outcome.contains(Failed))
    assert(c.exitStatus.isEmpty)
    assert(c.message == "could not start: connection refused")
    assert(c.finishedAt.contains(3000L))
    // YARN's later report of the same container does not hide the real reason.
    f.alloc.onCompleted(Seq(Completion("c1", ABORTED, "")))
    assert(f.info("c1") == c)
    assert(f.alloc.failed == Seq(c))
    assert(f.alloc.finalStatus == "FAILED")
  }

  test("a launch that fails after the user released the container is Released") {
    val a = new Allocator()
    a.request(1, small)
    a.onAllocated(Seq(given("c1", small)))
    assert(a.release("c1"))
    a.onLaunchFailed("c1", "container was stopped")
    assert(a.containers.head.outcome.contains(Released))
    assert(a.finalStatus == "SUCCEEDED")
  }

  test("completion classifies the exit status, using the container's memory") {
    val f = new Fixture
    f.alloc.request(2, Resources(300, 1))
    f.alloc.onAllocated(Seq(given("c1", Resources(1024, 1)), given("c2", Resources(1024, 1))))
    f.alloc.onLaunched("c1")
    f.alloc.onLaunched("c2")
    f.alloc.onCompleted(Seq(
      Completion("c1", KILLED_EXCEEDED_PMEM, "Container [pid=7] is running beyond limits"),
      Completion("c2", 2, "")))
    val c1 = f.info("c1")
    assert(c1.outcome.contains(Failed))
    assert(c1.exitStatus.contains(KILLED_EXCEEDED_PMEM))
    assert(c1.message.contains("more than its 1024 MB memory limit"), c1.message)
    assert(c1.message.contains("running beyond limits"), c1.message)
    assert(f.info("c2").message == "command exited with status 2 (see its stderr)")
    assert(f.alloc.failed.map(_.id) == Seq("c1", "c2"))
  }

  test("unknown completions are ignored") {
    val a = new Allocator()
    a.onCompleted(Seq(Completion("ghost", 1, "")))
    assert(a.containers.isEmpty)
    assert(a.finalStatus == "SUCCEEDED")
  }

  test("a released container ends Released, not failed") {
    val a = new Allocator()
    a.request(1, small)
    a.onAllocated(Seq(given("c1", small)))
    a.onLaunched("c1")
    assert(a.release("c1"))
    a.onCompleted(Seq(Completion("c1", KILLED_BY_APPMASTER, "Container killed by the AM")))
    val c = a.containers.head
    assert(c.outcome.contains(Released))
    assert(c.message == "released by the application")
    assert(a.failed.isEmpty)
    assert(a.finalStatus == "SUCCEEDED")
  }

  test("release is false for unknown, surplus and completed containers") {
    val a = new Allocator()
    a.request(1, small)
    val d = a.onAllocated(Seq(given("c1", small), given("extra", small)))
    assert(!a.release("nope"))
    assert(!a.release(d.release.head))
    a.onCompleted(Seq(Completion("c1", 0, "")))
    assert(!a.release("c1"))
    assert(a.containers.head.outcome.contains(Succeeded))
  }

  test("a preempted container is not a failure") {
    val a = new Allocator()
    a.request(1, small)
    a.onAllocated(Seq(given("c1", small)))
    a.onLaunched("c1")
    a.onCompleted(Seq(Completion("c1", PREEMPTED, "")))
    assert(a.containers.head.outcome.contains(Preempted))
    assert(a.failed.isEmpty)
    assert(a.finalStatus == "SUCCEEDED")
  }

  test("cancel drops up to n outstanding requests and says how many") {
    val a = new Allocator()
    a.request(3, small)
    a.request(1, big)
    assert(a.cancel(2, small) == 2)
    assert(a.outstanding == Map(small -> 1, big -> 1))
    assert(a.cancel(5, small) == 1)
    assert(a.outstanding == Map(big -> 1))
    assert(a.cancel(1, small) == 0)
    assert(a.cancel(0, big) == 0)
    assert(a.outstanding == Map(big -> 1))
    intercept[IllegalArgumentException](a.cancel(-1, big))
  }

  test("containers lists everything in allocation order") {
    val a = new Allocator()
    a.request(3, small)
    a.onAllocated(Seq(given("c2", small)))
    a.onAllocated(Seq(given("c1", small), given("c3", small)))
    a.onLaunched("c1")
    a.onCompleted(Seq(Completion("c2", 0, "")))
    assert(a.containers.map(_.id) == Seq("c2", "c1", "c3"))
    assert(a.containers.map(_.state) == Seq(COMPLETED, RUNNING, ALLOCATED))
  }

  test("isFinished: not before any request, then only with nothing outstanding or live") {
    val a = new Allocator()
    assert(!a.isFinished, "nothing was ever requested")
    a.request(0, small)
    assert(!a.isFinished, "a request for zero containers is no request")
    a.request(2, small)
    assert(!a.isFinished)
    a.onAllocated(Seq(given("c1", small)))
    assert(!a.isFinished, "one still outstanding")
    a.onAllocated(Seq(given("c2", small)))
    assert(!a.isFinished, "both ALLOCATED")
    a.onLaunched("c1")
    a.onLaunched("c2")
    a.onCompleted(Seq(Completion("c1", 0, "")))
    assert(!a.isFinished, "c2 RUNNING")
    a.onCompleted(Seq(Completion("c2", 1, "")))
    assert(a.isFinished)
    assert(a.finalStatus == "FAILED")
    a.request(1, small)
    assert(!a.isFinished, "asking again reopens it")
    a.cancel(1, small)
    assert(a.isFinished)
  }

  test("isFinished when every request is cancelled") {
    val a = new Allocator()
    a.request(2, big)
    a.cancel(2, big)
    assert(a.isFinished)
    assert(a.finalStatus == "SUCCEEDED")
  }

  test("placements spread requests over nodes, in node order on ties") {
    val a = new Allocator()
    assert(a.placements(5, Seq("a", "b", "c")) == Seq("a", "b", "c", "a", "b"))
    assert(a.placements(0, Seq("a")) == Seq.empty)
    assert(a.placements(3, Seq.empty) == Seq.empty)
    intercept[IllegalArgumentException](a.placements(-1, Seq("a")))
  }

  test("placements count containers already live on each node, not completed ones") {
    val a = new Allocator()
    a.request(5, small)
    a.onAllocated(Seq(
      given("a1", small, "a"), given("a2", small, "a"),
      given("b1", small, "b"),
      given("c1", small, "c"), given("c2", small, "c")))
    a.onLaunched("a1")
    a.onLaunched("a2")
    a.onLaunched("b1") // c1 and c2 stay ALLOCATED, which still counts
    // Live counts: a=2, b=1, c=2, d=0.
    assert(a.placements(4, Seq("a", "b", "c", "d")) == Seq("d", "b", "d", "a"))
    a.onCompleted(Seq(Completion("a1", 0, ""), Completion("a2", 0, "")))
    // a is empty again
    assert(a.placements(2, Seq("c", "b", "a")) == Seq("a", "b"))
  }

  test("placements are over hosts: a container on NodeManager host:port counts for its host") {
    val a = new Allocator()
    a.request(2, small)
    a.onAllocated(Seq(given("a1", small, "a:8041"), given("b1", small, "b:8041")))
    assert(a.placements(3, Seq("a", "b", "c")) == Seq("c", "a", "b"))
  }

  test("containers of a previous attempt are adopted as running, once") {
    val a = new Allocator(() => 7L)
    val kept = Seq(Allocated("c1", "n1:1", Resources(1024, 1)), Allocated("c2", "n2:1", Resources(1024, 1)))
    a.adopt(kept)
    a.adopt(kept.take(1))
    assert(a.containers.map(c => (c.id, c.state)) == Seq("c1" -> Allocator.RUNNING, "c2" -> Allocator.RUNNING))
    assert(!a.isFinished)
    a.onCompleted(Seq(Completion("c1", 0, ""), Completion("c2", 0, "")))
    assert(a.isFinished && a.finalStatus == "SUCCEEDED")
  }

  // A later AM attempt: adopt what the ResourceManager hands over, top up to the initial
  // count, and reconcile containers it reports late with that top-up.
  private val std = Resources(1024, 1)

  private def secondAttempt(kept: Int, initial: Int): (Fixture, Int) = {
    val f = new Fixture
    f.alloc.adopt((1 to kept).map(i => given(s"old$i", std)))
    (f, f.alloc.topUp(initial, std))
  }

  test("a later attempt tops up to the initial count, minus the adopted containers") {
    assert(secondAttempt(kept = 1, initial = 3)._2 == 2)
    val (f, n) = secondAttempt(kept = 1, initial = 3)
    assert(f.alloc.outstanding == Map(std -> n))
    assert(secondAttempt(kept = 3, initial = 2)._2 == 0) // scaled up before the AM died
    assert(secondAttempt(kept = 0, initial = 2)._2 == 2)
    // Completed containers are not live: they do not count.
    val g = new Fixture
    g.alloc.adopt(Seq(given("old1", std), given("old2", std)))
    g.alloc.onCompleted(Seq(Completion("old1", 0, "")))
    assert(g.alloc.topUp(2, std) == 1)
    intercept[IllegalArgumentException](g.alloc.topUp(-1, std))
  }

  test("a first attempt's top-up is its initial ask") {
    val a = new Allocator()
    assert(a.topUp(0, std) == 0 && a.outstanding.isEmpty && !a.isFinished)
    assert(a.topUp(2, std) == 2 && a.outstanding == Map(std -> 2))
  }

  test("a container reported late withdraws an outstanding top-up ask") {
    val (f, _) = secondAttempt(kept = 1, initial = 2)
    assert(f.alloc.adoptLate(given("old2", std)) == LateAdoption.Withdraw(std))
    assert(f.alloc.outstanding.isEmpty)
    assert(f.alloc.containers.map(c => (c.id, c.state)) == Seq("old1" -> RUNNING, "old2" -> RUNNING))
    // Nothing is left to allocate: a container YARN still sends is surplus.
    assert(f.alloc.onAllocated(Seq(given("new1", std))) == Decision(Seq.empty, Seq("new1")))
  }

  test("a container reported late releases the top-up's container that is not running yet") {
    val (f, _) = secondAttempt(kept = 1, initial = 2)
    f.alloc.onAllocated(Seq(given("new1", std)))
    assert(f.alloc.adoptLate(given("old2", std)) == LateAdoption.Release("new1"))
    // Its end (launch failed or YARN stopped it) is ours, not a failure.
    f.alloc.onCompleted(Seq(Completion("new1", ABORTED, "released")))
    assert(f.info("new1").outcome.contains(Released))
    assert(f.alloc.failed.isEmpty)
    assert(f.alloc.containers.count(_.state == RUNNING) == 2)
  }

  test("a container reported late when the top-up's container already runs is kept too") {
    val (f, _) = secondAttempt(kept = 1, initial = 2)
    f.alloc.onAllocated(Seq(given("new1", std)))
    f.alloc.onLaunched("new1")
    assert(f.alloc.adoptLate(given("old2", std)) == LateAdoption.Kept)
    assert(f.alloc.containers.count(_.state == RUNNING) == 3)
    assert(f.alloc.release("new1")) // nothing was released behind the caller's back
  }

  test("each top-up ask is undone once: later reports and repeats are only adopted") {
    val (f, _) = secondAttempt(kept = 1, initial = 3) // 2 asked
    f.alloc.request(1, std) // and one more by the user: 3 outstanding
    assert(f.alloc.adoptLate(given("old2", std)) == LateAdoption.Withdraw(std))
    assert(f.alloc.adoptLate(given("old2", std)) == LateAdoption.Kept) // a repeat
    assert(f.alloc.adoptLate(given("old3", std)) == LateAdoption.Withdraw(std))
    assert(f.alloc.adoptLate(given("old4", std)) == LateAdoption.Kept) // the user's ask stays
    assert(f.alloc.outstanding == Map(std -> 1))
    assert(f.alloc.containers.map(_.id) == Seq("old1", "old2", "old3", "old4"))
  }

  test("without a top-up a late container is only adopted") {
    val (f, n) = secondAttempt(kept = 3, initial = 2)
    assert(n == 0)
    assert(f.alloc.adoptLate(given("old4", std)) == LateAdoption.Kept)
    assert(f.alloc.outstanding.isEmpty && f.alloc.containers.size == 4)
  }

  test("the desired count is the live containers kept plus the asks") {
    val f = new Fixture
    f.alloc.request(3, small)
    assert(f.alloc.desiredCount == 3)
    f.alloc.onAllocated(Seq(given("c1", small), given("c2", small)))
    f.alloc.onLaunched("c1")
    assert(f.alloc.desiredCount == 3) // granted or running, still wanted
    f.alloc.release("c2")             // removed by Python: no longer wanted
    assert(f.alloc.desiredCount == 2)
    f.alloc.cancel(1, small)
    assert(f.alloc.desiredCount == 1)
    f.alloc.onCompleted(Seq(Completion("c1", 0, "")))
    assert(f.alloc.desiredCount == 0)
  }

  test("the live counts kept for speed agree with a recount, through random churn") {
    val random = new scala.util.Random(3)
    val a = new Allocator()
    val nodes = (0 until 7).map(i => s"n$i")
    var next = 0
    val released = scala.collection.mutable.Set.empty[String]
    def live = a.containers.filter(c => c.state == ALLOCATED || c.state == RUNNING)
    for (step <- 0 until 2000) {
      random.nextInt(6) match {
        case 0 => a.request(random.nextInt(3), small)
        case 1 =>
          val given = Seq.fill(random.nextInt(3)) { next += 1; given_(s"c$next", nodes(random.nextInt(7))) }
          a.onAllocated(given).launch.foreach { case (g, _) => if (random.nextBoolean()) a.onLaunched(g.id) }
        case 2 => live.headOption.foreach(c => a.onCompleted(Seq(Completion(c.id, random.nextInt(2), ""))))
        case 3 => live.lastOption.foreach(c => if (a.release(c.id)) released += c.id)
        case 4 => live.headOption.foreach(c => a.onLaunchFailed(c.id, "no"))
        case _ => a.cancel(1, small)
      }
      val recount = a.containers.count(c => (c.state == ALLOCATED || c.state == RUNNING) &&
        !released(c.id)) + a.outstanding.values.sum
      assert(a.desiredCount == recount, s"step $step")
      assert(a.isIdle == (a.outstanding.isEmpty && live.isEmpty), s"step $step")
      val load = live.groupBy(_.node).map { case (n, cs) => n -> cs.size }.withDefaultValue(0)
      assert(a.placements(1, nodes) == Seq(nodes.minBy(load)), s"step $step")
    }
  }

  private def given_(id: String, node: String) = Allocated(id, node, small)

}
