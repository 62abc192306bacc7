package knit.common

import java.io.{ByteArrayOutputStream, IOException, InputStream}
import java.net.{HttpURLConnection, URL}

import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory


/** Reads running containers' logs from their NodeManagers' REST API, which answers in the
  * same dump format as aggregated logs (parsed by `LogDump.parse`). */
object LiveLogs {
  private val log = LoggerFactory.getLogger(getClass)
  private val ConnectTimeoutMs = 5000
  private val ReadTimeoutMs = 30000
  /** The files `logs()` returns by default: what the container's command wrote. */
  val StdFiles: Seq[String] = Seq("stdout", "stderr")

  /** `files` of each (container id, NM http address); with `allFiles`, every file its
    * NodeManager lists for the container (launch_container.sh, prelaunch.*, knit's own...). */
  def read(conf: YarnConfiguration, containers: Seq[(String, String)],
      files: Seq[String] = StdFiles, allFiles: Boolean = false): Messages.LiveLogsRead = {
    val scheme = if (YarnConfiguration.useHttps(conf)) "https" else "http"
    val user = UserGroupInformation.getCurrentUser.getShortUserName
    val unreadable = Map.newBuilder[String, String]
    def get(id: String, nodeHttp: String, what: String, path: String,
        accept: Option[String] = None): Option[Array[Byte]] = {
      val url = new URL(s"$scheme://$nodeHttp/ws/v1/node/$path?user.name=$user")
      try fetch(url, accept) match {
        case Right(body) => Some(body)
        case Left(status) =>
          // A secure NodeManager without Hadoop's native code answers 500 (SecureIOUtils).
          log.warn(s"Cannot read $what of $id from $nodeHttp: HTTP $status")
          unreadable += id -> s"its NodeManager at $nodeHttp answered HTTP $status (see its log)"
          None
      } catch {
        case e: IOException =>
          log.warn(s"Cannot read $what of $id from $nodeHttp: $e")
          unreadable += id -> s"its NodeManager at $nodeHttp did not answer ($e)"
          None
      }
    }
    val logs = containers.map { case (id, nodeHttp) =>
      val names =
        if (!allFiles) files
        else {
          val listed = get(id, nodeHttp, "the list of log files", s"containers/$id/logs",
            Some("application/json")).map(listedFiles).getOrElse(Nil)
          (files ++ listed).distinct
        }
      id -> names.map { file =>
        file -> get(id, nodeHttp, file, s"containerlogs/$id/$file")
          .flatMap(body => LogDump.parse(body).get(id).flatMap(_.get(file))).getOrElse("")
      }.toMap
    }.toMap
    Messages.LiveLogsRead(logs, unreadable.result())
  }

  /** The file names in a NodeManager's answer to /ws/v1/node/containers/<id>/logs: one
    * `containerLogsInfo` (local files), or a list of them (local and aggregated, with rolling
    * aggregation), or that list bare, each listing `containerLogInfo` (a list, or one
    * object): JSON providers of Hadoop lines differ in how they write lists. */
  def listedFiles(answer: Array[Byte]): Seq[String] = {
    def many(v: ujson.Value): Seq[ujson.Value] = v match {
      case ujson.Arr(items) => items.toSeq
      case ujson.Null => Nil
      case one => Seq(one)
    }
    if (answer.isEmpty) Nil
    else {
      val infos = ujson.read(answer) match {
        case ujson.Arr(items) => items.toSeq
        case top => top.obj.get("containerLogsInfo").toSeq.flatMap(many)
      }
      infos.flatMap(i => i.obj.get("containerLogInfo").toSeq.flatMap(many))
        .flatMap(_.obj.get("fileName").map(_.str)).distinct
    }
  }

  /** The body of a 200 answer; the status of any other (404: the container wrote no such
    * file yet, which is no error). */
  private def fetch(url: URL, accept: Option[String]): Either[Int, Array[Byte]] = {
    val http = url.openConnection().asInstanceOf[HttpURLConnection]
    accept.foreach(http.setRequestProperty("Accept", _))
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
