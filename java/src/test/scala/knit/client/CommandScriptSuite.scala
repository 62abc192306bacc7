package knit.client

import scala.sys.process._

import org.scalatest.funsuite.AnyFunSuite

class CommandScriptSuite extends AnyFunSuite {

  /** Runs a script with bash and returns its stdout. */
  private def bash(script: String): String = Seq("bash", "-c", script).!!

  test("values reach the command verbatim, whatever they contain") {
    val nasty = """it's "quoted" $(echo ran) `echo ran` $HOME \ ; && | * ~"""
    val script = CommandScript("""printf '%s\n' "$V"""", Map("V" -> nasty))
    assert(bash(script) == nasty + "\n")
  }

  test("the command itself keeps bash semantics") {
    val script = CommandScript("""echo "a  b" && echo $X-$((1+1))""", Map("X" -> "x"))
    assert(bash(script) == "a  b\nx-2\n")
  }

  test("bad variable names are refused") {
    assertThrows[IllegalArgumentException](CommandScript("true", Map("A-B" -> "1")))
    assertThrows[IllegalArgumentException](CommandScript("true", Map("1A" -> "1")))
  }

  test("the token updater starts only where the AM set it up, and the command still runs") {
    val script = CommandScript("echo done", Map.empty, withTokenUpdater = true)
    // No KNIT_TOKENS_DIR: nothing is started, the command runs as before.
    assert(bash(script) == "done\n")
    assert(script.contains("knit.container.TokenUpdater") && script.contains("$$"))
    assert(bash("bash -n <<'EOF'\n" + script + "EOF\n") == "") // valid bash
  }

  test("a command failing after the tokens expired says so in its stderr, keeping its status") {
    def run(expireAt: Long, command: String): (Int, String) = {
      val err = new StringBuilder
      val script = CommandScript(command, Map.empty)
      val status = Process(Seq("bash", "-c", script), None, "KNIT_TOKENS_EXPIRE_AT" -> expireAt.toString)
        .!(ProcessLogger(_ => (), line => err.append(line).append('\n')))
      (status, err.toString)
    }
    val past = System.currentTimeMillis() / 1000 - 60
    val (status, err) = run(past, "exit 3")
    assert(status == 3)
    assert(err.contains("knit: the command failed as this application's delegation tokens expire, at ") &&
      err.contains("principal and keytab"), err)
    assert(run(past, "true") == (0, ""))                  // succeeded: nothing to explain
    assert(run(past + 3600, "exit 3") == (3, ""))         // failed before the expiry
    assert(run(past + 90, "exit 3")._2.contains("knit:")) // within hdfs-native's minute
  }
}

/** The NodeManager watch of `CommandScript`, against a stand-in for a NodeManager's REST API
  * and, where it is one, for its process: a copy of bash called `java`, the container's
  * parent as a NodeManager is. */
class NodeManagerWatchSuite extends AnyFunSuite {
  import java.io.File
  import java.net.InetSocketAddress
  import java.nio.file.Files
  import java.util.concurrent.TimeUnit
  import java.util.concurrent.atomic.AtomicInteger
  import com.sun.net.httpserver.HttpServer

  /** A NodeManager's REST API that knows the containers until `knows` is false (then
    * answers 404), counting the questions. */
  private class FakeNodeManager {
    @volatile var knows = true
    @volatile var answerAfterMs = 0L
    val asked = new AtomicInteger()
    private def serve(port: Int): HttpServer = {
      val s = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0)
      s.createContext("/ws/v1/node/containers/", exchange => {
        asked.incrementAndGet()
        Thread.sleep(answerAfterMs)
        val code = if (knows) 200 else 404
        exchange.sendResponseHeaders(code, -1)
        exchange.close()
      })
      s.start()
      s
    }
    @volatile var server: HttpServer = serve(0)
    val port: Int = server.getAddress.getPort
    def stop(): Unit = server.stop(0)
    /** Started again on the same port (a NodeManager restarted with recovery). */
    def restart(): Unit = server = serve(port)
  }

  /** A running container: its command script's process, and the stand-in NodeManager
    * process it runs under, if any. */
  private case class Container(pid: Long, nodeManager: Option[java.lang.Process], dir: File) {
    // Not this JVM's child (Java 8's API has no handle on it): seen through /proc.
    private def alive: Boolean = new File(s"/proc/$pid").exists
    def exited(seconds: Int): Boolean = {
      val deadline = System.nanoTime + seconds * 1000000000L
      while (alive && System.nanoTime < deadline) Thread.sleep(100)
      !alive
    }
    def ranThrough: Boolean = new File(dir, "done").exists
    def stop(): Unit = {
      if (alive) Seq("kill", "-KILL", "--", s"-$pid").!
      nodeManager.foreach(_.destroyForcibly())
      Seq("rm", "-rf", dir.getPath).!
    }
  }

