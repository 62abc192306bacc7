package knit.am

import scala.collection.mutable
import scala.jdk.CollectionConverters._
import scala.util.Random

import org.apache.hadoop.fs.Path
import org.apache.hadoop.yarn.api.records._
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest
import org.apache.hadoop.yarn.util.Records

/** The ApplicationMaster's coordination (`Coordinator`, with its Allocator, Restarts,
  * NodeExclusion and TokenExpiry) under a simulated ResourceManager: no processes, no
  * YARN. Run by benchmarks/allocation_sim.py.
  *
  * Each heartbeat calls the Coordinator's own callbacks, as YARN's clients would:
  * onContainersAllocated with the grants (the NodeManager's onContainerStarted follows at
  * once for each launch), onContainersCompleted with the ends, then getProgress. The
  * ResourceManager side grants the asks the Coordinator placed (through its `Rm`, whose
  * table of outstanding asks is AMRMClient's), onto their preferred node if it has room,
  * else anywhere not excluded (up to `grantsPerHeartbeat`); it ends containers (a share
  * fail, to be replaced) and loses nodes (their containers end ABORTED).
  *
  * Prints one JSON object per size: per-heartbeat processing times (ns) and heap used.
  *
  * Arguments: containers per run (comma-separated), e.g. 1000,2000,5000,10000.
  */
object AllocationSimulation {
  final case class Run(containers: Int, nodes: Int, heartbeats: Int, nanos: Array[Long],
      askNanos: Long, heapBytes: Long, launched: Int, failed: Int, lostNodes: Int, excluded: Int)

  private val attempt = ApplicationAttemptId.newInstance(ApplicationId.newInstance(1L, 1), 1)

  /** AMRMClient's side as the simulated ResourceManager sees it: the outstanding asks, in
    * order, and the releases of the last heartbeat. */
  final class SimulatedRm extends Coordinator.Rm {
    val asks: mutable.LinkedHashSet[ContainerRequest] = mutable.LinkedHashSet.empty
    val released: mutable.ArrayBuffer[ContainerId] = mutable.ArrayBuffer.empty
    def addContainerRequest(r: ContainerRequest): Unit = asks += r
    def removeContainerRequest(r: ContainerRequest): Unit = asks -= r
    def releaseAssignedContainer(id: ContainerId): Unit = released += id
    def setHeartbeatInterval(ms: Int): Unit = ()
  }

  /** The NodeManagers: launches, answered once the allocation callback returns. */
  final class SimulatedNm extends Coordinator.Nm {
    val started: mutable.ArrayBuffer[ContainerId] = mutable.ArrayBuffer.empty
    def startContainerAsync(c: Container, ctx: ContainerLaunchContext): Unit = started += c.getId
  }

  /** The Coordinator of an application of `containers` (one role), on simulated clients. */
  final class SimulatedAm(hosts: Seq[String], nodeIds: Seq[String], containers: Int, maxRestarts: Int) {
    val rm = new SimulatedRm
    val nm = new SimulatedNm
    private val context = Records.newRecord(classOf[ContainerLaunchContext])
    val coordinator = new Coordinator(
      new Role(knit.common.AppFiles.MainRole, new Path("/staging"), Size, 1, Map.empty, maxRestarts),
      Coordinator.Settings(containers, keepAlive = false, hosts, nodeIds.toSet), rm, nm,
      new Coordinator.Staging {
        def role(name: String): Role = throw new IllegalArgumentException(name)
        def launchContext(role: Role): ContainerLaunchContext = context
        def recordTargets(counts: Map[String, Int]): Unit = ()
      })
    var launched = 0

    /** One heartbeat's callbacks; returns the ids released. */
    def heartbeat(allocated: Seq[Container], completed: Seq[ContainerStatus]): Seq[ContainerId] = {
      rm.released.clear()
      nm.started.clear()
      coordinator.rmCallbacks.onContainersAllocated(allocated.asJava)
      nm.started.foreach { id => coordinator.nmCallbacks.onContainerStarted(id, java.util.Collections.emptyMap()) }
      launched += nm.started.size
      coordinator.rmCallbacks.onContainersCompleted(completed.asJava)
      coordinator.rmCallbacks.getProgress
      rm.released.toSeq
    }
  }

