package knit.common

/** Structured values cross the Py4J gateways as JSON text: Python gets plain dicts and
  * lists, and no proxy objects are left on either side to be garbage-collected across
  * the wire. Answers are written by `Messages.toJson`; this reads the one loose argument
  * Python sends, a JSON object of strings (configuration overrides, log addresses). */
object Json {

  /** A JSON object of strings as a Scala map (null or "" -> empty). */
  def stringMap(text: String): Map[String, String] =
    if (text == null || text.isEmpty) Map.empty
    else
      try ujson.read(text).obj.map { case (k, v) => k -> v.str }.toMap
      catch {
        case e @ (_: ujson.ParsingFailedException | _: ujson.Value.InvalidData) =>
          throw new IllegalArgumentException(s"Not a JSON object of strings: ${e.getMessage}", e)
      }
}
