package knit.am

import java.net.InetAddress

import org.scalatest.funsuite.AnyFunSuite

import knit.common.Messages

class TrackingPageSuite extends AnyFunSuite {
  private def at(ip: String) = InetAddress.getByName(ip)

  test("the page answers the proxies alone") {
    val proxies = new ProxyOnly(Seq("rm1.example:8088", "rm2.example:8088"), {
      case "rm1.example" => Seq(at("10.0.0.1"))
      case "rm2.example" => Seq(at("10.0.0.2"), at("fd00::2"))
      case other => throw new java.net.UnknownHostException(other)
    })
    assert(proxies.allows("10.0.0.1") && proxies.allows("10.0.0.2") && proxies.allows("fd00::2"))
    assert(!proxies.allows("10.0.0.3"))
    assert(!proxies.allows("not an address"))
  }

  test("a proxy that cannot be resolved lets nobody in, not everybody") {
    val proxies = new ProxyOnly(Seq("gone.example:8088"), h => throw new java.net.UnknownHostException(h))
    assert(proxies.allowed.isEmpty && !proxies.allows("127.0.0.1"))
  }

  test("the page lists containers and links, escaped") {
    val c = Messages.Container("container_1_0001_01_000002", "worker", "n1:1", "n1:2", "RUNNING",
      1024, 1, 1L, None, None, "<b>x</b>", Some(2L), None, Map.empty)
    val page = TrackingPage.html("application_1_0001", Seq(c), Map("Dask dashboard" -> "http://h:8787/status"))
    assert(page.contains("""<a href="http://h:8787/status">Dask dashboard</a>"""))
    assert(page.contains("container_1_0001_01_000002") && page.contains("1 live containers of 1"))
    assert(page.contains("&lt;b&gt;x&lt;/b&gt;") && !page.contains("<b>x</b>"))
  }

  test("on the JDK's server: the proxy gets the page, anyone else 403, and only GET is served") {
    assert(TrackingPage.jdkServer)
    def proxiesAt(ip: String) = new ProxyOnly(Seq("rm.example:8088"), _ => Seq(at(ip)))
    for ((proxy, expected) <- Seq("127.0.0.1" -> 200, "10.9.9.9" -> 403)) {
      val (port, stop) = JdkPageServer.start(peer => TrackingPage.answer(peer, proxiesAt(proxy), () => "<p>page</p>"))
      try {
        val get = new java.net.URL(s"http://127.0.0.1:$port/any/path").openConnection().asInstanceOf[java.net.HttpURLConnection]
        assert(get.getResponseCode == expected)
        assert(get.getHeaderField("X-Frame-Options") == "SAMEORIGIN")
        val body = scala.io.Source.fromInputStream(
          if (expected == 200) get.getInputStream else get.getErrorStream, "UTF-8").mkString
        assert(body == (if (expected == 200) "<p>page</p>" else TrackingPage.Forbidden))
        val post = new java.net.URL(s"http://127.0.0.1:$port/").openConnection().asInstanceOf[java.net.HttpURLConnection]
        post.setRequestMethod("POST")
        assert(post.getResponseCode == 405)
      } finally stop()
    }
  }
}
