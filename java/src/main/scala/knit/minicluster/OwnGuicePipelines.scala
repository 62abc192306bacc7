package knit.minicluster

import scala.jdk.CollectionConverters._

import com.google.inject.Guice
import com.google.inject.servlet.{GuiceFilter, ServletModule}
import org.apache.hadoop.yarn.server.nodemanager.NodeManager
import org.apache.hadoop.yarn.server.nodemanager.webapp.WebServer
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager
import org.apache.hadoop.yarn.webapp.WebApp
import org.eclipse.jetty.servlet.{FilterHolder, FilterMapping}

/** Gives each of Hadoop's web apps in this JVM its own Guice pipeline (YARN-7747).
  *
  * Hadoop's web apps (the ResourceManager's, each NodeManager's) serve their HTML pages
  * (`/cluster`, `/node`; before Hadoop 3.5 the REST APIs too) through Guice servlet. Each
  * web app builds an injector holding its own pipeline, but its Jetty server reaches that
  * pipeline through a `GuiceFilter` Jetty makes by class name, and such a filter reads
  * `GuiceFilter`'s one static pipeline, which every new injector replaces: in one JVM the
  * web app started last, a NodeManager's, answers on every server and the ResourceManager's
  * `/cluster` is a 404. Hadoop's own daemons, one JVM each, never see it.
  *
  * Each web app also keeps the `GuiceFilter` its injector made, which is bound to its own
  * pipeline (Hadoop keeps it only to destroy it). [[install]] puts that filter in its
  * server's filter chain where the shared one was, with Jetty's public API; afterwards
  * every server answers with its own pages, whatever order they started in.
  *
  * Reflection, confined to this object, because Hadoop makes neither the web apps nor
  * their filters public: the ResourceManager's web app comes from a package-private getter,
  * a NodeManager's from its WebServer's private field, the filter from WebApp's private
  * field (the same names in Hadoop 3.3, 3.4 and 3.5). The fix Hadoop was offered (use the
  * injected filter when the server is built, YARN-7747) was never merged.
  */
object OwnGuicePipelines {

  /** The name Hadoop's WebApps gives the shared filter in every server. */
  val SharedFilterName = "guice"
  /** The name the web app's own filter is installed under. */
  val OwnFilterName = "guice-own-pipeline"

  /** Installs its own pipeline's filter in the ResourceManager's and each running
    * NodeManager's server, then detaches the static pipeline from all of them. */
  def install(rm: ResourceManager, nodeManagers: Seq[NodeManager]): Unit = {
    (webAppOf(rm) +: nodeManagers.flatMap(webAppOf)).foreach(useOwnPipeline)
    detachSharedPipeline()
  }

  /** The ResourceManager's web app. */
  def webAppOf(rm: ResourceManager): WebApp = {
    val getter = classOf[ResourceManager].getDeclaredMethod("getWebapp")
    getter.setAccessible(true)
    getter.invoke(rm).asInstanceOf[WebApp]
  }

  /** A NodeManager's web app; None when it has no started web server. */
  def webAppOf(nm: NodeManager): Option[WebApp] = {
    val field = classOf[WebServer].getDeclaredField("webApp")
    field.setAccessible(true)
    nm.getServices.asScala.collectFirst { case w: WebServer => w }
      .flatMap(w => Option(field.get(w).asInstanceOf[WebApp]))
  }

  /** The filter `webApp`'s injector made: bound to its own pipeline, not the static one. */
  def ownFilterOf(webApp: WebApp): GuiceFilter = {
    val field = classOf[WebApp].getDeclaredField("guiceFilter")
    field.setAccessible(true)
    Option(field.get(webApp).asInstanceOf[GuiceFilter]).getOrElse(
      throw new IllegalStateException(s"web app ${webApp.name} has no Guice filter of its own"))
  }

  /** Maps `webApp`'s own filter where its server maps the shared one, at the same place in
    * the chain (after the authentication filters). The shared holder stays, unmapped:
    * removing it would destroy it, and a shared filter's destroy tears down the static
    * pipeline, which is another web app's. Idempotent. */
  def useOwnPipeline(webApp: WebApp): Unit = {
    val handler = webApp.httpServer().getWebAppContext.getServletHandler
    if (handler.getFilter(OwnFilterName) == null) {
      if (handler.getFilter(SharedFilterName) == null) {
        throw new IllegalStateException(
          s"web app ${webApp.name} has no filter named '$SharedFilterName' to replace")
      }
      val holder = new FilterHolder(ownFilterOf(webApp))
      holder.setName(OwnFilterName)
      // Started and initialised at once (the server is running): the pipeline was
      // initialised when the server started, so init only records the servlet context.
      handler.addFilter(holder)
    }
    handler.setFilterMappings(handler.getFilterMappings.map { m =>
      if (m.getFilterName != SharedFilterName) m
      else {
        val own = new FilterMapping()
        own.setFilterName(OwnFilterName)
        own.setPathSpecs(m.getPathSpecs)
        own.setServletNames(m.getServletNames)
        own.setDispatcherTypes(m.getDispatcherTypes)
        own
      }
    })
  }

  /** Points the static pipeline at an empty one of its own (any new injector with a
    * servlet module sets it): the shared filters left in the servers destroy that one
    * when their server stops (a NodeManager stopped by a test), not a live web app's. */
  def detachSharedPipeline(): Unit = Guice.createInjector(new ServletModule)
}
