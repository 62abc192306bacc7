package knit.minicluster

import java.io.File

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.hdfs.{HdfsConfiguration, MiniDFSCluster}
import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.api.records.NodeState
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.apache.hadoop.yarn.server.MiniYARNCluster
import org.apache.hadoop.yarn.webapp.util.WebAppUtils
import org.slf4j.LoggerFactory

/** Where clients find a started cluster. */
case class ClusterAddresses(
    defaultFs: String,
    webHdfs: String,
    resourceManager: String,
    resourceManagerWeb: String,
    kerberos: Option[KerberosAddresses] = None)

/** What a client of a Kerberized cluster needs: the realm's krb5.conf, and the user's keytab. */
case class KerberosAddresses(krb5Conf: String, principal: String, keytab: String)

object EmbeddedCluster {
  val ServerSiteFile = "knit-minicluster-site.xml"
}

/** One NameNode + DataNode and one ResourceManager + `nodeManagers` NodeManagers, in-process.
  *
  * YARN's defaults are kept (NodeManager heartbeat, capacity scheduler) so that timings mean
  * what they mean on a real cluster; `clusterConf` lists the few changes a one-machine
  * cluster needs. The working directory of the JVM must be `workDir`: MiniYARNCluster puts
  * its files under `target/` relative to it.
  *
  * @param applicationClasspath what containers get as `yarn.application.classpath`
  * @param settings     configuration the caller wants on top (applied last, they win)
  * @param kerberos     secure the cluster: a KDC, Kerberos RPC and SPNEGO (see SecureRealm)
  */
