package knit.common

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}

/** Structured values cross the Py4J gateways as JSON text: Python gets plain dicts and
  * lists, and no proxy objects are left on either side to be garbage-collected across
  * the wire. Jackson is part of every Hadoop classpath. */
object Json {
  private val mapper = new ObjectMapper()

  def write(value: Any): String = mapper.writeValueAsString(toJava(value))

  def read(text: String): JsonNode = mapper.readTree(text)

  /** A JSON object of strings as a Scala map (null or "" -> empty). */
  def stringMap(text: String): Map[String, String] =
    if (text == null || text.isEmpty) Map.empty
    else read(text).properties().asScala.map(e => e.getKey -> e.getValue.asText).toMap

  private def toJava(v: Any): Any = v match {
    case m: Map[_, _] => m.map { case (k, x) => k.toString -> toJava(x) }.asJava
    case s: Iterable[_] => s.map(toJava).toSeq.asJava
    case o: Option[_] => o.map(toJava).orNull
    case x => x
  }
}