  private val Size = Resources(1024, 1)
  private val Port = 8041
  private def nodeId(host: String): String = s"$host:$Port"

  def simulate(containers: Int, seed: Long = 7): Run = {
    val random = new Random(seed)
    val nodeCount = math.max(1, containers / 10)
    val perNode = 12 // room for replacements beside the 10 each node gets at first
    val hosts = (0 until nodeCount).map(i => f"node$i%04d")
    val am = new SimulatedAm(hosts, hosts.map(nodeId), containers, maxRestarts = containers)
    System.gc()
    val heapBefore = usedHeap()

    val started = System.nanoTime()
    am.coordinator.askInitial()
    val askNanos = System.nanoTime() - started

    // The ResourceManager's view: free slots per live node, and which containers run where.
    val free = mutable.LinkedHashMap(hosts.map(nodeId(_) -> perNode): _*)
    val running = mutable.LinkedHashMap.empty[ContainerId, String] // id -> node
    val runningIds = mutable.ArrayBuffer.empty[ContainerId]       // for random picks
    var nextId = 0L
    var failed = 0
    var lost = 0
    val grantsPerHeartbeat = 2000
    val churnHeartbeats = 300
    val times = mutable.ArrayBuffer.empty[Long]
    var heartbeat = 0
    var pendingCompletions = Seq.empty[ContainerStatus]

    def grant(): Seq[Container] = {
      val out = Seq.newBuilder[Container]
      // The asks the AM has outstanding, oldest first; it withdraws each one it fills.
      val asks = am.rm.asks.iterator
      var n = 0
      while (n < grantsPerHeartbeat && asks.hasNext && free.exists(_._2 > 0)) {
        val preferred = Option(asks.next().getNodes).flatMap(_.asScala.headOption).map(nodeId)
        // Relaxed locality: anywhere with room, but not where the AM no longer runs
        // containers (it asks again elsewhere).
        val excluded = am.coordinator.excludedNodes
        val node = preferred.filter(p => free.get(p).exists(_ > 0) && !excluded(p))
          .orElse(free.find { case (n, f) => f > 0 && !excluded(n) }.map(_._1))
          .getOrElse(free.find(_._2 > 0).get._1)
        free(node) -= 1
        nextId += 1
        val id = ContainerId.newContainerId(attempt, nextId)
        running(id) = node
        runningIds += id
        val host = node.takeWhile(_ != ':')
        out += Container.newInstance(id, NodeId.newInstance(host, Port), s"$host:8042",
          Resource.newInstance(Size.memoryMb.toLong, Size.vcores), Priority.newInstance(1), null)
        n += 1
      }
      out.result()
    }

    def end(id: ContainerId, exit: Int, diagnostics: String): ContainerStatus = {
      running.remove(id).foreach(node => free.get(node).foreach(f => free(node) = f + 1))
      ContainerStatus.newInstance(id, ContainerState.COMPLETE, diagnostics, exit)
    }

    def pickRunning(): Option[ContainerId] = {
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
        (heartbeat < churnHeartbeats || (am.rm.asks.nonEmpty && free.exists(_._2 > 0)))) {
      val allocated = grant()
      val completions = mutable.ArrayBuffer.empty[ContainerStatus] ++ pendingCompletions
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
      am.coordinator.excludedNodes.size)
  }

  private def usedHeap(): Long = {
    val rt = Runtime.getRuntime
    rt.totalMemory() - rt.freeMemory()
  }

  private def percentile(sorted: Array[Long], p: Double): Long =
    sorted(math.min(sorted.length - 1, math.ceil(p * sorted.length).toInt - 1).max(0))

  def main(args: Array[String]): Unit = {
    val sizes = args.headOption.getOrElse("1000,2000,5000,10000").split(",").map(_.trim.toInt)
    // The coordination's work is measured, not a console's: the AM writes its log to a file,
    // and the churn below logs a line or more per failure and per grant on an excluded node.
    org.apache.log4j.Logger.getLogger("knit.am").setLevel(org.apache.log4j.Level.ERROR)
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
