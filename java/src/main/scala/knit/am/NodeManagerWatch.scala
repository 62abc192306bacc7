package knit.am

import java.io.IOException
import java.net.{ConnectException, HttpURLConnection, URL}
import java.util.concurrent.{Executors, ScheduledExecutorService, TimeUnit}

import org.apache.hadoop.util.Time
import org.apache.hadoop.yarn.api.ApplicationConstants.Environment
import org.apache.hadoop.yarn.conf.YarnConfiguration
import org.slf4j.LoggerFactory

/** Whether YARN has given up a container, from its NodeManager's REST API's answers about
  * it: a NodeManager started again without recovery answers 404 (it no longer knows the
  * container); one that stays away longer than YARN waits for a node
  * (`yarn.nm.liveness-monitor.expiry-interval-ms`, 10 minutes by default) has been declared
  * lost, and its containers with it, by the ResourceManager. A NodeManager that is only
  * restarting (a rolling upgrade with recovery keeps its containers) refuses connections
  * for a while and comes back: that ends nothing. Pure: it counts answers (`None` for a
  * refused connection) at times given by the caller. It arms on the first 200, so a
  * NodeManager it cannot ask (HTTPS only, SPNEGO) never ends anything.
  */
final class NodeManagerVerdict(givenUpAfterMs: Long) {
  private var armed = false
  private var silentSince: Option[Long] = None

  /** One answer at `nowMs` (a monotonic clock); returns why the container should end, once
    * it should. */
  def observe(answer: Option[Int], nowMs: Long): Option[String] = answer match {
    case Some(200) => armed = true; silentSince = None; None
    case _ if !armed => None
    case Some(404) => Some("its NodeManager no longer knows this container (started again without recovery?)")
    case None =>
      val since = silentSince.getOrElse(nowMs)
      silentSince = Some(since)
      if (nowMs - since >= givenUpAfterMs)
        Some(s"its NodeManager has refused connections for ${(nowMs - since) / 1000} s, longer " +
          "than YARN waits for a node (yarn.nm.liveness-monitor.expiry-interval-ms): YARN has " +
          "declared it lost")
      else None
    case Some(_) => silentSince = None; None
  }
}

/** Ends this ApplicationMaster when its own NodeManager is gone or no longer runs it: a new
  * attempt elsewhere takes over (the container shell scripts watch the same way, see
  * knit.client.CommandScript.NodeManagerWatch). */
object NodeManagerWatch {
  private val log = LoggerFactory.getLogger(getClass)
  val IntervalMs = 5000L

  /** How long YARN waits for a NodeManager before declaring it lost. */
  def givenUpAfterMs(conf: org.apache.hadoop.conf.Configuration): Long =
    conf.getLong(YarnConfiguration.RM_NM_EXPIRY_INTERVAL_MS,
      YarnConfiguration.DEFAULT_RM_NM_EXPIRY_INTERVAL_MS)

  /** Starts watching, if this process runs in a container; calls `end` with the reason. */
  def start(user: String, givenUpAfterMs: Long, end: String => Unit): Option[ScheduledExecutorService] =
    for {
      host <- Option(System.getenv(Environment.NM_HOST.name))
      port <- Option(System.getenv(Environment.NM_HTTP_PORT.name))
      container <- Option(System.getenv(Environment.CONTAINER_ID.name))
    } yield {
      val url = new URL(s"http://$host:$port/ws/v1/node/containers/$container?user.name=$user")
      val verdict = new NodeManagerVerdict(givenUpAfterMs)
      val timer = Executors.newSingleThreadScheduledExecutor { r =>
        val t = new Thread(r, "nodemanager-watch"); t.setDaemon(true); t
      }
      timer.scheduleWithFixedDelay(() => verdict.observe(ask(url), Time.monotonicNow()).foreach { reason =>
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
