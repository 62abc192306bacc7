package knit.minicluster

import java.io.{File, PrintWriter}
import java.nio.file.{Files, StandardCopyOption}

/** A KDC of its own (a `SecureRealm`) for a Kerberized cluster of Hadoop's daemons, each
  * in its own JVM. Run through `DaemonMain`, so it ends when its stdin closes.
  *
  * Argument: the realm's directory. Once the KDC answers, it holds the keytabs, the
  * krb5.conf clients use, and `ready` (key=value lines: the principals and files), plus
  * the settings every daemon needs (`secure-site.properties`) and those of the
  * ResourceManager's web UI (`resourcemanager-web.properties`).
  */
object KdcMain {
  def main(args: Array[String]): Unit = {
    val dir = new File(args(0))
    val realm = new SecureRealm(dir)
    realm.start()
    write(new File(dir, "secure-site.properties"), realm.clusterSettings)
    write(new File(dir, "resourcemanager-web.properties"), realm.resourceManagerWebSettings)
    write(new File(dir, "ready"), Map(
      "krb5_conf" -> realm.clientKrb5Conf.getAbsolutePath,
      "principal" -> realm.userPrincipal,
      "keytab" -> realm.userKeytab.getAbsolutePath,
      "service_principal" -> realm.servicePrincipal,
      "service_keytab" -> realm.serviceKeytab.getAbsolutePath))
    Thread.currentThread().join()
  }

  /** key=value lines, written aside and renamed: a reader sees all of them or none. */
  private def write(target: File, entries: Map[String, String]): Unit = {
    val tmp = new File(target.getPath + ".tmp")
    val out = new PrintWriter(tmp, "UTF-8")
    try entries.toSeq.sorted.foreach { case (k, v) => out.println(s"$k=$v") } finally out.close()
    Files.move(tmp.toPath, target.toPath, StandardCopyOption.ATOMIC_MOVE)
  }
}
