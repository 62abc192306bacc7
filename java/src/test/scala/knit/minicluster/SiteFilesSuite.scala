package knit.minicluster

import java.nio.file.Files

import org.apache.hadoop.conf.Configuration
import org.scalatest.funsuite.AnyFunSuite

class SiteFilesSuite extends AnyFunSuite {

  test("keys are routed to the site file of their component") {
    assert(SiteFiles.fileFor("yarn.resourcemanager.address") == "yarn-site.xml")
    assert(SiteFiles.fileFor("dfs.replication") == "hdfs-site.xml")
    assert(SiteFiles.fileFor("fs.defaultFS") == "core-site.xml")
    assert(SiteFiles.fileFor("hadoop.security.authentication") == "core-site.xml")
  }

  test("only values that differ from the shipped defaults are written") {
    val conf = new Configuration() // loads core-default.xml
    conf.set("fs.defaultFS", "hdfs://example:8020")
    conf.set("yarn.log-aggregation-enable", "true")
    val parts = SiteFiles.split(conf)
    assert(parts("core-site.xml").contains("fs.defaultFS" -> "hdfs://example:8020"))
    assert(parts("yarn-site.xml") == Seq("yarn.log-aggregation-enable" -> "true"))
    assert(parts("hdfs-site.xml").isEmpty)
    assert(!parts("core-site.xml").exists(_._1 == "hadoop.tmp.dir"), "a default leaked in")
  }

  test("the NodeManagers' local file system class is not written for clients") {
    val conf = new Configuration()
    conf.set(SiteFiles.LocalFsKey, classOf[NioLocalFs].getName)
    assert(!SiteFiles.split(conf).values.flatten.exists(_._1 == SiteFiles.LocalFsKey))
  }

  test("written files load back into a client configuration") {
    val conf = new Configuration()
    conf.set("fs.defaultFS", "hdfs://example:8020")
    conf.set("dfs.replication", "1")
    conf.set("yarn.resourcemanager.address", "example:8032")
    val dir = Files.createTempDirectory("sitefiles").toFile
    try checkRoundTrip(conf, dir)
    finally org.apache.hadoop.fs.FileUtil.fullyDelete(dir)
  }

  private def checkRoundTrip(conf: Configuration, dir: java.io.File): Unit = {
    SiteFiles.write(conf, dir)
    val client = new Configuration(false)
    Seq("core-site.xml", "hdfs-site.xml", "yarn-site.xml").foreach { f =>
      client.addResource(new org.apache.hadoop.fs.Path(new java.io.File(dir, f).toURI))
    }
    assert(client.get("fs.defaultFS") == "hdfs://example:8020")
    assert(client.get("dfs.replication") == "1")
    assert(client.get("yarn.resourcemanager.address") == "example:8032")
    assert(dir.listFiles().map(_.getName).sorted.toSeq ==
      Seq("core-site.xml", "hdfs-site.xml", "yarn-site.xml"))
  }

  test("servers' keytabs and the ResourceManager's SPNEGO settings stay out of clients' files") {
    Seq("yarn.nodemanager.keytab", "dfs.namenode.keytab.file", "dfs.web.authentication.kerberos.keytab",
      "hadoop.http.authentication.kerberos.keytab", SiteFiles.LocalFsKey).foreach(k => assert(SiteFiles.serverOnly(k), k))
    Seq("hadoop.security.authentication", "dfs.namenode.kerberos.principal", "yarn.resourcemanager.principal")
      .foreach(k => assert(!SiteFiles.serverOnly(k), k))
  }
}
