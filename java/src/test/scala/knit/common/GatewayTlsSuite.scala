package knit.common

import java.io.{BufferedReader, IOException, InputStreamReader, PrintWriter}
import java.net.{InetAddress, Socket}
import java.nio.charset.StandardCharsets.US_ASCII
import java.security.KeyStore
import java.security.cert.CertificateFactory
import java.util.concurrent.{CompletableFuture, TimeUnit}
import javax.net.ssl.{SSLContext, SSLSocket, TrustManagerFactory}

import org.scalatest.funsuite.AnyFunSuite

class GatewayTlsSuite extends AnyFunSuite {
  // A self-signed EC certificate for 127.0.0.1 (valid until 2125) and its key, made for this test.
  private val certPem =
    """      |-----BEGIN CERTIFICATE-----
      |MIIBKzCB0qADAgECAgEBMAoGCCqGSM49BAMCMBQxEjAQBgNVBAMMCWtuaXQtdGVz
      |dDAgFw0yNjAxMDEwMDAwMDBaGA8yMTI1MTIwODAwMDAwMFowFDESMBAGA1UEAwwJ
      |a25pdC10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAm03rz4G8tjjyiU
      |yNu2RFit0AM4qPH7sTE4Bgpi74FdZHEC2zdtBFs5eQiUCGIBJcfU7YGpCAkdkK1y
      |W+iEX6MTMBEwDwYDVR0RBAgwBocEfwAAATAKBggqhkjOPQQDAgNIADBFAiEA7no0
      |tMq5yegsCDGOkUXj57UiAcuU/l13W3zqK7rHeb8CIBeOntyJS5+JiPmHbv/zNpc5
      |acGvTi4vM3vM8V4wDo8u
      |-----END CERTIFICATE-----
      |""".stripMargin
  private val keyPem =
    """      |-----BEGIN PRIVATE KEY-----
      |MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+rwh9rgrf9YadJYD
      |ZwDG0XOdQMWrbKLdq5+BvibzKVihRANCAARgCbTevPgby2OPKJTI27ZEWK3QAzio
      |8fuxMTgGCmLvgV1kcQLbN20EWzl5CJQIYgElx9TtgakICR2QrXJb6IRf
      |-----END PRIVATE KEY-----
      |""".stripMargin

  /** A client context that trusts the test certificate alone. */
  private def clientContext(): SSLContext = {
    val cert = CertificateFactory.getInstance("X.509").generateCertificate(
      new java.io.ByteArrayInputStream(certPem.getBytes(US_ASCII)))
    val store = KeyStore.getInstance("PKCS12")
    store.load(null, null)
    store.setCertificateEntry("gateway", cert)
    val trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm)
    trust.init(store)
    val context = SSLContext.getInstance("TLSv1.3")
    context.init(null, trust.getTrustManagers, null)
    context
  }

  test("the port is bound before the TLS context exists; connections speak TLS once it does") {
    val tls = new CompletableFuture[SSLContext]()
    val server = GatewayTls.deferred(tls).createServerSocket(0, 50, InetAddress.getLoopbackAddress)
    try {
      assert(server.getLocalPort > 0 && !tls.isDone)
      val served = CompletableFuture.supplyAsync { () =>
        val s = server.accept()
        try {
          val line = new BufferedReader(new InputStreamReader(s.getInputStream, US_ASCII)).readLine()
          val out = new PrintWriter(s.getOutputStream, true)
          out.println(s"echo:$line")
          s.asInstanceOf[SSLSocket].getSession.getProtocol
        } finally s.close()
      }
      // The client connects while the server has no TLS context yet.
      val plain = new Socket(InetAddress.getLoopbackAddress, server.getLocalPort)
      tls.complete(GatewayTls.context(certPem, keyPem))
      val client = clientContext().getSocketFactory.createSocket(plain, "127.0.0.1", server.getLocalPort, true)
        .asInstanceOf[SSLSocket]
      try {
        new PrintWriter(client.getOutputStream, true).println("hi")
        val answer = new BufferedReader(new InputStreamReader(client.getInputStream, US_ASCII)).readLine()
        assert(answer == "echo:hi")
        assert(client.getSession.getPeerCertificates.length == 1)
        assert(served.get(10, TimeUnit.SECONDS).startsWith("TLSv1."))
      } finally client.close()
    } finally server.close()
  }

  test("a plain-text client gets no answer") {
    val tls = CompletableFuture.completedFuture(GatewayTls.context(certPem, keyPem))
    val server = GatewayTls.deferred(tls).createServerSocket(0, 50, InetAddress.getLoopbackAddress)
    try {
      val served = CompletableFuture.supplyAsync { () =>
        val s = server.accept()
        try Right(new BufferedReader(new InputStreamReader(s.getInputStream, US_ASCII)).readLine())
        catch { case e: IOException => Left(e) } finally s.close()
      }
      val plain = new Socket(InetAddress.getLoopbackAddress, server.getLocalPort)
      try {
        new PrintWriter(plain.getOutputStream, true).println("GET / HTTP/1.0")
        assert(served.get(10, TimeUnit.SECONDS).isLeft) // the handshake failed
      } finally plain.close()
    } finally server.close()
  }

  test("without a TLS context, accepting fails and the connection is closed") {
    val tls = new CompletableFuture[SSLContext]()
    tls.completeExceptionally(new IllegalArgumentException("the gateway key must be PEM PKCS#8"))
    val server = GatewayTls.deferred(tls).createServerSocket(0, 50, InetAddress.getLoopbackAddress)
    try {
      val plain = new Socket(InetAddress.getLoopbackAddress, server.getLocalPort)
      try {
        val e = intercept[IOException](server.accept())
        assert(e.getMessage.contains("no TLS context"))
        plain.setSoTimeout(10000)
        assert(plain.getInputStream.read() == -1) // closed by the server
      } finally plain.close()
    } finally server.close()
  }
}
