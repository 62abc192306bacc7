package knit.am

import org.scalatest.funsuite.AnyFunSuite

class NodeManagerVerdictSuite extends AnyFunSuite {
  private val expiry = 600000L // yarn.nm.liveness-monitor.expiry-interval-ms's default

  test("nothing ends before the NodeManager has once answered 200") {
    val v = new NodeManagerVerdict(expiry)
    assert(v.observe(None, 0).isEmpty && v.observe(None, expiry * 2).isEmpty)
    assert(v.observe(Some(404), expiry * 3).isEmpty)
    assert(v.observe(Some(401), expiry * 4).isEmpty) // SPNEGO: cannot tell, never arms
  }

  test("a 404 after a 200 ends it at once") {
    val v = new NodeManagerVerdict(expiry)
    assert(v.observe(Some(200), 0).isEmpty)
    assert(v.observe(Some(404), 5000).exists(_.contains("no longer knows")))
  }

  test("a NodeManager restarting (refusing, then answering) ends nothing, however often") {
    val v = new NodeManagerVerdict(expiry)
    assert(v.observe(Some(200), 0).isEmpty)
    for (t <- 5000L to 300000L by 5000L) assert(v.observe(None, t).isEmpty) // down 5 minutes
    assert(v.observe(Some(200), 305000L).isEmpty) // back with recovery
    for (t <- 310000L to 850000L by 5000L) assert(v.observe(None, t).isEmpty) // down again, 9 min
    assert(v.observe(Some(-1), 855000L).isEmpty) // a slow answer: the NodeManager is there
    assert(v.observe(None, 860000L).isEmpty) // the count starts over
  }

  test("refusals for longer than YARN waits for a node end it: YARN declared it lost") {
    val v = new NodeManagerVerdict(expiry)
    assert(v.observe(Some(200), 0).isEmpty)
    assert(v.observe(None, 1000).isEmpty)
    assert(v.observe(None, 1000 + expiry - 1).isEmpty)
    assert(v.observe(None, 1000 + expiry).exists(_.contains("declared it lost")))
  }
}
