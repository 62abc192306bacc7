package knit.common

import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.scalatest.funsuite.AnyFunSuite

class HadoopConfSuite extends AnyFunSuite {
  private val attempts = YarnConfiguration.CLIENT_FAILOVER_MAX_ATTEMPTS

  private def loaded(settings: (String, String)*): YarnConfiguration =
    HadoopConf.forResourceManager(HadoopConf.load(null, settings.toMap))

  private val ha = Seq(YarnConfiguration.RM_HA_ENABLED -> "true", YarnConfiguration.RM_HA_IDS -> "rm0,rm1")

  test("without HA YARN's failover attempts are left alone") {
    assert(loaded().get(attempts) == null)
  }

  test("under HA the failover attempts fill knit's max wait: one a second by default") {
    assert(loaded(ha: _*).getInt(attempts, -1) == HadoopConf.RmMaxWaitMs / 1000)
  }

  test("longer failover sleeps a cluster sets mean fewer attempts, not a longer wait") {
    val conf = loaded(ha :+ (YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS -> "15000"): _*)
    assert(conf.getInt(attempts, -1) == 2)
  }

  test("the cluster's own attempts and a max wait of -1 (for ever) are kept") {
    assert(loaded(ha :+ (attempts -> "7"): _*).getInt(attempts, -1) == 7)
    assert(loaded(ha :+ (HadoopConf.RmMaxWaitKey -> "-1"): _*).get(attempts) == null)
  }

  test("an AM under HA sleeps 1 to 10 s between failovers, within YARN's 15-minute max wait") {
    val conf = HadoopConf.forApplicationMaster(new YarnConfiguration())
    assert(conf.get(attempts) == null)  // no HA: untouched
    ha.foreach { case (k, v) => conf.set(k, v) }
    HadoopConf.forApplicationMaster(conf)
    assert(conf.getLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_BASE_MS, -1) == HadoopConf.AmFailoverSleepBaseMs)
    assert(conf.getLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS, -1) == HadoopConf.AmFailoverSleepMaxMs)
    assert(conf.getInt(attempts, -1) ==
      YarnConfiguration.DEFAULT_RESOURCEMANAGER_CONNECT_MAX_WAIT_MS / HadoopConf.AmFailoverSleepMaxMs)
  }
}
