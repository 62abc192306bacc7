package knit.client

import java.io.{ByteArrayOutputStream, IOException, InputStream}
import java.net.{HttpURLConnection, URL}

import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

import knit.common.Messages

/** Reads running containers' logs from their NodeManagers' REST API, which answers in the
  * same dump format as aggregated logs (parsed by `AggregatedLogs.parse`). */
object LiveLogs {
  private val log = LoggerFactory.getLogger(getClass)
  private val ConnectTimeoutMs = 5000
  private val ReadTimeoutMs = 30000

  /** `files` of each (container id, NM http address). */
  def read(conf: YarnConfiguration, containers: Seq[(String, String)],
      files: Seq[String] = Seq("stdout", "stderr")): Messages.LiveLogsRead = {
    val scheme = if (YarnConfiguration.useHttps(conf)) "https" else "http"
    val user = UserGroupInformation.getCurrentUser.getShortUserName
    val unreadable = Map.newBuilder[String, String]
    val logs = containers.map { case (id, nodeHttp) =>
      id -> files.map { file =>
        val url = new URL(s"$scheme://$nodeHttp/ws/v1/node/containerlogs/$id/$file?user.name=$user")
        val text =
          try fetch(url) match {
            case Right(body) => AggregatedLogs.parse(body).get(id).flatMap(_.get(file)).getOrElse("")
            case Left(status) =>
              // A secure NodeManager without Hadoop's native code answers 500 (SecureIOUtils).
              log.warn(s"Cannot read $file of $id from $nodeHttp: HTTP $status")
              unreadable += id -> s"its NodeManager at $nodeHttp answered HTTP $status (see its log)"
              ""
          } catch {
            case e: IOException =>
              log.warn(s"Cannot read $file of $id from $nodeHttp: $e")
              unreadable += id -> s"its NodeManager at $nodeHttp did not answer ($e)"
              ""
          }
        file -> text
      }.toMap
    }.toMap
    Messages.LiveLogsRead(logs, unreadable.result())
  }

  /** The body of a 200 answer; the status of any other (404: the container wrote no such
    * file yet, which is no error). */
  private def fetch(url: URL): Either[Int, Array[Byte]] = {
    val http = url.openConnection().asInstanceOf[HttpURLConnection]
    http.setConnectTimeout(ConnectTimeoutMs)
    http.setReadTimeout(ReadTimeoutMs)
    try {
      http.getResponseCode match {
        case 200 => Right(readAll(http.getInputStream))
        case 404 => Right(Array.emptyByteArray)
        case other => Left(other)
      }
    } finally http.disconnect()
  }

  private def readAll(in: InputStream): Array[Byte] = {
    val out = new ByteArrayOutputStream()
    val buf = new Array[Byte](1 << 16)
    try Iterator.continually(in.read(buf)).takeWhile(_ != -1).foreach(out.write(buf, 0, _))
    finally in.close()
    out.toByteArray
  }
}
