package knit.am

import java.io.IOException
import java.net.{ConnectException, HttpURLConnection, URL}
import java.util.concurrent.{Executors, ScheduledExecutorService, TimeUnit}

import org.apache.hadoop.yarn.api.ApplicationConstants.Environment
import org.slf4j.LoggerFactory

/** Whether the NodeManager that runs a container still does, from the answers of its REST
  * API about that container: a NodeManager killed (it leaves its containers' processes
  * running, outside YARN) stops answering; one started again without recovery answers 404.
  * Pure: it only counts answers (`None` for a refused connection). It arms on the first
  * 200, so a NodeManager it cannot ask (HTTPS only, SPNEGO) never ends anything.
  */
final class NodeManagerVerdict(refusalsToGiveUp: Int = 2) {
  private var armed = false
  private var refusals = 0

  /** One answer; returns why the container should end, once it should. */
  def observe(answer: Option[Int]): Option[String] = answer match {
    case Some(200) => armed = true; refusals = 0; None
    case _ if !armed => None
    case Some(404) => Some("its NodeManager no longer knows this container (started again without recovery?)")
    case None =>
      refusals += 1
      if (refusals >= refusalsToGiveUp) Some(s"its NodeManager refused $refusals connections in a row (gone?)")
      else None
    case Some(_) => refusals = 0; None
  }
}

/** Ends this ApplicationMaster when its own NodeManager is gone or no longer runs it: a new
  * attempt elsewhere takes over (the container shell scripts watch the same way, see
  * knit.client.CommandScript.NodeManagerWatch). */
object NodeManagerWatch {
  private val log = LoggerFactory.getLogger(getClass)
  val IntervalMs = 5000L

  /** Starts watching, if this process runs in a container; calls `end` with the reason. */
  def start(user: String, end: String => Unit): Option[ScheduledExecutorService] =
    for {
      host <- Option(System.getenv(Environment.NM_HOST.name))
      port <- Option(System.getenv(Environment.NM_HTTP_PORT.name))
      container <- Option(System.getenv(Environment.CONTAINER_ID.name))
    } yield {
      val url = new URL(s"http://$host:$port/ws/v1/node/containers/$container?user.name=$user")
      val verdict = new NodeManagerVerdict()
      val timer = Executors.newSingleThreadScheduledExecutor { r =>
        val t = new Thread(r, "nodemanager-watch"); t.setDaemon(true); t
      }
      timer.scheduleWithFixedDelay(() => verdict.observe(ask(url)).foreach { reason =>
        log.warn(s"Ending this ApplicationMaster: $reason")
        timer.shutdown()
        end(reason)
      }, 0, IntervalMs, TimeUnit.MILLISECONDS)
      timer
    }

  /** The HTTP status, None when the connection is refused, Some(-1) for anything else. */
  private def ask(url: URL): Option[Int] = {
    val http = url.openConnection().asInstanceOf[HttpURLConnection]
    http.setConnectTimeout(5000)
    http.setReadTimeout(10000)
    try Some(http.getResponseCode)
    catch {
      case _: ConnectException => None
      case _: IOException => Some(-1)
    } finally http.disconnect()
  }
}
