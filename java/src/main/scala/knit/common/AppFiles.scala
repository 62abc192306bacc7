package knit.common

/** Names shared by the client, which stages an application, and the AM, which reads it. */
object AppFiles {
  /** Container environment: seconds a container's NodeManager watch lets its NodeManager
    * refuse connections before ending the container (the AM sets it from YARN's
    * `yarn.nm.liveness-monitor.expiry-interval-ms`). */
  val NodeManagerGivenUpAfterVar = "KNIT_NM_GIVEN_UP_AFTER_S"
  /** Container environment of applications whose AM renews delegation tokens
    * (knit.am.WorkerLaunch sets them; the command script's token updater reads them): where
    * the AM writes renewed tokens, and how often the updater looks there. */
  val TokensDirVar = "KNIT_TOKENS_DIR"
  val TokenPollMsVar = "KNIT_TOKEN_POLL_MS"
  /** Container environment of applications started from a ticket cache: when their tokens
    * expire, in seconds since the epoch (named by the command script when a command fails
    * after it). */
  val TokensExpireAtVar = "KNIT_TOKENS_EXPIRE_AT"
  /** Container environment: the classpath of knit's small JVM helpers in a container. */
  val ClasspathVar = "KNIT_CLASSPATH"
  /** Under the user's HDFS home: `.knit/<application id>/`. */
  val StagingRoot = ".knit"
  /** Container environment: the packed environment's interpreter, for commands. */
  val PythonBinVar = "PYTHON_BIN"
  /** knit's jar, localized for the AM. */
  val Jar = "knit.jar"
  /** The application description the AM reads (JSON of a `Messages.StagedApp`). */
  val Spec = "knit-app.json"
  /** The gateway's token and certificate, for `knit.connect` (mode 600; never the key). */
  val ClientSecrets = "knit-client.json"
  /** Starts the AM's JVM, with a class-data archive where the node has one (the resource
    * `knit/am-launch.sh`; knit.am.ClassArchive). */
  val AmLaunch = "knit-am.sh"
  /** The user's command, run by bash in every container. */
  val Command = "knit-command.sh"
  /** The user's keytab (Knit(keytab=...)), localized for the AM alone. */
  val Keytab = "knit.keytab"
  /** The client's krb5.conf, when it names its own (KRB5_CONFIG), localized with the keytab. */
  val Krb5Conf = "krb5.conf"
  /** Subdirectory of the staging dir where the AM writes renewed delegation tokens. */
  val TokensDir = "tokens"
  /** In the staging dir: how many containers the application should have (knit.am.TargetRecord). */
  val Target = "target"
  /** Subdirectory of the staging dir holding the user's `files`, localized in containers. */
  val FilesDir = "files"
  /** The role of the containers that run the application's own command. */
  val MainRole = "main"
  /** Subdirectory of the staging dir with one dir per other role (`roles/<name>/`), each
    * holding its command script, its `files/` and `role.xml` (its size and priority). */
  val RolesDir = "roles"
  val RoleSpec = "role.xml"
  /** role.xml keys (the YARN priority tells a role's allocations from others'). */
  val RoleMemory = "knit.role.memory-mb"
  val RoleVcores = "knit.role.vcores"
  val RolePriority = "knit.role.priority"
  val RoleMaxRestarts = "knit.role.max-restarts"
  /** Prefix of a role's other resource types: `knit.role.resource.yarn.io/gpu`. */
  val RoleResourcePrefix = "knit.role.resource."
  /** Role names: plain, they become directory names. */
  val RoleName = "[A-Za-z][A-Za-z0-9_-]{0,63}"
  /** Credentials secret key holding the AM gateway token. */
  val GatewayTokenKey = "knit.gateway.token"
  /** Credentials secret keys holding the AM gateway's TLS certificate and key (PEM). */
  val GatewayCertKey = "knit.gateway.tls.cert"
  val GatewayKeyKey = "knit.gateway.tls.key"
  /** Every secret key only the AM may hold: removed from the workers' credentials. */
  val AmOnlySecretKeys = Seq(GatewayTokenKey, GatewayCertKey, GatewayKeyKey)

  /** Failed containers after which a node is no longer used. */
  val NodeFailuresToExclude = 3
  /** The directory the environment archive is unpacked into, in each container. */
  val EnvLink = "knit_env"
  /** The client's Hadoop configuration (knit.client.HadoopClientConf), unpacked as this dir. */
  val HadoopConfArchive = "knit-hadoop-conf.zip"
  val HadoopConfLink = "knit-hadoop-conf"
  /** What knit puts in a container's working directory: no file of the user's may take
    * one of these names (knit/validation.py refuses them; tests/test_contract.py checks
    * that both sides list the same). */
  val ContainerReservedNames: Seq[String] =
    Seq(Command, Jar, Spec, EnvLink, Keytab, HadoopConfLink, HadoopConfArchive)

  /** Archives YARN unpacks (under their own name); anything else is a plain file. */
  def isArchive(name: String): Boolean = {
    val n = name.toLowerCase
    n.endsWith(".zip") || n.endsWith(".tar.gz") || n.endsWith(".tgz") || n.endsWith(".tar")
  }

  /** The AM's launch script (`AmLaunch`), from knit.jar. */
  lazy val AmLaunchScript: String = {
    val in = resource("/knit/am-launch.sh")
    try scala.io.Source.fromInputStream(in, "UTF-8").mkString finally in.close()
  }

  /** A resource of knit.jar; one missing means a broken build, said so rather than an NPE. */
  private def resource(name: String): java.io.InputStream =
    Option(getClass.getResourceAsStream(name)).getOrElse(throw new IllegalStateException(
      s"knit.jar lacks its resource $name: this knit was built incompletely; reinstall knit"))

  /** JVM options every JVM knit starts gets, whatever Java (8 to 21) and NodeManager
    * version: the resource `knit/jvm-compat-options.txt` (also read by knit/java.py). */
  lazy val JvmCompatOptions: Seq[String] = {
    val in = resource("/knit/jvm-compat-options.txt")
    try scala.io.Source.fromInputStream(in, "UTF-8").getLines()
      .map(_.trim).filter(l => l.nonEmpty && !l.startsWith("#")).toList
    finally in.close()
  }
}
