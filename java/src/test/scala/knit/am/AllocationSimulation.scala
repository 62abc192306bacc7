package knit.am

import scala.collection.mutable
import scala.util.Random

/** The ApplicationMaster's allocation bookkeeping (Allocator, Restarts, TokenExpiry) under
  * a simulated ResourceManager: no processes, no YARN. Run by benchmarks/allocation_sim.py.
  *
  * The AM side of each heartbeat makes the calls the AM's callbacks make, in their order
  * (ApplicationMaster.RmCallbacks, NmCallbacks, checkFinished, ask): allocations matched
  * and launched (the NodeManager's answer taken as immediate), completions classified,
  * failures replaced or their nodes excluded, node-local asks placed. The ResourceManager
  * side grants asks onto nodes with room (up to `grantsPerHeartbeat`), ends containers
  * (a share fail, to be replaced), and loses nodes (their containers end ABORTED).
  *
  * Prints one JSON object per size: per-heartbeat processing times (ns) and heap used.
  *
  * Arguments: containers per run (comma-separated), e.g. 1000,2000,5000,10000.
  */
object AllocationSimulation {
  final case class Run(containers: Int, nodes: Int, heartbeats: Int, nanos: Array[Long],
      askNanos: Long, heapBytes: Long, launched: Int, failed: Int, lostNodes: Int, excluded: Int)

  private val Size = Resources(1024, 1)

  /** The AM's bookkeeping for one role, driven heartbeat by heartbeat. */
  final class SimulatedAm(nodes: Seq[String], maxRestarts: Int) {
    val allocator = new Allocator()
    val restarts = new Restarts(maxRestarts, 3)
    private val nodeIds = nodes.toSet
    /** Asks placed with YARN, one preferred node each (what addRequests sends). */
    val asks: mutable.Queue[String] = mutable.Queue.empty
    var launched = 0

    def ask(n: Int): Unit = {
      allocator.request(n, Size)
      allocator.placements(n, nodes).foreach(asks.enqueue(_))
      allocator.desiredCount // recordTargets
    }

    /** One heartbeat's callbacks; returns the ids to release. */
    def heartbeat(allocated: Seq[Allocated], completed: Seq[Completion]): Seq[String] = {
      val release = Seq.newBuilder[String]
      // onContainersAllocated
      val (onExcluded, given) = allocated.partition(c => restarts.excluded(c.node))
      onExcluded.foreach { c => release += c.id; asks.enqueue(null) } // askAgainElsewhere
      val decision = allocator.onAllocated(given)
      release ++= decision.release
      decision.launch.foreach { case (a, _) => allocator.onLaunched(a.id); launched += 1 } // NM: started
      checkFinished()
      // onContainersCompleted
      for (d <- completed) {
        allocator.onCompleted(Seq(d))
        allocator.info(d.id).filter(_.outcome.exists(_.isFailure)).foreach { c =>
          TokenExpiry.explanation(0L, None).foreach(allocator.explain(d.id, _))
          val (replace, _) = restarts.onFailure(c.node, nodeIds + c.node)
          if (replace) ask(1)
        }
      }
      checkFinished()
      release.result()
    }

    private def checkFinished(): Unit = {
      allocator.desiredCount
      allocator.outstanding.isEmpty
      allocator.hasRequested && allocator.isIdle
    }
  }

