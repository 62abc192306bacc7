package knit.am

import org.scalatest.funsuite.AnyFunSuite

class TokenExpirySuite extends AnyFunSuite {
  private val maxDate = Some(1800000000000L)

  test("a failure after unrenewed tokens expired is explained, with the time and what to do") {
    val why = TokenExpiry.explanation(now = 1800000000001L, maxDate)
    assert(why.exists(w => w.contains("delegation tokens expire at 2027-01-15T08:00:00Z") && w.contains("keytab")))
    // A minute before: hdfs-native no longer uses them.
    assert(TokenExpiry.explanation(now = 1800000000000L - 60000L, maxDate).isDefined)
    assert(TokenExpiry.replacementWouldFail(1800000000001L, maxDate))
  }

  test("before the expiry, with renewal, or without tokens, nothing is said") {
    assert(TokenExpiry.explanation(now = 1800000000000L - 60001L, maxDate).isEmpty)
    assert(TokenExpiry.explanation(now = 1800000000001L, None).isEmpty)
    assert(!TokenExpiry.replacementWouldFail(1800000000000L - 60001L, maxDate))
  }
}
