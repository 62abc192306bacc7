package knit.am

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8

import com.sun.net.httpserver.{HttpExchange, HttpServer}

/** The tracking page on the JDK's own HTTP server: a few dozen classes and one thread,
  * where Hadoop's HttpServer2 (Jetty) costs some 460 classes, a thread pool and ~9 MiB of
  * the AM's memory. Only loaded where the JVM has the server (`TrackingPage.jdkServer`). */
private[am] object JdkPageServer {

  /** Serves `answer(peer address)` for GETs of any path on a free port; returns the port
    * and how to stop. */
  def start(answer: String => (Int, String)): (Int, () => Unit) = {
    val server = HttpServer.create(new InetSocketAddress(0), 0)
    server.createContext("/", (exchange: HttpExchange) =>
      try {
        val (status, body) =
          if (exchange.getRequestMethod != "GET") (405, "GET only")
          else answer(exchange.getRemoteAddress.getAddress.getHostAddress)
        val bytes = body.getBytes(UTF_8)
        val headers = exchange.getResponseHeaders
        headers.set("Content-Type", if (status == 200) "text/html; charset=utf-8" else "text/plain; charset=utf-8")
        headers.set("X-Frame-Options", "SAMEORIGIN") // as Hadoop's own web UIs answer
        exchange.sendResponseHeaders(status, bytes.length.toLong)
        exchange.getResponseBody.write(bytes)
      } finally exchange.close())
    server.setExecutor(null) // the server's own thread: a page read now and then
    server.start()
    (server.getAddress.getPort, () => server.stop(0))
  }
}
