package knit.am

import org.scalatest.funsuite.AnyFunSuite

class LeaseSuite extends AnyFunSuite {

  test("a lease expires only after timeoutMs without renewal") {
    val lease = new Lease(30000L, startedAtMs = 1000L)
    assert(!lease.expired(31000L))
    assert(lease.expired(31001L))
    lease.renew(30000L)
    assert(!lease.expired(60000L))
    assert(lease.expired(60001L))
    assert(lease.silentForMs(60001L) == 30001L)
  }

  test("renewals never move the lease backwards") {
    val lease = new Lease(1000L, startedAtMs = 0L)
    lease.renew(5000L)
    lease.renew(100L) // a late, reordered call
    assert(!lease.expired(5500L))
  }

  test("a zero timeout is no lease: detached applications never expire") {
    val lease = new Lease(0L, startedAtMs = 0L)
    assert(!lease.enabled)
    assert(!lease.expired(Long.MaxValue))
  }
}
