package knit.am

import org.scalatest.funsuite.AnyFunSuite

class HeartbeatScheduleSuite extends AnyFunSuite {
  test("fast for a second after asks or grants, then every 100 ms while waiting, 1 s when idle") {
    val s = new HeartbeatSchedule()
    assert(s.next(0L, waiting = false) == 1000)
    assert(s.busy(10000L) == 50)
    assert(s.next(10500L, waiting = true) == 50)
    assert(s.next(10999L, waiting = false) == 50)
    assert(s.next(11000L, waiting = true) == 100)
    assert(s.next(11000L, waiting = false) == 1000)
    assert(s.busy(20000L) == 50 && s.next(20100L, waiting = false) == 50) // granted again
  }
}