  /** Starts `command` as YARN does, in a session of its own in its working directory,
    * under a stand-in NodeManager process, or orphaned (no `java` above it) if not
    * `underNodeManager`. The command's `touch done` marks a run to its end. */
  private def launch(command: String, nm: FakeNodeManager, underNodeManager: Boolean,
      givenUpAfterS: Int = 8): Container = {
    val dir = Files.createTempDirectory("knit-container").toFile
    Files.write(new File(dir, "knit-command.sh").toPath, CommandScript(command, Map.empty).getBytes("UTF-8"))
    val start = "setsid bash knit-command.sh </dev/null >/dev/null 2>&1 & echo $! > pid"
    val builder = if (underNodeManager) {
      val standIn = new File(dir, "java")
      Files.copy(new File("/bin/bash").toPath, standIn.toPath)
      standIn.setExecutable(true)
      new java.lang.ProcessBuilder(standIn.getPath, "-c", s"$start; wait")
    } else new java.lang.ProcessBuilder("bash", "-c", start)
    builder.directory(dir)
    val env = builder.environment()
    env.put("NM_HOST", "127.0.0.1")
    env.put("NM_HTTP_PORT", nm.port.toString)
    env.put("CONTAINER_ID", "container_1_0001_01_000002")
    env.put("LOG_DIRS", dir.getAbsolutePath)
    env.put(knit.common.AppFiles.NodeManagerGivenUpAfterVar, givenUpAfterS.toString)
    val parent = builder.start()
    if (!underNodeManager) parent.waitFor()
    val pidFile = new File(dir, "pid")
    while (!pidFile.exists || pidFile.length == 0) Thread.sleep(20)
    Container(new String(Files.readAllBytes(pidFile.toPath)).trim.toLong,
      if (underNodeManager) Some(parent) else None, dir)
  }

  test("under a live NodeManager process the watch costs no question; once it is gone the REST API decides: refusals for longer than YARN waits or a 404 end a container, 200s (recovered) keep it") {
    val (asked, gone, recovered, restarted) = (new FakeNodeManager, new FakeNodeManager, new FakeNodeManager, new FakeNodeManager)
    restarted.knows = false
    val nms = Seq(asked, gone, recovered, restarted)
    val containers = Seq.newBuilder[Container]
    try {
      val kept = launch("sleep 14; touch done", asked, underNodeManager = true)
      val orphan = launch("sleep 300", gone, underNodeManager = true)
      val adopted = launch("sleep 14; touch done", recovered, underNodeManager = true)
      val forgotten = launch("sleep 300", restarted, underNodeManager = true)
      containers += kept += orphan += adopted += forgotten
      Thread.sleep(2000)
      Seq(orphan, adopted, forgotten).foreach(_.nodeManager.foreach(_.destroyForcibly())) // killed
      gone.stop() // and not started again
      assert(orphan.exited(30), "the container whose NodeManager is gone kept running")
      assert(forgotten.exited(30), "the container its restarted NodeManager forgot kept running")
      assert(kept.exited(30) && kept.ranThrough)
      assert(adopted.exited(30) && adopted.ranThrough)
      assert(asked.asked.get == 0) // the process was watched, the REST API not asked
      assert(recovered.asked.get >= 2) // asked every 5 s once the process was gone
    } finally { containers.result().foreach(_.stop()); nms.foreach(_.stop()) }
  }

  test("without a NodeManager process to watch, the REST API decides: a 404 or refusals for longer than YARN waits for a node end a container, 200s keep it, and no answer at the start leaves it alone") {
    val (knows, forgets, dies, silent, restarts) = (new FakeNodeManager, new FakeNodeManager,
      new FakeNodeManager, new FakeNodeManager, new FakeNodeManager)
    silent.knows = false // its first answer is no 200: the watch stays off
    val nms = Seq(knows, forgets, dies, silent, restarts)
    val containers = Seq.newBuilder[Container]
    try {
      val kept = launch("sleep 12; touch done", knows, underNodeManager = false)
      val unknown = launch("sleep 300", forgets, underNodeManager = false)
      val orphan = launch("sleep 300", dies, underNodeManager = false)
      val unwatched = launch("sleep 8; touch done", silent, underNodeManager = false)
      // Restarted with recovery: it refuses for 15 s (three questions), then knows it again.
      val recovered = launch("sleep 30; touch done", restarts, underNodeManager = false,
        givenUpAfterS = 600)
      containers += kept += unknown += orphan += unwatched += recovered
      Thread.sleep(2000)
      forgets.knows = false // the NodeManager was started again, without recovery
      dies.stop()           // killed: its port answers no more
      Thread.sleep(5000)    // armed by a first 200
      restarts.stop()
      Thread.sleep(15000)
      restarts.restart()
      assert(recovered.exited(40) && recovered.ranThrough,
        "the container was ended while its NodeManager restarted")
      assert(unknown.exited(30), "the container its NodeManager forgot kept running")
      assert(orphan.exited(40), "the container whose NodeManager is gone kept running")
      assert(kept.exited(30) && kept.ranThrough) // ran through, watched all along
      assert(knows.asked.get >= 2)
      assert(unwatched.exited(30) && unwatched.ranThrough)
    } finally { containers.result().foreach(_.stop()); nms.foreach(_.stop()) }
  }

  test("the command starts without waiting for the NodeManager's first answer") {
    val nm = new FakeNodeManager
    nm.answerAfterMs = 4000
    val marks = Files.createTempDirectory("knit-marks")
    val started = marks.resolve("started")
    val p = launch(s"touch '$started'; sleep 6; touch done", nm, underNodeManager = false)
    try {
      val deadline = System.nanoTime + 2000L * 1000 * 1000
      while (!Files.exists(started) && System.nanoTime < deadline) Thread.sleep(50)
      assert(Files.exists(started), "the command waited for the NodeManager")
      nm.answerAfterMs = 0
      assert(p.exited(30) && p.ranThrough)
    } finally { p.stop(); nm.stop(); Files.deleteIfExists(started); Files.deleteIfExists(marks) }
  }
}
