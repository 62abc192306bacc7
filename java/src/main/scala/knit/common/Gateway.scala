package knit.common

import java.net.InetAddress

import javax.net.ServerSocketFactory

import py4j.GatewayServer

/** Py4J gateways of knit: every one requires the caller to present a secret token. */
object Gateway {

  /** Starts a gateway serving `entryPoint` on an ephemeral port of `address`, over TLS
    * when `sockets` is a TLS factory (see GatewayTls). */
  def start(entryPoint: AnyRef, address: InetAddress, token: String,
      sockets: ServerSocketFactory = ServerSocketFactory.getDefault): GatewayServer = {
    require(token != null && token.length >= 32, "a gateway token of at least 32 characters is required")
    val server = new GatewayServer.GatewayServerBuilder()
      .entryPoint(entryPoint)
      .javaAddress(address)
      .javaPort(0)
      .authToken(token)
      .serverSocketFactory(sockets)
      .build()
    server.start(true)
    server
  }
}
