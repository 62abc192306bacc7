package knit.common

import java.lang.reflect.{ParameterizedType, Type}

import com.fasterxml.jackson.databind.{DeserializationFeature, ObjectMapper, PropertyNamingStrategies}
import com.fasterxml.jackson.module.scala.DefaultScalaModule

/** The messages between knit's JVMs and Python, defined once on this side: each case class
  * is the message, bound to and from JSON by Jackson, with field names in snake_case
  * (`maxRestarts` is `max_restarts`). Python defines the same messages once on its side
  * (knit/messages.py); tests/test_contract.py compares the two through `describe`.
  */
object Messages {

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
      /** Resource types beyond memory and vcores per container (Int: Jackson binds a
        * Map's numbers boxed as they come, and small ones come as Integer). */
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
      resources: Map[String, Int])

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
      finishedAt: Option[Long])

  /** The AM's answer about its containers: `finished` is final only while `attempt` is
    * YARN's current attempt. */
  final case class ContainerList(finished: Boolean, attempt: Int, containers: Seq[Container])

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

  /** Every message Python shares, by name (what `describe` reports). */
  val All: Seq[Class[_]] = Seq(classOf[AppSpec], classOf[RoleSpec], classOf[Container],
    classOf[ContainerList], classOf[ApplicationReport], classOf[GatewaySecrets],
    classOf[Submitted], classOf[Attachment])

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

  private val mapper = new ObjectMapper()
    .registerModule(DefaultScalaModule)
    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
    // A field Python sends that this side does not know is a contract break, not noise.
    .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
    .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)

  def toJson(message: AnyRef): String = mapper.writeValueAsString(message)

  def fromJson[T](json: String, cls: Class[T]): T = mapper.readValue(json, cls)

  /** {message: {field (snake_case): coarse type}}, the same shape as knit/messages.py's
    * `field_types`: str, int, bool, list, dict or optional[...]. */
  def describe(): Map[String, Map[String, String]] =
    All.map(cls => cls.getSimpleName -> cls.getDeclaredFields.toSeq
      .filterNot(f => java.lang.reflect.Modifier.isStatic(f.getModifiers))
      .map(f => snake(f.getName) -> coarse(f.getGenericType)).toMap).toMap

  private def snake(name: String): String = name.replaceAll("([A-Z])", "_$1").toLowerCase

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
