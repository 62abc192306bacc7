package knit.common

import java.net.InetAddress

import py4j.GatewayServer

/** Py4J gateways of knit: every one requires the caller to present a secret token. */
object Gateway {

  /** Starts a gateway serving `entryPoint` on an ephemeral port of `address`. */
  def start(entryPoint: AnyRef, address: InetAddress, token: String): GatewayServer = {
    require(token != null && token.length >= 32, "a gateway token of at least 32 characters is required")
    val server = new GatewayServer.GatewayServerBuilder()
      .entryPoint(entryPoint)
      .javaAddress(address)
      .javaPort(0)
      .authToken(token)
      .build()
    server.start(true)
    server
  }
}
