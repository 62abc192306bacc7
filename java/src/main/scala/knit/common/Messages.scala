package knit.common

import java.lang.reflect.{ParameterizedType, Type}

/** The messages between knit's JVMs and Python, defined once on this side: each case class
  * is the message, bound to and from JSON by upickle, with field names in snake_case
  * (`maxRestarts` is `max_restarts`). Python defines the same messages once on its side
  * (knit/messages.py); tests/test_contract.py compares the two through `describe`.
  */
object Messages {

  /** Which cluster a client-JVM call is about, and as whom: the Hadoop conf dir ("" for
    * the default), configuration keys that win over its files, and the user the call acts
    * as through Hadoop's proxy users ("" for the logged-in user). */
  final case class ClusterRef(confDir: String, overrides: Map[String, String], proxyUser: String)

  /** What `Knit.start` asks the client JVM to stage and submit (secrets travel apart). */
  final case class AppSpec(
      name: String,
      queue: String,
      command: String,
      numContainers: Int,
      memory: Int,
      vcores: Int,
      amMemory: Int,
      amVcores: Int,
      knitJar: String,
      files: Seq[String],
      envvars: Map[String, String],
      nodeLabel: Option[String],
      env: Option[String],
      keepAlive: Boolean,
      leaseMs: Long,
      maxRestarts: Int,
      amAttempts: Int,
      principal: Option[String],
      keytab: Option[String],
      /** YARN application tags, beside knit's own. */
      tags: Seq[String],
      /** Resource types beyond memory and vcores per container. */
      resources: Map[String, Int])

  /** Another kind of container of a running application (`Knit.add_role`). */
  final case class RoleSpec(
      name: String,
      command: String,
      memory: Int,
      vcores: Int,
      files: Seq[String],
      envvars: Map[String, String],
      withEnv: Boolean,
      renewsTokens: Boolean,
      resources: Map[String, Int],
      /** How many of the role's lost containers the AM replaces. */
      maxRestarts: Int)

  /** One of an application's containers, as its ApplicationMaster knows it. */
  final case class Container(
      id: String,
      role: String,
      node: String,
      nodeHttp: String,
      state: String,
      memoryMb: Int,
      vcores: Int,
      allocatedAt: Long,
      exitStatus: Option[Int],
      outcome: Option[String],
      diagnostics: String,
      launchedAt: Option[Long],
      finishedAt: Option[Long],
      /** The variables this container got on top of its role's (`addContainers`). */
      envvars: Map[String, String])

  /** The AM's answer about its containers: `finished` is final only while `attempt` is
    * YARN's current attempt. `amContainer` and `amNodeHttp` say where the AM itself runs
    * (its logs are read like the containers'; "" outside YARN). */
  final case class ContainerList(finished: Boolean, attempt: Int, containers: Seq[Container],
      amContainer: String, amNodeHttp: String, restarts: Map[String, RoleRestarts])

  /** A role's replacements of lost containers, as this AM attempt counts them: its budget,
    * those made, and losses left unreplaced (the budget was spent, or a replacement
    * would have failed). Preempted containers are replaced without counting. */
  final case class RoleRestarts(maxRestarts: Int, used: Int, unreplaced: Int)

  /** The ResourceManager's report of an application. */
  final case class ApplicationReport(
      appId: String,
      name: String,
      user: String,
      queue: String,
      state: String,
      finalStatus: String,
      diagnostics: String,
      amHost: String,
      amPort: Int,
      trackingUrl: String,
      startTime: Long,
      finishTime: Long,
      logAggregationStatus: String,
      attempt: Int)

  /** The AM gateway's secrets, which Python makes per application and which travel in the
    * AM's YARN credentials only (and, for `knit.connect`, in a mode-600 file of the
    * private staging dir). */
  final case class GatewaySecrets(token: String, tlsCert: String, tlsKey: String)

  /** What `submit` answers. */
  final case class Submitted(appId: String, stagingDir: String, uploadedBytes: Long)

  /** What another process of the same user needs to attach to a running application
    * (`knit.connect`), read from its private staging dir. */
  final case class Attachment(appId: String, stagingDir: String, token: String, tlsCert: String,
      withEnv: Boolean, renewsTokens: Boolean, roles: Seq[String])

  /** A packed environment stored in HDFS (`list_envs`): its sha256, file name, size in
    * bytes and modification time in ms since the epoch. */
  final case class StoredEnv(sha256: String, name: String, size: Long, modified: Long)

  /** Running containers' logs read from their NodeManagers: {container id: {file:
    * contents}}, and why the others could not be read {container id: reason}. */
  final case class LiveLogsRead(logs: Map[String, Map[String, String]], unreadable: Map[String, String])

  /** A staging dir `clean` (or a start's sweep) removed: its application, that
    * application's state (UNKNOWN: the ResourceManager does not know it) and how long ago it
    * ended (ms; for an unknown one, since its dir last changed). */
  final case class RemovedStaging(appId: String, state: String, ageMs: Long)

  /** Every message Python shares, by name (what `describe` reports). */
  val All: Seq[Class[_]] = Seq(classOf[ClusterRef], classOf[AppSpec], classOf[RoleSpec], classOf[Container],
    classOf[ContainerList], classOf[ApplicationReport], classOf[GatewaySecrets],
    classOf[Submitted], classOf[Attachment], classOf[StoredEnv], classOf[LiveLogsRead],
    classOf[RemovedStaging], classOf[RoleRestarts])

