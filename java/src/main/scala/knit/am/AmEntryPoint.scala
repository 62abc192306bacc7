package knit.am

/** What Python calls on the ApplicationMaster over its authenticated Py4J gateway.
  * Plain types only. */
class AmEntryPoint(am: ApplicationMaster) {

  /** Asks YARN for `n` more containers of the given size (<= 0: the application's default). */
  def addContainers(n: Int, memoryMb: Int, vcores: Int): Unit = am.addContainers(n, memoryMb, vcores)

  /** Stops and gives back one container; false if it is not a live container of ours. */
  def removeContainer(containerId: String): Boolean = am.removeContainer(containerId)

  /** Every container the application has had, as maps (see `ApplicationMaster.describe`). */
  def containers(): java.util.List[java.util.Map[String, Any]] = am.describeContainers()

  /** Containers asked for and not yet given, by size "<memory>x<vcores>". */
  def pending(): java.util.Map[String, Int] = am.pending()
}
