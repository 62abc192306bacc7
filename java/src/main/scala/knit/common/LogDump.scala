package knit.common

import java.nio.charset.StandardCharsets.UTF_8

/** Hadoop's log dump format, in which both the aggregated logs (knit.client.AggregatedLogs)
  * and a NodeManager's REST API (LiveLogs) answer. */
object LogDump {
  private val ContainerLine = "Container: "
  private val TypeLine = "LogType:"
  private val LengthLine = "LogLength:"
  private val ContentsLine = "LogContents:\n"

  /** Parses Hadoop's log dump format. Contents are taken by their declared byte length, so
    * a log that itself contains header-like lines cannot confuse the parser. */
  def parse(dump: Array[Byte]): Map[String, Map[String, String]] = {
    val text = new String(dump, java.nio.charset.StandardCharsets.ISO_8859_1) // 1 char per byte
    var pos = 0
    var container: String = null
    val result = scala.collection.mutable.LinkedHashMap[String, Map[String, String]]()
    while (pos < text.length) {
      val lineEnd = { val i = text.indexOf('\n', pos); if (i < 0) text.length else i }
      val line = text.substring(pos, lineEnd)
      if (line.startsWith(ContainerLine)) {
        container = line.substring(ContainerLine.length).split(" ")(0)
        pos = lineEnd + 1
      } else if (line.startsWith(TypeLine) && container != null) {
        val logType = line.substring(TypeLine.length).trim
        val lengthAt = text.indexOf(LengthLine, lineEnd)
        val lengthEnd = text.indexOf('\n', lengthAt)
        val length = text.substring(lengthAt + LengthLine.length, lengthEnd).trim.toLong.toInt
        val start = text.indexOf(ContentsLine, lengthEnd) + ContentsLine.length
        val content = new String(dump, start, length, UTF_8)
        val files = result.getOrElse(container, Map.empty)
        result(container) = files + (logType -> (files.getOrElse(logType, "") + content))
        pos = start + length
      } else {
        pos = lineEnd + 1
      }
    }
    result.toMap
  }
}
