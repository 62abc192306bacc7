package knit.client

import java.io.ByteArrayOutputStream
import java.nio.charset.StandardCharsets.UTF_8

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.yarn.api.records.ApplicationId
import org.apache.hadoop.yarn.logaggregation.ContainerLogsRequest
import org.apache.hadoop.yarn.logaggregation.filecontroller.LogAggregationFileControllerFactory

/** Reads a finished application's logs from where the NodeManagers aggregated them. */
object AggregatedLogs {

  /** {container id -> {log file name -> contents}} for every container of the application:
    * stdout and stderr, or with `allFiles` every file aggregated. */
  def read(conf: Configuration, appId: ApplicationId, owner: String,
      allFiles: Boolean): Map[String, Map[String, String]] = {
    val controller = new LogAggregationFileControllerFactory(conf).getFileControllerForRead(appId, owner)
    val request = new ContainerLogsRequest()
    request.setAppId(appId)
    request.setAppOwner(owner)
    request.setAppFinished(true)
    request.setBytes(Long.MaxValue)
    val types = new java.util.HashSet[String]() // empty: every log file
    if (!allFiles) LiveLogs.StdFiles.foreach(types.add)
    request.setLogTypes(types)
    val out = new ByteArrayOutputStream()
    controller.readAggregatedLogs(request, out)
    parse(out.toByteArray)
  }

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
