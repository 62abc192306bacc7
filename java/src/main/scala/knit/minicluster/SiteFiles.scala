package knit.minicluster

import java.io.{File, FileOutputStream}
import java.nio.file.{Files, StandardCopyOption}

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration

/** Splits a running cluster's configuration into the site files a Hadoop client reads.
  *
  * Only what differs from Hadoop's shipped defaults is written, so the files stay short
  * enough for a person to read: keys whose value came from a `*-default.xml` are left out.
  */
object SiteFiles {

  /** The embedded NodeManagers' local file system (NioLocalFs): a class clients do not
    * have, so it is never written for them. */
  val LocalFsKey = "fs.AbstractFileSystem.file.impl"
  private val ServerOnly = Set(LocalFsKey)
  /** Servers' keytabs and the ResourceManager's SPNEGO settings are none of a client's business. */
  def serverOnly(key: String): Boolean = ServerOnly(key) || key.endsWith(".keytab") ||
    key.endsWith(".keytab.file") || key.startsWith("hadoop.http.")

  /** Which site file a key belongs in: yarn-site, hdfs-site, or core-site for the rest. */
  def fileFor(key: String): String =
    if (key.startsWith("yarn.")) "yarn-site.xml"
    else if (key.startsWith("dfs.")) "hdfs-site.xml"
    else "core-site.xml"

  /** True when the value of `key` was set by code or a site file, not by a default file. */
  def isNonDefault(conf: Configuration, key: String): Boolean = {
    val sources = conf.getPropertySources(key)
    sources == null || !sources.forall(_.endsWith("-default.xml"))
  }

  /** Keys to write, grouped by file name, each group sorted. All three files always appear. */
  def split(conf: Configuration): Map[String, Seq[(String, String)]] = {
    val entries = conf.iterator().asScala.map(e => e.getKey -> e.getValue).toSeq
    val chosen = entries.filter { case (k, _) => isNonDefault(conf, k) && !serverOnly(k) }
    val grouped = chosen.groupBy { case (k, _) => fileFor(k) }
    Seq("core-site.xml", "hdfs-site.xml", "yarn-site.xml")
      .map(name => name -> grouped.getOrElse(name, Seq.empty).sortBy(_._1))
      .toMap
  }

  /** Writes core-site.xml, hdfs-site.xml and yarn-site.xml into `dir`, each atomically. */
  def write(conf: Configuration, dir: File): Unit = {
    dir.mkdirs()
    for ((name, entries) <- split(conf)) {
      val part = new Configuration(false)
      entries.foreach { case (k, v) => part.set(k, v, "knit MiniCluster") }
      val tmp = new File(dir, s".$name.tmp")
      val out = new FileOutputStream(tmp)
      try part.writeXml(out) finally out.close()
      Files.move(tmp.toPath, new File(dir, name).toPath, StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING)
    }
  }
}
