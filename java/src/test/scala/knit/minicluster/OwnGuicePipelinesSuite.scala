package knit.minicluster

import java.net.{HttpURLConnection, URL}

import scala.io.Source

import com.google.inject.Inject
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.yarn.webapp.{Controller, WebApp, WebApps}
import org.scalatest.funsuite.AnyFunSuite

class FirstController @Inject() (ctx: Controller.RequestContext) extends Controller(ctx) {
  override def index(): Unit = renderText("first")
}

class SecondController @Inject() (ctx: Controller.RequestContext) extends Controller(ctx) {
  override def index(): Unit = renderText("second")
}

/** Two of Hadoop's web apps in one JVM, as the embedded cluster has them (YARN-7747). */
class OwnGuicePipelinesSuite extends AnyFunSuite {

  // HttpServer2 wants a webapps/<name> resource: these two are in Hadoop's YARN jars.
  private def start(name: String, controller: Class[_ <: Controller]): WebApp =
    WebApps.$for[AnyRef](name).at("127.0.0.1", 0, true).`with`(new Configuration(false))
      .start(new WebApp { override def setup(): Unit = route("/", controller) })

  /** Status and body of GET `path` on `app`'s server. */
  private def get(app: WebApp, path: String): (Int, String) = {
    val c = new URL(s"http://127.0.0.1:${app.port}$path").openConnection()
      .asInstanceOf[HttpURLConnection]
    try {
      val status = c.getResponseCode
      val body = if (status == 200) Source.fromInputStream(c.getInputStream, "UTF-8").mkString else ""
      (status, body)
    } finally c.disconnect()
  }

  test("each server answers with its own web app once installed, whatever the order") {
    val first = start("cluster", classOf[FirstController])
    val second = start("node", classOf[SecondController])
    try {
      // Hadoop's wiring: the second injector's pipeline answers on both servers.
      assert(get(first, "/cluster")._1 == 404)
      assert(get(first, "/node") == (200 -> "second"))

      Seq(first, second, first).foreach(OwnGuicePipelines.useOwnPipeline) // idempotent
      OwnGuicePipelines.detachSharedPipeline()
      assert(get(first, "/cluster") == (200 -> "first"))
      assert(get(first, "/node")._1 == 404)
      assert(get(second, "/node") == (200 -> "second"))

      // Stopping one server destroys its filters, not the other web app's pipeline.
      first.stop()
      assert(get(second, "/node") == (200 -> "second"))
    } finally {
      Seq(first, second).foreach(a => try a.stop() catch { case _: Exception => })
    }
  }
}
