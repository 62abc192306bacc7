package knit.client

import java.io.{BufferedReader, InputStreamReader, OutputStreamWriter, PrintWriter}
import java.net.{InetAddress, Socket}
import java.nio.charset.StandardCharsets.UTF_8

import org.slf4j.LoggerFactory

import knit.common.Gateway

/** The client JVM that a Python process starts (once) to talk to YARN and HDFS.
  *
  * Protocol: the first line on stdin is the gateway's auth token (never on the command
  * line); the gateway listens on 127.0.0.1 at an ephemeral port, which is sent to the
  * callback port given as the first argument, as "<port> <token>" so Python can tell the
  * real JVM from anything else that connects there. The JVM exits, killing the
  * applications Python did not detach and removing its private log dir (the second
  * argument), when stdin reaches EOF: even a Python killed by SIGKILL leaves nothing.
  */
object ClientMain {
  private val log = LoggerFactory.getLogger(getClass)

  def main(args: Array[String]): Unit = {
    val callbackPort = args(0).toInt
    val stdin = new BufferedReader(new InputStreamReader(System.in, UTF_8))
    val token = stdin.readLine()
    if (token == null) sys.exit(1)
    val entryPoint = new ClientEntryPoint
    val loopback = InetAddress.getByName("127.0.0.1")
    val server = Gateway.start(entryPoint, loopback, token)
    val socket = new Socket(loopback, callbackPort)
    try {
      val out = new PrintWriter(new OutputStreamWriter(socket.getOutputStream, UTF_8), true)
      out.println(s"${server.getListeningPort} $token")
    } finally socket.close()

    while (stdin.readLine() != null) {} // until Python closes stdin or dies
    log.info("stdin closed: shutting down the knit client JVM")
    entryPoint.shutdown()
    server.shutdown()
    if (args.length > 1) org.apache.hadoop.fs.FileUtil.fullyDelete(new java.io.File(args(1)))
    sys.exit(0)
  }
}
