package knit.common

import java.io.{ByteArrayInputStream, IOException}
import java.net.{InetAddress, InetSocketAddress, ServerSocket, Socket}
import java.nio.charset.StandardCharsets.US_ASCII
import java.security.{KeyFactory, KeyStore, PrivateKey}
import java.security.cert.{CertificateFactory, X509Certificate}
import java.security.spec.PKCS8EncodedKeySpec
import java.util.Base64
import java.util.concurrent.Future
import javax.net.ServerSocketFactory
import javax.net.ssl.{KeyManagerFactory, SSLContext, SSLSocket}

/** TLS for the AM gateway, from the per-application certificate and key the Python client
  * made (PEM text: an X.509 certificate and a PKCS#8 EC or RSA key). The client trusts that
  * certificate alone, so it talks only to this AM, and nobody on the wire reads the token. */
object GatewayTls {

  /** Server sockets that bind at once and speak TLS, with the context `tls` yields, on
    * every connection they accept: the AM can register its gateway's port with YARN
    * before that context is ready (JSSE's classes and the key cost a cold JVM some 200 ms).
    * The handshake happens on the connection's first read, as on an SSLServerSocket's. */
  def deferred(tls: Future[SSLContext]): ServerSocketFactory = new ServerSocketFactory {
    override def createServerSocket(): ServerSocket = new DeferredTlsServerSocket(tls)
    override def createServerSocket(port: Int): ServerSocket = bound(port, 50, null)
    override def createServerSocket(port: Int, backlog: Int): ServerSocket = bound(port, backlog, null)
    override def createServerSocket(port: Int, backlog: Int, address: InetAddress): ServerSocket =
      bound(port, backlog, address)
    private def bound(port: Int, backlog: Int, address: InetAddress): ServerSocket = {
      val s = createServerSocket()
      s.bind(new InetSocketAddress(address, port), backlog)
      s
    }
  }

  private class DeferredTlsServerSocket(tls: Future[SSLContext]) extends ServerSocket {
    override def accept(): Socket = {
      val plain = super.accept()
      try {
        val secure = tls.get().getSocketFactory.createSocket(plain, plain.getInetAddress.getHostAddress,
          plain.getPort, true).asInstanceOf[SSLSocket]
        secure.setUseClientMode(false)
        secure
      } catch {
        case e: Exception =>
          plain.close()
          throw new IOException("The gateway has no TLS context", e)
      }
    }
  }

  /** The gateway's TLS context: it presents `certPem` with `keyPem`. */
  def context(certPem: String, keyPem: String): SSLContext = {
    val cert = CertificateFactory.getInstance("X.509")
      .generateCertificate(new ByteArrayInputStream(certPem.getBytes(US_ASCII)))
      .asInstanceOf[X509Certificate]
    val password = Array.emptyCharArray
    val store = KeyStore.getInstance("PKCS12")
    store.load(null, password)
    store.setKeyEntry("gateway", privateKey(keyPem, cert.getPublicKey.getAlgorithm), password,
      Array[java.security.cert.Certificate](cert))
    val keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm)
    keys.init(store, password)
    val context = SSLContext.getInstance("TLSv1.3")
    context.init(keys.getKeyManagers, null, null)
    context
  }

  private def privateKey(pem: String, algorithm: String): PrivateKey = {
    val body = pem.linesIterator.filterNot(_.startsWith("-----")).mkString
    require(pem.contains("BEGIN PRIVATE KEY"), "the gateway key must be PEM PKCS#8")
    KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder.decode(body)))
  }
}
