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
}
