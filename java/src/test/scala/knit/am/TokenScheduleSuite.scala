package knit.am

import org.scalatest.funsuite.AnyFunSuite

class TokenScheduleSuite extends AnyFunSuite {
  test("renewal comes three quarters of the way to the expiry") {
    assert(TokenSchedule.delayMs(now = 1000L, expiry = 21000L) == 15000L)
  }

  test("renewal leaves hdfs-native's minute and the containers' next look when the lifetime allows") {
    assert(TokenSchedule.delayMs(now = 0L, expiry = 400000L) == 250000L)  // not 300 s
    assert(TokenSchedule.delayMs(now = 0L, expiry = 24L * 3600 * 1000) == 18L * 3600 * 1000)
  }

  test("an expiry that is past or close still waits a moment, never a busy loop") {
    assert(TokenSchedule.delayMs(now = 5000L, expiry = 4000L) == TokenSchedule.MinDelayMs)
    assert(TokenSchedule.delayMs(now = 5000L, expiry = 5100L) == TokenSchedule.MinDelayMs)
  }

  test("containers poll a tenth of a token's life, between 1 s and 60 s") {
    assert(TokenSchedule.pollMs(20000L) == 2000L)
    assert(TokenSchedule.pollMs(500L) == 1000L)
    assert(TokenSchedule.pollMs(7L * 24 * 3600 * 1000) == 60000L)
  }
}
