package knit.am

import java.io.File

import org.slf4j.LoggerFactory

/** The class-data archive knit-am.sh started this JVM with, if any (resource
  * `knit/am-launch.sh`). The JVM maps it only when its Java, classpath and jars are those it
  * was written with, and otherwise runs without it, silently: an archive it refused is
  * removed and marked refused, so that the next AMs on this node neither try it again nor
  * spend the seconds of writing a new one for a setup where it does not work. */
object ClassArchive {
  private val log = LoggerFactory.getLogger(getClass)
  /** The system property knit-am.sh sets to the archive's path. */
  val Property = "knit.cds.archive"

  /** What became of `archive`, given whether the JVM shares classes from it; an archive
    * refused is removed and `<archive>.refused` written. Returns the line logged. */
  def settle(archive: File, shared: Boolean): String =
    if (shared) s"Classes from the class-data archive $archive"
    else {
      archive.delete()
      new File(archive.getPath + ".refused").createNewFile()
      s"The JVM refused the class-data archive $archive (a Java, Hadoop or knit.jar other " +
        "than the ones it was written with): removed; AMs on this node load their classes"
    }

  /** Checks this JVM's archive (in the background: the check loads JMX, some 50 ms). */
  def checkInBackground(): Unit = Option(System.getProperty(Property)).foreach { path =>
    val t = new Thread(() =>
      try log.info(settle(new File(path), sharesClasses()))
      catch { case e: Exception => log.warn(s"Cannot tell whether the JVM uses $path", e) },
      "class-archive-check")
    t.setDaemon(true)
    t.start()
  }

  /** HotSpot turns UseSharedSpaces off when it cannot map the archive it was given (read
    * through JMX: com.sun.management is not part of Java 8's public API). */
  private def sharesClasses(): Boolean = {
    import javax.management.ObjectName
    import javax.management.openmbean.CompositeData
    val option = java.lang.management.ManagementFactory.getPlatformMBeanServer.invoke(
      new ObjectName("com.sun.management:type=HotSpotDiagnostic"), "getVMOption",
      Array[AnyRef]("UseSharedSpaces"), Array("java.lang.String")).asInstanceOf[CompositeData]
    option.get("value") == "true"
  }
}
