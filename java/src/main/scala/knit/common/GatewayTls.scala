package knit.common

import java.io.ByteArrayInputStream
import java.nio.charset.StandardCharsets.US_ASCII
import java.security.{KeyFactory, KeyStore, PrivateKey}
import java.security.cert.{CertificateFactory, X509Certificate}
import java.security.spec.PKCS8EncodedKeySpec
import java.util.Base64
import javax.net.ssl.{KeyManagerFactory, SSLContext, SSLServerSocketFactory}

/** TLS for the AM gateway, from the per-application certificate and key the Python client
  * made (PEM text: an X.509 certificate and a PKCS#8 EC or RSA key). The client trusts that
  * certificate alone, so it talks only to this AM, and nobody on the wire reads the token. */
object GatewayTls {

  def serverSocketFactory(certPem: String, keyPem: String): SSLServerSocketFactory = {
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
    context.getServerSocketFactory
  }

  private def privateKey(pem: String, algorithm: String): PrivateKey = {
    val body = pem.linesIterator.filterNot(_.startsWith("-----")).mkString
    require(pem.contains("BEGIN PRIVATE KEY"), "the gateway key must be PEM PKCS#8")
    KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder.decode(body)))
  }
}
