package knit.client

import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.time.Duration

import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

/** Reads running containers' logs from their NodeManagers' REST API, which answers in the
  * same dump format as aggregated logs (parsed by `AggregatedLogs.parse`). */
object LiveLogs {
  private val log = LoggerFactory.getLogger(getClass)
  private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

  /** {container id -> {file -> contents}} for `files` of each (container id, NM http address). */
  def read(conf: YarnConfiguration, containers: Seq[(String, String)],
      files: Seq[String] = Seq("stdout", "stderr")): Map[String, Map[String, String]] = {
    val scheme = if (YarnConfiguration.useHttps(conf)) "https" else "http"
    val user = UserGroupInformation.getCurrentUser.getShortUserName
    containers.map { case (id, nodeHttp) =>
      id -> files.map { file =>
        val uri = URI.create(s"$scheme://$nodeHttp/ws/v1/node/containerlogs/$id/$file?user.name=$user")
        val text =
          try {
            val response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofByteArray())
            if (response.statusCode == 200) AggregatedLogs.parse(response.body).get(id)
              .flatMap(_.get(file)).getOrElse("")
            else ""
          } catch {
            case e: java.io.IOException =>
              log.warn(s"Cannot read $file of $id from $nodeHttp: $e")
              ""
          }
        file -> text
      }.toMap
    }.toMap
  }
}
