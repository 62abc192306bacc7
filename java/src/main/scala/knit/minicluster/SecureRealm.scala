package knit.minicluster

import java.io.File
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions

import org.apache.hadoop.minikdc.MiniKdc

/** A KDC (hadoop-minikdc) and the principals of a Kerberized embedded cluster.
  *
  * Every Hadoop server of the cluster runs as one service principal, `knit/localhost`:
  * they share a JVM, and Hadoop keeps one Kerberos login per JVM (the last login wins), so
  * distinct principals per server would each take the others' identity. The ResourceManager's
  * web UI answers SPNEGO as `HTTP/<host>`. The user principal is named after the OS user, so
  * that containers (run as that user by the default executor) and HDFS agree on who owns what.
  */
class SecureRealm(dir: File, maxTicketLifetimeS: Option[Long] = None) {
  private val kdc = {
    val conf = MiniKdc.createConf()
    conf.setProperty(MiniKdc.DEBUG, "false")
    // Kerby reads it in seconds (MiniKdc's default, 86400000, is far beyond a day).
    maxTicketLifetimeS.foreach(s => conf.setProperty(MiniKdc.MAX_TICKET_LIFETIME, s.toString))
    new MiniKdc(conf, dir)
  }
  val serviceKeytab = new File(dir, "service.keytab")
  val userKeytab = new File(dir, "user.keytab")
  /** The krb5.conf clients use (MIT tools and Java): see `writeClientKrb5Conf`. */
  val clientKrb5Conf = new File(dir, "krb5.conf")
  val userName: String = System.getProperty("user.name")

  def realm: String = kdc.getRealm
  def servicePrincipal: String = s"knit/localhost@$realm"
  def userPrincipal: String = s"$userName@$realm"

  /** Starts the KDC (it sets `java.security.krb5.conf` for this JVM) and writes the keytabs. */
  def start(): Unit = {
    dir.mkdirs()
    kdc.start()
    val hosts = Seq("localhost", "127.0.0.1", java.net.InetAddress.getLocalHost.getHostName,
      java.net.InetAddress.getLocalHost.getCanonicalHostName).distinct
    kdc.createPrincipal(serviceKeytab, ("knit/localhost" +: hosts.map(h => s"HTTP/$h")): _*)
    kdc.createPrincipal(userKeytab, userName)
    writeClientKrb5Conf()
    Seq(serviceKeytab, userKeytab).foreach(f =>
      Files.setPosixFilePermissions(f.toPath, PosixFilePermissions.fromString("rw-------")))
  }

  def stop(): Unit = kdc.stop()

  /** No DNS games: host names are used as written, so a client asks for `HTTP/localhost`
    * when it talks to `http://localhost:...` (a one-machine cluster has no real DNS). */
  private def writeClientKrb5Conf(): Unit = {
    val text =
      s"""[libdefaults]
         |  default_realm = $realm
         |  udp_preference_limit = 1
         |  dns_lookup_kdc = false
         |  dns_lookup_realm = false
         |  dns_canonicalize_hostname = false
         |  rdns = false
         |  forwardable = true
         |
         |[realms]
         |  $realm = {
         |    kdc = ${kdc.getHost}:${kdc.getPort}
         |  }
         |""".stripMargin
    Files.write(clientKrb5Conf.toPath, text.getBytes(UTF_8))
  }

  /** Settings for a secured HDFS and YARN: Kerberos RPC, block tokens, keytabs. */
  def clusterSettings: Map[String, String] = {
    val keytab = serviceKeytab.getAbsolutePath
    val service = servicePrincipal
    Map(
      "hadoop.security.authentication" -> "kerberos",
      "dfs.block.access.token.enable" -> "true",
      // DataNodes of a real secure cluster bind privileged ports or use SASL with TLS;
      // both need root or certificates, which a sandbox does not have.
      "ignore.secure.ports.for.testing" -> "true",
      "dfs.namenode.kerberos.principal" -> service,
      "dfs.namenode.keytab.file" -> keytab,
      "dfs.datanode.kerberos.principal" -> service,
      "dfs.datanode.keytab.file" -> keytab,
      "dfs.web.authentication.kerberos.principal" -> s"HTTP/localhost@$realm",
      "dfs.web.authentication.kerberos.keytab" -> keytab,
      "yarn.resourcemanager.principal" -> service,
      "yarn.resourcemanager.keytab" -> keytab,
      "yarn.nodemanager.principal" -> service,
      "yarn.nodemanager.keytab" -> keytab)
  }

  /** The ResourceManager's web UI and REST API: SPNEGO (any `HTTP/` principal of the
    * keytab, so whichever host name a client uses). Only the ResourceManager's: see
    * `EmbeddedCluster.start`. */
  def resourceManagerWebSettings: Map[String, String] = Map(
    "hadoop.http.filter.initializers" -> "org.apache.hadoop.security.AuthenticationFilterInitializer",
    "hadoop.http.authentication.type" -> "kerberos",
    "hadoop.http.authentication.kerberos.principal" -> "*",
    "hadoop.http.authentication.kerberos.keytab" -> serviceKeytab.getAbsolutePath,
    "hadoop.http.authentication.simple.anonymous.allowed" -> "false")
}
