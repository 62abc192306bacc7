package knit.am

import org.scalatest.funsuite.AnyFunSuite

class StagingCleanupSuite extends AnyFunSuite {

  test("the last attempt is the smaller of the application's ask and the cluster's maximum") {
    assert(!StagingCleanup.isLast(attempt = 1, requested = 2, clusterMax = 2))
    assert(StagingCleanup.isLast(attempt = 2, requested = 2, clusterMax = 2))
    assert(StagingCleanup.isLast(attempt = 1, requested = 1, clusterMax = 2))
    assert(StagingCleanup.isLast(attempt = 1, requested = 4, clusterMax = 1))
    assert(!StagingCleanup.isLast(attempt = 2, requested = 4, clusterMax = 3))
  }
}
