package knit.client

import org.scalatest.funsuite.AnyFunSuite

class StagingSweepSuite extends AnyFunSuite {
  private val rm = 1700000000000L
  private val now = rm + 10L * 24 * 3600 * 1000
  private val fresh = now - 1000L
  private val old = now - StagingSweep.UnknownGraceMs

  test("a finished application's dir goes at once, whatever its age") {
    for (state <- Seq("FINISHED", "FAILED", "KILLED"))
      assert(StagingSweep.removable(s"application_${rm}_0001", Some(state), fresh, now, rm), state)
  }

  test("a dir of an application YARN may still run stays, however old") {
    for (state <- Seq("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"))
      assert(!StagingSweep.removable(s"application_${rm}_0001", Some(state), old - 1, now, rm), state)
  }

  test("an id this ResourceManager forgot goes once its dir is older than the grace (a start may be submitting it)") {
    assert(!StagingSweep.removable(s"application_${rm}_0001", None, fresh, now, rm))
    assert(!StagingSweep.removable(s"application_${rm}_0001", None, old + 1, now, rm))
    assert(StagingSweep.removable(s"application_${rm}_0001", None, old, now, rm))
  }

  test("an unknown id of another ResourceManager stays: it may run there, on the same HDFS") {
    assert(!StagingSweep.removable(s"application_${rm - 5}_0001", None, 0L, now, rm))
    assert(!StagingSweep.removable(s"application_${rm}_0001", None, 0L, now, 0L))
  }

  test("only application ids are staging dirs") {
    assert(StagingSweep.clusterTimestamp(s"application_${rm}_0042").contains(rm))
    for (name <- Seq("envs", "jars", "application_", s"application_${rm}", s"application_${rm}_x",
        s"xapplication_${rm}_0001", s"application_${rm}_0001.bak"))
      assert(StagingSweep.clusterTimestamp(name).isEmpty, name)
    assert(!StagingSweep.removable("envs", None, 0L, now, rm))
  }
}
