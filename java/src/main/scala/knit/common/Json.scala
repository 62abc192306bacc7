package knit.common

/** Structured values cross the Py4J gateways as JSON text: Python gets plain dicts and
  * lists, and no proxy objects are left on either side to be garbage-collected across
  * the wire. Messages with a fixed shape are `Messages`; this is for the loose ones. */
object Json {

  /** Scala maps (string keys), sequences, options, strings, whole numbers and booleans as
    * JSON (no doubles: ujson's writer of those is left out of knit.jar, see java/pom.xml). */
  def write(value: Any): String = ujson.write(toValue(value))

  /** A JSON object of strings as a Scala map (null or "" -> empty). */
  def stringMap(text: String): Map[String, String] =
    if (text == null || text.isEmpty) Map.empty
    else
      try ujson.read(text).obj.map { case (k, v) => k -> v.str }.toMap
      catch {
        case e @ (_: ujson.ParsingFailedException | _: ujson.Value.InvalidData) =>
          throw new IllegalArgumentException(s"Not a JSON object of strings: ${e.getMessage}", e)
      }

  private def toValue(v: Any): ujson.Value = v match {
    case null | None => ujson.Null
    case Some(x) => toValue(x)
    case s: String => ujson.Str(s)
    case b: Boolean => ujson.Bool(b)
    case n: Int => ujson.Num(n.toDouble)
    case n: Long => ujson.Num(n.toDouble) // exact below 2^53: sizes, epoch milliseconds
    case m: scala.collection.Map[_, _] =>
      ujson.Obj.from(m.map { case (k, x) => k.toString -> toValue(x) })
    case s: Iterable[_] => ujson.Arr.from(s.map(toValue))
    case other => throw new IllegalArgumentException(s"Not a JSON value: ${other.getClass.getName}")
  }
}
