package knit.am

import org.scalatest.funsuite.AnyFunSuite

class RestartsSuite extends AnyFunSuite {
  private val nodes = Set("a:1", "b:1")

  test("failures are replaced up to maxRestarts over the application's life") {
    val r = new Restarts(maxRestarts = 2, failuresToExclude = 10)
    assert(r.onFailure("a:1", nodes)._1)
    assert(r.onFailure("b:1", nodes)._1)
    assert(!r.onFailure("a:1", nodes)._1)
    assert(r.restartsUsed == 2 && r.unreplacedFailures == 1)
  }

  test("no restarts: every failure is unreplaced") {
    val r = new Restarts(maxRestarts = 0, failuresToExclude = 3)
    assert(r.onFailure("a:1", nodes) == (false, None))
    assert(r.unreplacedFailures == 1)
  }

  test("a node is excluded at its failuresToExclude-th failure, once") {
    val r = new Restarts(maxRestarts = 10, failuresToExclude = 2)
    assert(r.onFailure("a:1", nodes)._2.isEmpty)
    assert(r.onFailure("b:1", nodes)._2.isEmpty)
    assert(r.onFailure("a:1", nodes)._2.contains("a:1"))
    assert(r.onFailure("a:1", nodes)._2.isEmpty)
    assert(r.excluded == Set("a:1"))
  }

  test("the last node left is never excluded") {
    val r = new Restarts(maxRestarts = 10, failuresToExclude = 1)
    assert(r.onFailure("a:1", nodes)._2.contains("a:1"))
    assert(r.onFailure("b:1", nodes)._2.isEmpty)
    assert(r.excluded == Set("a:1"))
  }

  test("a failure that cannot be replaced counts as unreplaced and keeps the restarts") {
    val r = new Restarts(maxRestarts = 2, failuresToExclude = 3)
    assert(r.onFailure("n1", Set("n1", "n2"), replaceable = false) == (false, None))
    assert(r.unreplacedFailures == 1 && r.restartsUsed == 0)
  }
}