class EmbeddedCluster(
    workDir: File,
    nodeManagers: Int,
    nodeManagerMemoryMb: Int,
    applicationClasspath: Seq[String],
    settings: Map[String, String] = Map.empty,
    kerberos: Boolean = false,
    homes: Seq[String] = Nil,
    ticketLifetimeS: Option[Long] = None) {

  private val log = LoggerFactory.getLogger(getClass)
  @volatile private var dfs: Option[MiniDFSCluster] = None
  @volatile private var yarn: Option[MiniYARNCluster] = None
  private val realm = if (kerberos) Some(new SecureRealm(new File(workDir, "kdc"), ticketLifetimeS)) else None

  require(nodeManagers >= 1, s"nodeManagers must be at least 1, got $nodeManagers")

  /** Starts HDFS, then YARN; returns once HDFS is out of safe mode and every NM is RUNNING. */
  def start(timeoutMs: Long): (Configuration, ClusterAddresses) = {
    // Localization sets permissions file by file; without libhadoop.so each is a fork of
    // chmod (see NioLocalFs). A default resource, because NodeManagers build some of their
    // Configurations themselves; SiteFiles keeps the key out of the clients' files.
    Configuration.addDefaultResource(EmbeddedCluster.ServerSiteFile)
    val deadline = System.currentTimeMillis() + timeoutMs
    val hdfsConf = new HdfsConfiguration()
    hdfsConf.setInt("dfs.replication", 1) // one DataNode
    hdfsConf.setBoolean("dfs.webhdfs.enabled", true)
    realm.foreach { r =>
      r.start()
      r.clusterSettings.foreach { case (k, v) => hdfsConf.set(k, v, "knit MiniCluster(kerberos=True)") }
      UserGroupInformation.setConfiguration(hdfsConf)
    }
    settings.foreach { case (k, v) => hdfsConf.set(k, v, "knit MiniCluster(config=...)") }
    val dfsCluster = new MiniDFSCluster.Builder(hdfsConf, new File(workDir, "dfs"))
      .numDataNodes(1)
      .build()
    dfs = Some(dfsCluster)
    dfsCluster.waitActive()
    waitFor(deadline, "HDFS to leave safe mode")(!dfsCluster.getNameNode.isInSafeMode)

    val nn = dfsCluster.getNameNode
    val defaultFs = dfsCluster.getURI.toString
    val nnHttp = nn.getHttpAddress
    val conf = clusterConf(new YarnConfiguration(hdfsConf), defaultFs)
    conf.set("dfs.namenode.http-address", s"${nnHttp.getHostString}:${nnHttp.getPort}")

    val yarnCluster = new MiniYARNCluster("knit", 1, nodeManagers, 1, 1)
    yarn = Some(yarnCluster)
    yarnCluster.init(conf)
    // The NodeManagers copied the conf in init; the ResourceManager reads it again when it
    // starts its web app: so SPNEGO guards the ResourceManager's REST API alone, and
    // containers' logs stay readable from the NodeManagers with the user's name.
    realm.foreach(_.resourceManagerWebSettings.foreach { case (k, v) =>
      yarnCluster.getResourceManager.getConfig.set(k, v, "knit MiniCluster(kerberos=True)")
    })
    yarnCluster.start()
    val rm = yarnCluster.getResourceManager
    waitFor(deadline, s"$nodeManagers NodeManagers to be RUNNING") {
      rm.getRMContext.getRMNodes.values.asScala.count(_.getState == NodeState.RUNNING) ==
        nodeManagers
    }
    // Every web app now started: each gets its own Guice pipeline, so the ResourceManager's
    // HTML pages (/cluster, the proxy's page of a finished app) are not a NodeManager's 404.
    // Should a Hadoop line change the internals this takes, the cluster still starts, with
    // the one pipeline for all that Hadoop leaves (on 3.5 the REST APIs do not use it).
    try OwnGuicePipelines.install(rm, (0 until nodeManagers).map(yarnCluster.getNodeManager))
    catch {
      case e @ (_: ReflectiveOperationException | _: IllegalStateException) =>
        log.warn("Hadoop's web apps share one Guice pipeline: the ResourceManager's web " +
          "pages answer 404 (YARN-7747)", e)
    }

    // The cluster's own conf now holds the ports that were bound (all were 0).
    val live = yarnCluster.getConfig
    // The ResourceManager serves its web proxy itself; the proxy links it hands out
    // (applications' tracking URLs) name its web address, now bound, not the port 0 asked.
    val addresses = ClusterAddresses(
      defaultFs = defaultFs,
      webHdfs = s"http://${nnHttp.getHostString}:${nnHttp.getPort}/webhdfs/v1",
      resourceManager = live.get(YarnConfiguration.RM_ADDRESS),
      resourceManagerWeb = WebAppUtils.getRMWebAppURLWithScheme(live),
      kerberos = realm.map(r => KerberosAddresses(r.clientKrb5Conf.getAbsolutePath, r.userPrincipal,
        r.userKeytab.getAbsolutePath)))
    userDirs(live, realm.map(_.userName).toSeq ++ homes)
    log.info(s"Embedded cluster ready: $addresses")
    (live, addresses)
  }

  /** The users' homes, owned by them, and a world-writable /tmp (YARN's aggregated logs go
    * under it). On a secured HDFS the superuser is the service principal, not the OS user:
    * it makes the OS user's home too. */
  private def userDirs(conf: Configuration, users: Seq[String]): Unit = {
    val fs = FileSystem.get(conf)
    users.distinct.foreach { user =>
      val home = new Path(s"/user/$user")
      fs.mkdirs(home)
      fs.setOwner(home, user, null)
    }
    fs.mkdirs(new Path("/tmp"))
    fs.setPermission(new Path("/tmp"), new FsPermission("1777"))
  }

  /** `n` distinct ports free now (all held open at once, then released), below the
    * kernel's ephemeral range where it has one: a port from bind(0) can go to an outgoing
    * connection (HDFS starts meanwhile) before the ResourceManager binds it. */
  private def freePorts(n: Int): Seq[Int] = {
    val floor =
      try new String(java.nio.file.Files.readAllBytes(
        java.nio.file.Paths.get("/proc/sys/net/ipv4/ip_local_port_range"))).trim.split("\\s+")(0).toInt
      catch { case _: Exception => 0 }
    val random = new java.util.Random()
    def open(): java.net.ServerSocket =
      if (floor <= 12000) new java.net.ServerSocket(0)
      else Iterator.continually(10000 + random.nextInt(floor - 10000)).map { port =>
        try Some(new java.net.ServerSocket(port))
        catch { case _: java.io.IOException => None }
      }.collectFirst { case Some(s) => s }.get
    val sockets = Seq.fill(n)(open())
    try sockets.map(_.getLocalPort) finally sockets.foreach(_.close())
  }

  /** The only departures from Hadoop's defaults, each for a reason of a one-machine cluster. */
  private def clusterConf(conf: YarnConfiguration, defaultFs: String): YarnConfiguration = {
    conf.set("fs.defaultFS", defaultFs)
    // Containers find Hadoop where a real cluster puts it: yarn.application.classpath.
    // Hadoop's fallbacks ($HADOOP_*_HOME/share/...) do not exist in a Maven-built cluster.
    conf.setStrings(YarnConfiguration.YARN_APPLICATION_CLASSPATH, applicationClasspath: _*)
    // Logs of finished containers are kept in HDFS (under the default /tmp/logs).
    conf.setBoolean(YarnConfiguration.LOG_AGGREGATION_ENABLED, true)
    conf.set(YarnConfiguration.NM_REMOTE_APP_LOG_DIR, "/tmp/logs")
    // Monitor containers like a real NodeManager does (MiniYARNCluster turns monitoring
    // off unless asked), without the virtual-memory check: JVMs and Python reserve far
    // more address space than they use, and on one machine it only produces false kills.
    // (Measured on 3.5.0: a container using 1.5 GB of 1 GB is reported, not killed.)
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_CONTROL_RESOURCE_MONITORING, true)
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false)
    // Developer disks are often over the 90 % at which a NodeManager calls itself unhealthy.
    conf.setFloat(
      YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 99.5f)
    conf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, nodeManagerMemoryMb)
    // ApplicationMasters may use up to 10 % of a queue by default: on 8 GB that is less
    // than two 1 GB AMs, so a sandbox would run one application at a time.
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 0.5f)
    // The ResourceManager's ports, chosen here rather than bound as port 0: with port 0 the
    // ResourceManager hands out proxy links (applications' tracking URLs) to host:0.
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true)
    val host = org.apache.hadoop.yarn.server.MiniYARNCluster.getHostname
    val rmKeys = Seq(YarnConfiguration.RM_ADDRESS, YarnConfiguration.RM_ADMIN_ADDRESS,
      YarnConfiguration.RM_SCHEDULER_ADDRESS, YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS,
      YarnConfiguration.RM_WEBAPP_ADDRESS)
    rmKeys.zip(freePorts(rmKeys.size)).foreach { case (k, port) => conf.set(k, s"$host:$port") }
    settings.foreach { case (k, v) => conf.set(k, v, "knit MiniCluster(config=...)") }
    conf
  }

  /** Stops a NodeManager, by index or node id (host:port): its containers end, and the
    * ResourceManager reports them to their AMs as lost. Returns its node id. */
  def stopNodeManager(which: String): String = synchronized {
    val y = yarn.getOrElse(throw new IllegalStateException("the cluster is not running"))
    val all = (0 until nodeManagers).map(i => y.getNodeManager(i))
    val nm = which.toIntOption match {
      case Some(i) if i >= 0 && i < nodeManagers => all(i)
      case Some(i) => throw new IllegalArgumentException(s"no NodeManager $i (there are $nodeManagers)")
      case None => all.find(_.getNMContext.getNodeId.toString == which)
        .getOrElse(throw new IllegalArgumentException(s"no NodeManager with node id $which"))
    }
    val id = nm.getNMContext.getNodeId.toString
    nm.stop()
    log.info(s"Stopped NodeManager $id")
    id
  }

  /** Stops YARN (which ends its containers) and then HDFS; safe to call more than once. */
  def stop(): Unit = synchronized {
    yarn.foreach { y =>
      try y.stop() catch { case e: Exception => log.warn("Stopping YARN failed", e) }
    }
    yarn = None
    dfs.foreach { d =>
      try d.shutdown(true) catch { case e: Exception => log.warn("Stopping HDFS failed", e) }
    }
    dfs = None
    realm.foreach { r =>
      try r.stop() catch { case e: Exception => log.warn("Stopping the KDC failed", e) }
    }
  }

  private def waitFor(deadline: Long, what: String)(done: => Boolean): Unit = {
    while (!done) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(s"Timed out waiting for $what")
      }
      Thread.sleep(100)
    }
  }
}
