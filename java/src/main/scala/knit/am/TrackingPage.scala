package knit.am

import java.net.URI
import javax.servlet.http.{HttpServlet, HttpServletRequest, HttpServletResponse}

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.http.HttpServer2
import org.apache.hadoop.yarn.webapp.util.WebAppUtils
import org.slf4j.LoggerFactory

import knit.common.Messages

/** The application's tracking URL, which YARN's UI links to (through the ResourceManager's
  * proxy): a page of its containers and the links its client registered (the Dask
  * dashboard). Read-only, and answers the proxy alone (`ProxyOnly`). */
final class TrackingPage private (val url: String, stopServer: () => Unit) {
  def stop(): Unit = stopServer()
}

object TrackingPage {
  private val log = LoggerFactory.getLogger(getClass)
  private val AnswerKey = "knit.answer"
  private[am] val Forbidden = "Open this page through the ResourceManager's web UI (its proxy)."

  /** Whether this JVM has the JDK's HTTP server: jlinked runtimes may leave out its module
    * (jdk.httpserver), and then the page runs on Hadoop's HttpServer2. */
  private[am] lazy val jdkServer: Boolean =
    scala.util.Try(Class.forName("com.sun.net.httpserver.HttpServer")).isSuccess

  /** What the page answers a GET from `peer` (an IP address): HTTP status and body. */
  private[am] def answer(peer: String, proxies: ProxyOnly, page: () => String): (Int, String) =
    if (proxies.allows(peer)) (200, page()) else (403, Forbidden)

  /** Starts on a free port of `host`; None when it cannot (the application runs anyway). */
  def start(conf: Configuration, host: String, am: ApplicationMaster): Option[TrackingPage] =
    try {
      val proxies = new ProxyOnly(WebAppUtils.getProxyHostsAndPortsForAmFilter(conf).asScala.toSeq,
        ProxyOnly.resolveAll)
      val serve = (peer: String) => answer(peer, proxies, () => html(am.appId, am.coordinator.containerRecords, am.pageLinks))
      val (port, stop) = if (jdkServer) JdkPageServer.start(serve) else startHttpServer2(conf, serve)
      val url = s"http://$host:$port/"
      log.info(s"Tracking page at $url (answers the ResourceManager's proxy alone)")
      Some(new TrackingPage(url, stop))
    } catch {
      case e: Exception =>
        log.warn("No tracking page: it could not start", e)
        None
    }

  private def startHttpServer2(conf: Configuration, serve: String => (Int, String)): (Int, () => Unit) = {
    val own = new Configuration(conf)
    // No SPNEGO filter of the cluster's: the proxy in front authenticates users.
    own.set("hadoop.http.filter.initializers", "")
    val server = new HttpServer2.Builder().setName("knit").setConf(own)
      .addEndpoint(URI.create("http://0.0.0.0:0")).setFindPort(true).build()
    server.setAttribute(AnswerKey, serve)
    server.addServlet("knit-status", "/", classOf[StatusServlet])
    server.start()
    (server.getConnectorAddress(0).getPort, () => server.stop())
  }

  final class StatusServlet extends HttpServlet {
    override def doGet(req: HttpServletRequest, resp: HttpServletResponse): Unit = {
      val serve = getServletContext.getAttribute(AnswerKey).asInstanceOf[String => (Int, String)]
      serve(req.getRemoteAddr) match {
        case (200, body) =>
          resp.setContentType("text/html; charset=utf-8")
          resp.getWriter.write(body)
        case (status, message) => resp.sendError(status, message)
      }
    }
  }

  private def esc(s: String): String =
    s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")

  /** The page: pure, tested without a server. */
  def html(appId: String, containers: Seq[Messages.Container], links: Map[String, String]): String = {
    val live = containers.count(c => c.state != Allocator.COMPLETED)
    val linkItems = links.toSeq.sorted.map { case (name, url) =>
      s"""<li><a href="${esc(url)}">${esc(name)}</a></li>""" }.mkString
    val rows = containers.map { c =>
      Seq(c.id, c.role, c.node, c.state, c.outcome.getOrElse(""), s"${c.memoryMb} MB", c.vcores.toString,
        c.diagnostics).map(v => s"<td>${esc(v)}</td>").mkString("<tr>", "", "</tr>")
    }.mkString
    s"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>knit: ${esc(appId)}</title>
       |<meta http-equiv="refresh" content="10"></head><body>
       |<h1>knit application ${esc(appId)}</h1>
       |${if (linkItems.nonEmpty) s"<ul>$linkItems</ul>" else ""}
       |<p>$live live containers of ${containers.size}.</p>
       |<table border="1" cellpadding="4"><tr><th>container</th><th>role</th><th>node</th>
       |<th>state</th><th>outcome</th><th>memory</th><th>vcores</th><th>diagnostics</th></tr>
       |$rows</table></body></html>""".stripMargin
  }
}