  def simulate(containers: Int, seed: Long = 7): Run = {
    val random = new Random(seed)
    val nodeCount = math.max(1, containers / 10)
    val perNode = 12 // room for replacements beside the 10 each node gets at first
    val nodes = (0 until nodeCount).map(i => f"node$i%04d:8041")
    val am = new SimulatedAm(nodes, maxRestarts = containers)
    System.gc()
    val heapBefore = usedHeap()

    val started = System.nanoTime()
    am.ask(containers)
    val askNanos = System.nanoTime() - started

    // The ResourceManager's view: free slots per live node, and which containers run where.
    val free = mutable.LinkedHashMap(nodes.map(_ -> perNode): _*)
    val running = mutable.LinkedHashMap.empty[String, String] // id -> node
    val runningIds = mutable.ArrayBuffer.empty[String]       // for random picks
    var nextId = 0
    var failed = 0
    var lost = 0
    val grantsPerHeartbeat = 2000
    val churnHeartbeats = 300
    val times = mutable.ArrayBuffer.empty[Long]
    var heartbeat = 0
    var pendingCompletions = Seq.empty[Completion]

    def grant(): Seq[Allocated] = {
      val out = Seq.newBuilder[Allocated]
      var n = 0
      while (n < grantsPerHeartbeat && am.asks.nonEmpty && free.exists(_._2 > 0)) {
        val preferred = am.asks.dequeue()
        // Relaxed locality: anywhere with room, but not where the AM no longer runs
        // containers (it asks again elsewhere, naming the other nodes).
        val excluded = am.restarts.excluded
        val node = Option(preferred).filter(p => free.get(p).exists(_ > 0) && !excluded(p))
          .orElse(free.find { case (n, f) => f > 0 && !excluded(n) }.map(_._1))
          .getOrElse(free.find(_._2 > 0).get._1)
        free(node) -= 1
        val id = f"container_1_0001_01_$nextId%07d"
        nextId += 1
        running(id) = node
        runningIds += id
        out += Allocated(id, node, Size)
        n += 1
      }
      out.result()
    }

    def end(id: String, exit: Int, diagnostics: String): Completion = {
      running.remove(id).foreach(node => free.get(node).foreach(f => free(node) = f + 1))
      Completion(id, exit, diagnostics)
    }

    def pickRunning(): Option[String] = {
      while (runningIds.nonEmpty) {
        val i = random.nextInt(runningIds.size)
        val id = runningIds(i)
        runningIds(i) = runningIds.last
        runningIds.remove(runningIds.size - 1)
        if (running.contains(id)) return Some(id)
      }
      None
    }

    // Ramp-up, then churn: each heartbeat 0.05 % of the containers fail (on every node,
    // over the run, 1.5 failures on average: some nodes reach 3 and are excluded) and,
    // every 50 heartbeats, a node is lost with all its containers.
    val maxHeartbeats = churnHeartbeats + 1000 // a bound: the loop below must end
    while (heartbeat < maxHeartbeats &&
        (heartbeat < churnHeartbeats || (am.asks.nonEmpty && free.exists(_._2 > 0)))) {
      val allocated = grant()
      val completions = mutable.ArrayBuffer.empty[Completion] ++ pendingCompletions
      if (am.launched >= containers && heartbeat < churnHeartbeats) {
        for (_ <- 0 until math.max(1, containers / 2000); id <- pickRunning()) {
          completions += end(id, 1, ""); failed += 1
        }
        // A node is lost only while the rest can hold every container.
        if (heartbeat % 50 == 0 && (free.size - 1) * perNode >= containers) {
          val node = free.keys.toSeq(random.nextInt(free.size))
          free.remove(node)
          lost += 1
          running.filter(_._2 == node).keys.toSeq.foreach { id =>
            completions += end(id, ExitStatuses.ABORTED, "Container released on a *lost* node")
          }
        }
      }
      val t0 = System.nanoTime()
      val release = am.heartbeat(allocated, completions.toSeq)
      times += System.nanoTime() - t0
      pendingCompletions = release.map(id => end(id, ExitStatuses.KILLED_BY_APPMASTER, ""))
      heartbeat += 1
    }
    System.gc()
    val heap = usedHeap() - heapBefore
    Run(containers, nodeCount, heartbeat, times.toArray, askNanos, heap, am.launched, failed, lost,
      am.restarts.excluded.size)
  }

  private def usedHeap(): Long = {
    val rt = Runtime.getRuntime
    rt.totalMemory() - rt.freeMemory()
  }

  private def percentile(sorted: Array[Long], p: Double): Long =
    sorted(math.min(sorted.length - 1, math.ceil(p * sorted.length).toInt - 1).max(0))

  def main(args: Array[String]): Unit = {
    val sizes = args.headOption.getOrElse("1000,2000,5000,10000").split(",").map(_.trim.toInt)
    simulate(200) // warm the JIT: the AM runs for hours, its first heartbeats are not the case
    for (n <- sizes) {
      val r = simulate(n)
      val sorted = r.nanos.sorted
      println(s"""{"containers": ${r.containers}, "nodes": ${r.nodes}, "heartbeats": ${r.heartbeats}, """ +
        s""""p50_ms": ${percentile(sorted, 0.5) / 1e6}, "p99_ms": ${percentile(sorted, 0.99) / 1e6}, """ +
        s""""max_ms": ${sorted.last / 1e6}, "ask_ms": ${r.askNanos / 1e6}, "heap_mib": ${r.heapBytes / 1048576.0}, """ +
        s""""launched": ${r.launched}, "failed": ${r.failed}, "lost_nodes": ${r.lostNodes}, "excluded_nodes": ${r.excluded}}""")
    }
  }
}
