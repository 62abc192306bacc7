package knit.am

import java.net.InetAddress

import scala.util.Try

/** Which peers may read the AM's tracking page: the ResourceManager's web proxies alone,
  * as YARN's own AmIpFilter does, so the page is reached through the proxy (and, on a
  * secure cluster, its authentication). Pure logic, tested without a cluster. */
final class ProxyOnly(proxyHostPorts: Seq[String], resolve: String => Seq[InetAddress]) {
  /** The proxies' addresses, resolved once (a proxy that cannot be resolved is left out). */
  val allowed: Set[InetAddress] = proxyHostPorts.map(hostOf).flatMap(h => Try(resolve(h)).getOrElse(Nil)).toSet

  def allows(peer: String): Boolean =
    Try(InetAddress.getByName(peer)).toOption.exists(allowed.contains)

  private def hostOf(hostPort: String): String = {
    val i = hostPort.lastIndexOf(':')
    if (i > 0) hostPort.substring(0, i) else hostPort
  }
}

object ProxyOnly {
  def resolveAll(host: String): Seq[InetAddress] = InetAddress.getAllByName(host).toSeq
}
