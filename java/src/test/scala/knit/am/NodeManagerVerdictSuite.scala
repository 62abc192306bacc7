package knit.am

import org.scalatest.funsuite.AnyFunSuite

class NodeManagerVerdictSuite extends AnyFunSuite {
  test("nothing ends before the NodeManager has once answered 200") {
    val v = new NodeManagerVerdict()
    assert(v.observe(None).isEmpty && v.observe(None).isEmpty && v.observe(Some(404)).isEmpty)
    assert(v.observe(Some(401)).isEmpty) // SPNEGO: cannot tell, never arms
  }

  test("a 404 after a 200 ends it at once") {
    val v = new NodeManagerVerdict()
    assert(v.observe(Some(200)).isEmpty)
    assert(v.observe(Some(404)).exists(_.contains("no longer knows")))
  }

  test("refused connections end it only when they come in a row") {
    val v = new NodeManagerVerdict(refusalsToGiveUp = 2)
    assert(v.observe(Some(200)).isEmpty)
    assert(v.observe(None).isEmpty)
    assert(v.observe(Some(-1)).isEmpty) // a slow answer is not a refusal: the count starts over
    assert(v.observe(None).isEmpty)
    assert(v.observe(None).exists(_.contains("refused 2 connections")))
  }
}
