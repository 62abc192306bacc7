package knit.common

import java.io.File

import org.apache.hadoop.fs.Path
import org.apache.hadoop.yarn.conf.{HAUtil, YarnConfiguration}

/** Builds a client Configuration from a conf dir plus overrides, as Python describes it. */
object HadoopConf {
  private val siteFiles = Seq("core-site.xml", "hdfs-site.xml", "yarn-site.xml")
  val CompleteDelayKey = "dfs.client.block.write.locateFollowingBlock.initial.delay.ms"

  def load(confDir: String, overrides: Map[String, String]): YarnConfiguration = {
    val conf = new YarnConfiguration()
    if (confDir != null) {
      for (name <- siteFiles) {
        val f = new File(confDir, name)
        if (f.isFile) conf.addResource(new Path(f.toURI))
      }
    }
    overrides.foreach { case (k, v) => conf.set(k, v, "knit override") }
    // Fail in seconds, not after the 15 minutes YARN's client retries by default; the
    // Python side then names the unreachable address. A value the cluster sets is kept.
    if (isDefault(conf, RmMaxWaitKey)) {
      conf.setLong(RmMaxWaitKey, RmMaxWaitMs)
      conf.setLong("yarn.resourcemanager.connect.retry-interval.ms", 1000L)
    }
    // Closing an HDFS file asks the NameNode to complete it; when the DataNode's report of
    // the block has not arrived yet, the client sleeps 400 ms before asking again. knit
    // writes a few small files per start (command, spec, user files): ask again after
    // 25 ms instead, doubling, with as long a total wait as the defaults give (~12 s).
    if (isDefault(conf, CompleteDelayKey)) {
      conf.setLong(CompleteDelayKey, 25L)
      conf.setInt("dfs.client.block.write.locateFollowingBlock.retries", 9)
    }
    conf
  }

  val RmMaxWaitKey = "yarn.resourcemanager.connect.max-wait.ms"
  /** How long a client call waits for a ResourceManager that does not answer. */
  val RmMaxWaitMs = 30000L
  private val IpcConnectRetries = "ipc.client.connect.max.retries"

  /** The configuration of a client of the ResourceManager: YARN turns the max wait into
    * retries, each of which IPC retries 10 times a second apart (`ipc.client.connect.
    * max.retries`): against a refused port a call took 234 s with a max wait of 20 s,
    * 22 s with IPC's retries at 0. So YARN's retries alone count here; HDFS clients,
    * which have no such outer loop, keep IPC's. A value the cluster sets is kept. */
  def forResourceManager(conf: YarnConfiguration): YarnConfiguration = {
    val rm = new YarnConfiguration(conf)
    if (isDefault(conf, IpcConnectRetries)) rm.setInt(IpcConnectRetries, 0)
    if (HAUtil.isHAEnabled(conf) && isDefault(conf, FailoverMaxAttempts)) {
      // Under HA YARN's client fails over between the ResourceManagers, each once in turn,
      // sleeping between attempts up to `yarn.client.failover-sleep-max-ms` (by default
      // the retry interval), and makes max-wait / sleep-base attempts: a cluster that
      // lengthens the sleeps would stretch the max wait by their ratio. Attempts are
      // counted against the longest sleep instead, which keeps the whole call near it.
      val interval = conf.getLong(YarnConfiguration.RESOURCEMANAGER_CONNECT_RETRY_INTERVAL_MS,
        YarnConfiguration.DEFAULT_RESOURCEMANAGER_CONNECT_RETRY_INTERVAL_MS)
      val maxSleep = math.max(1L, conf.getLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS, interval))
      val maxWait = conf.getLong(RmMaxWaitKey, RmMaxWaitMs)
      if (maxWait >= 0) rm.setInt(FailoverMaxAttempts, math.max(1L, maxWait / maxSleep).toInt)
    }
    rm
  }

  private val FailoverMaxAttempts = YarnConfiguration.CLIENT_FAILOVER_MAX_ATTEMPTS
  private val FailoverSleepBase = YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_BASE_MS
  private val FailoverSleepMax = YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS
  /** Under HA, the AM's sleeps between failovers: from 1 s, doubling up to 10 s. */
  val AmFailoverSleepBaseMs = 1000L
  val AmFailoverSleepMaxMs = 10000L

  /** The ApplicationMaster's configuration (the cluster's, as its container gets it).
    * Under HA YARN's client sleeps the retry interval (30 s by default, times 0.5 to 1.5)
    * before each failover after the first: an AM whose heartbeat found the standby not yet
    * active (it takes about 10 s, the dead one's ZooKeeper session expiring) reached the
    * new active only a minute after the failover, where its NodeManagers took 12 to 25 s.
    * Shorter sleeps, and as many attempts as fill the same max wait (15 minutes by
    * default). Values the cluster sets are kept. */
  def forApplicationMaster(conf: YarnConfiguration): YarnConfiguration = {
    if (HAUtil.isHAEnabled(conf)) {
      if (isDefault(conf, FailoverSleepBase)) conf.setLong(FailoverSleepBase, AmFailoverSleepBaseMs)
      if (isDefault(conf, FailoverSleepMax)) conf.setLong(FailoverSleepMax, AmFailoverSleepMaxMs)
      val maxWait = conf.getLong(RmMaxWaitKey, YarnConfiguration.DEFAULT_RESOURCEMANAGER_CONNECT_MAX_WAIT_MS)
      if (isDefault(conf, FailoverMaxAttempts) && maxWait >= 0)
        conf.setInt(FailoverMaxAttempts,
          math.max(1L, maxWait / math.max(1L, conf.getLong(FailoverSleepMax, AmFailoverSleepMaxMs))).toInt)
    }
    conf
  }

  private def isDefault(conf: YarnConfiguration, key: String): Boolean =
    Option(conf.getPropertySources(key)).forall(_.forall(_.endsWith("-default.xml")))
}
