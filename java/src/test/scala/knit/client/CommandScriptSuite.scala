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
}
