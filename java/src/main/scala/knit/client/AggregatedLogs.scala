package knit.client

import java.io.ByteArrayOutputStream

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.yarn.api.records.ApplicationId
import org.apache.hadoop.yarn.logaggregation.ContainerLogsRequest
import org.apache.hadoop.yarn.logaggregation.filecontroller.LogAggregationFileControllerFactory

import knit.common.{LiveLogs, LogDump}

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
    LogDump.parse(out.toByteArray)
  }
}
