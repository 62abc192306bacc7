package knit.am

import org.scalatest.funsuite.AnyFunSuite

class RestartsSuite extends AnyFunSuite {
  private val nodes = Set("a:1", "b:1")

  test("failures are replaced up to maxRestarts over the application's life") {
    val r = new Restarts(maxRestarts = 2)
    assert(r.onFailure() && r.onFailure())
    assert(!r.onFailure())
    assert(r.restartsUsed == 2 && r.unreplacedFailures == 1)
  }

  test("no restarts: every failure is unreplaced") {
    val r = new Restarts(maxRestarts = 0)
    assert(!r.onFailure())
    assert(r.unreplacedFailures == 1)
  }

  test("a failure that cannot be replaced counts as unreplaced and keeps the restarts") {
    val r = new Restarts(maxRestarts = 2)
    assert(!r.onFailure(replaceable = false))
    assert(r.unreplacedFailures == 1 && r.restartsUsed == 0)
  }

  test("a node is excluded at its failuresToExclude-th failure, once") {
    val x = new NodeExclusion(failuresToExclude = 2)
    assert(x.onFailure("a:1", nodes).isEmpty)
    assert(x.onFailure("b:1", nodes).isEmpty)
    assert(x.onFailure("a:1", nodes).contains("a:1"))
    assert(x.onFailure("a:1", nodes).isEmpty)
    assert(x.excluded == Set("a:1") && x("a:1") && !x("b:1"))
  }

  test("the last node left is never excluded") {
    val x = new NodeExclusion(failuresToExclude = 1)
    assert(x.onFailure("a:1", nodes).contains("a:1"))
    assert(x.onFailure("b:1", nodes).isEmpty)
    assert(x.excluded == Set("a:1"))
  }
}