  /** What the client stages for the ApplicationMaster (`knit-app.json`): the request, and
    * what staging it produced. Between the JVMs only. */
  final case class StagedApp(
      spec: AppSpec,
      stagingDir: String,
      jarPath: String,
      envArchive: Option[String],
      /** Hosts to spread node-local asks over, and the NodeManagers (host:port) at submission. */
      nodes: Seq[String],
      nodeIds: Seq[String],
      /** Whether the AM renews delegation tokens from the shipped keytab. */
      renewsTokens: Boolean)

  /** upickle as the contract wants it: snake_case keys, None as null, and a key this
    * side does not know refused (a field Python sends that the JVM lacks is a contract
    * break, not noise). Every field must be present: none has a default. */
  object Wire extends upickle.AttributeTagged {
    override def objectAttributeKeyReadMap(s: CharSequence): CharSequence = camel(s.toString)
    override def objectAttributeKeyWriteMap(s: CharSequence): CharSequence = snake(s.toString)
    override def allowUnknownKeys: Boolean = false
    override def optionsAsNulls: Boolean = true

    // upickle reads null as 0, false or a null String, and "7" as the number 7; only an
    // Option may be null here, and a number must be one.
    private def strict[T](reader: upickle.core.Visitor[Any, T], number: Boolean = false): Reader[T] =
      new Reader.Delegate[Any, T](reader) {
        override def visitNull(index: Int): T = throw new upickle.core.Abort("expected a value, got null")
        override def visitString(s: CharSequence, index: Int): T =
          if (number) throw new upickle.core.Abort("expected a number, got a string")
          else super.visitString(s, index)
      }
    override implicit val IntReader: Reader[Int] = strict(upickle.default.IntReader, number = true)
    override implicit val LongReader: Reader[Long] = strict(upickle.default.LongReader, number = true)
    override implicit val BooleanReader: Reader[Boolean] = strict(upickle.default.BooleanReader)
    override implicit val StringReader: Reader[String] = strict(upickle.default.StringReader)
  }

  // Readers and writers, made by upickle's macros at compile time (inner messages first).
  implicit val clusterRefRw: Wire.ReadWriter[ClusterRef] = Wire.macroRW
  implicit val appSpecRw: Wire.ReadWriter[AppSpec] = Wire.macroRW
  implicit val roleSpecRw: Wire.ReadWriter[RoleSpec] = Wire.macroRW
  implicit val containerRw: Wire.ReadWriter[Container] = Wire.macroRW
  implicit val roleRestartsRw: Wire.ReadWriter[RoleRestarts] = Wire.macroRW
  implicit val containerListRw: Wire.ReadWriter[ContainerList] = Wire.macroRW
  implicit val applicationReportRw: Wire.ReadWriter[ApplicationReport] = Wire.macroRW
  implicit val gatewaySecretsRw: Wire.ReadWriter[GatewaySecrets] = Wire.macroRW
  implicit val submittedRw: Wire.ReadWriter[Submitted] = Wire.macroRW
  implicit val attachmentRw: Wire.ReadWriter[Attachment] = Wire.macroRW
  implicit val stagedAppRw: Wire.ReadWriter[StagedApp] = Wire.macroRW
  implicit val storedEnvRw: Wire.ReadWriter[StoredEnv] = Wire.macroRW
  implicit val liveLogsReadRw: Wire.ReadWriter[LiveLogsRead] = Wire.macroRW
  implicit val removedStagingRw: Wire.ReadWriter[RemovedStaging] = Wire.macroRW

  /** A message, or a plain value of strings, whole numbers, booleans, options, sequences
    * and string-keyed maps (upickle's writers, chosen at compile time), as JSON. */
  def toJson[T: Wire.Writer](message: T): String = Wire.write(message)

  /** The message of type `T` in `json`; a missing, unknown or mistyped field throws an
    * IllegalArgumentException that names it. */
  def fromJson[T: Wire.Reader](json: String): T =
    try Wire.read[T](json)
    catch {
      case e: upickle.core.AbortException =>
        throw new IllegalArgumentException(s"Not a valid message: ${e.getMessage}", e)
      case e: ujson.ParsingFailedException =>
        throw new IllegalArgumentException(s"Not JSON: ${e.getMessage}", e)
    }

  /** {message: {field (snake_case): coarse type}}, the same shape as knit/messages.py's
    * `field_types`: str, int, bool, list, dict or optional[...]. */
  def describe(): Map[String, Map[String, String]] =
    All.map(cls => cls.getSimpleName -> cls.getDeclaredFields.toSeq
      .filterNot(f => java.lang.reflect.Modifier.isStatic(f.getModifiers))
      .map(f => snake(f.getName) -> coarse(f.getGenericType)).toMap).toMap

  private def snake(name: String): String = name.replaceAll("([A-Z])", "_$1").toLowerCase

  private def camel(name: String): String = "_([a-z])".r.replaceAllIn(name, m => m.group(1).toUpperCase)

  private def coarse(t: Type): String = t match {
    case p: ParameterizedType if p.getRawType == classOf[Option[_]] =>
      // Option[Int] and Option[Long] erase to Option<Object>: boxed numbers.
      val inner = p.getActualTypeArguments()(0)
      s"optional[${if (inner == classOf[Object]) "int" else coarse(inner)}]"
    case p: ParameterizedType => coarse(p.getRawType)
    case c: Class[_] if c == classOf[String] => "str"
    case c: Class[_] if c == java.lang.Integer.TYPE || c == java.lang.Long.TYPE => "int"
    case c: Class[_] if c == java.lang.Boolean.TYPE => "bool"
    case c: Class[_] if classOf[scala.collection.Map[_, _]].isAssignableFrom(c) => "dict"
    case c: Class[_] if classOf[scala.collection.Seq[_]].isAssignableFrom(c) => "list"
    case other => other.getTypeName
  }
}
