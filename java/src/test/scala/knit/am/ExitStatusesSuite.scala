package knit.am

import org.scalatest.funsuite.AnyFunSuite

import knit.am.ExitStatuses._

class ExitStatusesSuite extends AnyFunSuite {

  private def run(status: Int, diag: String = "", released: Boolean = false, mb: Int = 512) =
    classify(status, diag, released, mb)

  test("the constants match YARN's ContainerExitStatus") {
    assert(Seq(SUCCESS, INVALID, ABORTED, DISKS_FAILED, PREEMPTED, KILLED_EXCEEDED_VMEM,
      KILLED_EXCEEDED_PMEM, KILLED_BY_APPMASTER, KILLED_BY_RESOURCEMANAGER,
      KILLED_AFTER_APP_COMPLETION, KILLED_BY_CONTAINER_SCHEDULER, KILLED_FOR_EXCESS_LOGS) ==
      Seq(0, -1000, -100, -101, -102, -103, -104, -105, -106, -107, -108, -109))
  }

  test("only Failed is a failure") {
    assert(Failed.isFailure)
    assert(!Succeeded.isFailure)
    assert(!Preempted.isFailure)
    assert(!Released.isFailure)
  }

  test("exit status 0 succeeds") {
    val (outcome, message) = run(0)
    assert(outcome == Succeeded)
    assert(message.nonEmpty)
  }

  test("released by us wins over any code") {
    for (code <- Seq(0, 1, ABORTED, KILLED_BY_APPMASTER, KILLED_EXCEEDED_PMEM, PREEMPTED)) {
      assert(run(code, "boom", released = true) == (Released -> "released by the application"))
    }
  }

  test("preemption and the container scheduler's kill are Preempted, not failures") {
    for (code <- Seq(PREEMPTED, KILLED_BY_CONTAINER_SCHEDULER)) {
      val (outcome, message) = run(code, "Container preempted by scheduler")
      assert(outcome == Preempted)
      assert(!outcome.isFailure)
      assert(message.contains("scheduler took the container back"), message)
    }
  }

  test("a physical memory kill names the limit and suggests more memory") {
    val (outcome, message) = run(KILLED_EXCEEDED_PMEM, mb = 512)
    assert(outcome == Failed)
    assert(message ==
      "killed by YARN: it used more than its 512 MB memory limit; start it with more memory")
  }

  test("a virtual memory kill says virtual and names the size") {
    val (outcome, message) = run(KILLED_EXCEEDED_VMEM, mb = 2048)
    assert(outcome == Failed)
    assert(message.contains("virtual memory"), message)
    assert(message.contains("2048 MB"), message)
    assert(message.contains("start it with more memory"), message)
  }

  test("disk failure and abort have their own messages") {
    assert(run(DISKS_FAILED) == (Failed -> "the node's disks failed"))
    assert(run(ABORTED) == (Failed -> "aborted by YARN (node lost or container expired)"))
  }

  test("other negative codes fail with the code's name") {
    val named = Map(
      INVALID -> "INVALID",
      KILLED_BY_APPMASTER -> "KILLED_BY_APPMASTER",
      KILLED_BY_RESOURCEMANAGER -> "KILLED_BY_RESOURCEMANAGER",
      KILLED_AFTER_APP_COMPLETION -> "KILLED_AFTER_APP_COMPLETION",
      KILLED_FOR_EXCESS_LOGS -> "KILLED_FOR_EXCESS_LOGS")
    for ((code, name) <- named) {
      val (outcome, message) = run(code)
      assert(outcome == Failed)
      assert(message.contains(name), message)
    }
    assert(run(-42)._2.contains("-42"))
  }

  test("a non-zero exit of the command reports its status and points at stderr") {
    assert(run(1) == (Failed -> "command exited with status 1 (see its stderr)"))
    assert(run(137) == (Failed -> "command exited with status 137 (see its stderr)"))
    // YARN's launcher boilerplate is not repeated.
    assert(run(3, "Exception from container-launch.\nExit code: 3")._2 ==
      "command exited with status 3 (see its stderr)")
  }

  test("the first non-blank diagnostics line is appended, trimmed") {
    val (_, aborted) = run(ABORTED, "\n   \n  Container expired since it was unused  \nmore\n")
    assert(aborted.endsWith("; diagnostics: Container expired since it was unused"), aborted)
    val (_, pmem) = run(KILLED_EXCEEDED_PMEM, "Container [pid=1] is running beyond limits")
    assert(pmem.endsWith("; diagnostics: Container [pid=1] is running beyond limits"), pmem)
  }

  test("the root cause of a stack trace is preferred, without timestamps") {
    val diagnostics = "[2026-11-26 10:45:54.940]\njava.io.IOException: outer\n\tat x.y(Z.java:1)\n" +
      "Caused by: java.io.IOException: middle\nCaused by: Error executing command. gzip -dc " +
      "| (cd '/nm/filecache/11_tmp/env.tar.gz' && tar -x ) Process exited with exit code 2."
    val (outcome, message) = run(INVALID, diagnostics)
    assert(outcome == Failed)
    assert(message.startsWith("YARN could not set it up"), message)
    assert(message.endsWith("; diagnostics: Error executing command. gzip -dc | (cd " +
      "'/nm/filecache/11_tmp/env.tar.gz' && tar -x ) Process exited with exit code 2."), message)
    assert(run(ABORTED, "[2026-01-01 00:00:00.000]Container expired")._2.endsWith(
      "; diagnostics: Container expired"))
  }

  test("long diagnostics are cut to 300 characters and stay on one line") {
    val (_, message) = run(DISKS_FAILED, "x" * 1000 + "\nsecond line")
    assert(message == "the node's disks failed; diagnostics: " + "x" * 300)
    assert(!message.contains("\n"))
  }

  test("empty or null diagnostics add nothing") {
    assert(run(DISKS_FAILED, "")._2 == "the node's disks failed")
    assert(run(DISKS_FAILED, " \n\t ")._2 == "the node's disks failed")
    assert(run(DISKS_FAILED, null)._2 == "the node's disks failed")
  }

  test("diagnostics are not appended to outcomes that are not failures") {
    assert(!run(0, "all good")._2.contains("all good"))
    assert(!run(PREEMPTED, "taken")._2.contains("taken"))
    assert(!run(1, "ignored", released = true)._2.contains("ignored"))
  }

  test("status 154 is the NodeManager's, not the command's: a container it lost across a restart") {
    val (outcome, message) = ExitStatuses.classify(154, "Container exited with a non-zero exit code 154",
      releasedByUs = false, memoryMb = 512)
    assert(outcome == ExitStatuses.Failed)
    assert(message.startsWith("lost by its NodeManager") && message.contains("not the command's"))
    assert(!message.contains("command exited"))
  }

  test("the outcomes' names are those Python knows (ContainerStates, checked against knit/names.py)") {
    assert(ExitStatuses.Outcomes.map(ExitStatuses.wireName) == knit.common.ContainerStates.Outcomes)
  }
}
