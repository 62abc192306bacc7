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

/** The NodeManager watch of `CommandScript`, against a stand-in for a NodeManager's REST API. */
class NodeManagerWatchSuite extends AnyFunSuite {
  import java.net.InetSocketAddress
  import java.nio.file.Files
  import com.sun.net.httpserver.HttpServer

  /** A NodeManager that knows the container until `knows` is false (then answers 404). */
  private class FakeNodeManager {
    @volatile var knows = true
    @volatile var answerAfterMs = 0L
    val server: HttpServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/ws/v1/node/containers/", exchange => {
      Thread.sleep(answerAfterMs)
      val code = if (knows) 200 else 404
      exchange.sendResponseHeaders(code, -1)
      exchange.close()
    })
    server.start()
    def port: Int = server.getAddress.getPort
    def stop(): Unit = server.stop(0)
  }

  /** Starts `script` as YARN does, in a session of its own in its working directory. */
  private def launch(script: String, nm: FakeNodeManager): java.lang.Process = {
    val dir = Files.createTempDirectory("knit-container").toFile
    val file = new java.io.File(dir, "knit-command.sh")
    Files.write(file.toPath, script.getBytes("UTF-8"))
    val builder = new java.lang.ProcessBuilder("setsid", "bash", file.getName).directory(dir)
    val env = builder.environment()
    env.put("NM_HOST", "127.0.0.1")
    env.put("NM_HTTP_PORT", nm.port.toString)
    env.put("CONTAINER_ID", "container_1_0001_01_000002")
    env.put("LOG_DIRS", dir.getAbsolutePath)
    builder.start()
  }

  private def exited(p: java.lang.Process, seconds: Int): Boolean =
    p.waitFor(seconds.toLong, java.util.concurrent.TimeUnit.SECONDS)

  test("a container whose NodeManager no longer knows it ends; one it knows runs on") {
    val nm = new FakeNodeManager
    try {
      val kept = launch(CommandScript("sleep 12; echo done", Map.empty), nm)
      assert(exited(kept, 30) && kept.exitValue == 0) // ran through, watched all along
      val orphan = launch(CommandScript("sleep 300", Map.empty), nm)
      Thread.sleep(2000)
      nm.knows = false // the NodeManager was started again, without recovery
      assert(exited(orphan, 30), "the orphaned container kept running")
    } finally nm.stop()
  }

  test("a container whose NodeManager is gone ends") {
    val nm = new FakeNodeManager
    val orphan = launch(CommandScript("sleep 300", Map.empty), nm)
    Thread.sleep(2000)
    nm.stop() // killed: its port answers no more
    assert(exited(orphan, 40), "the orphaned container kept running")
  }

  test("the command starts without waiting for the NodeManager's first answer") {
    val nm = new FakeNodeManager
    nm.answerAfterMs = 4000
    val marks = Files.createTempDirectory("knit-marks")
    val started = marks.resolve("started")
    try {
      val p = launch(CommandScript(s"touch '$started'; sleep 6; echo done", Map.empty), nm)
      val deadline = System.nanoTime + 2000L * 1000 * 1000
      while (!Files.exists(started) && System.nanoTime < deadline) Thread.sleep(50)
      assert(Files.exists(started), "the command waited for the NodeManager")
      nm.answerAfterMs = 0
      assert(exited(p, 30) && p.exitValue == 0)
    } finally { nm.stop(); Files.deleteIfExists(started); Files.deleteIfExists(marks) }
  }

  test("without a NodeManager to ask at the start, the watch stays off") {
    val nm = new FakeNodeManager
    nm.knows = false
    try {
      val p = launch(CommandScript("sleep 8; echo done", Map.empty), nm)
      assert(exited(p, 30) && p.exitValue == 0)
    } finally nm.stop()
  }
}
