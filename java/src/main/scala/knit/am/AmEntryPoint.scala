package knit.am

import knit.common.Messages

/** What Python calls on the ApplicationMaster over its authenticated Py4J gateway.
  * Strings and ints in; structured answers are JSON text (see `knit.common.Json`). Every
  * call waits until the AM has taken over from its previous attempt (`awaitTakeOver`). */
class AmEntryPoint(am: ApplicationMaster) {
  private def afterTakeOver[T](call: => T): T = { am.awaitTakeOver(); call }

  /** Asks YARN for `n` more containers of a role ("main", or one the client staged) of the
    * given size (<= 0: the role's default). `variables`: JSON, a list of one
    * {name: value} per container (what it gets on top of the role's environment), or []. */
  def addContainers(role: String, n: Int, memoryMb: Int, vcores: Int, variables: String): Unit = {
    val each = Messages.fromJson[Seq[Map[String, String]]](variables)
    afterTakeOver(am.coordinator.addContainers(role, n, memoryMb, vcores, each))
  }

  /** Withdraws up to `n` requests of a role not yet granted; returns how many. */
  def cancelContainers(role: String, n: Int): Int = afterTakeOver(am.coordinator.cancelContainers(role, n))

  /** Withdraws the request not yet granted whose container would get `variable` = `value`;
    * false if there is none. */
  def cancelContainerWith(role: String, variable: String, value: String): Boolean =
    afterTakeOver(am.coordinator.cancelContainerWith(role, variable, value))

  /** Stops and gives back one container; false if it is not a live container of ours. */
  def removeContainer(containerId: String): Boolean = afterTakeOver(am.coordinator.removeContainer(containerId))

  /** A container that ended with status 0 and whose end the client counts as a loss (a
    * Dask worker that exited unasked): replaced from its role's restarts, as a failure
    * would be; false when none are left (or it is no such container). */
  def replaceLost(containerId: String): Boolean = afterTakeOver(am.coordinator.replaceLost(containerId))

  /** Every container the application has had: JSON {"finished": bool, "attempt": int,
    * "containers": [...],
    * "restarts": {role: {"max_restarts", "used", "unreplaced"}}}; `finished` is final only while `attempt` is YARN's current one. */
  def containers(): String = afterTakeOver(Messages.toJson(am.containerList()))

  /** The file `name` from the log dir of one of the application's running containers, read
    * from its NodeManager ("" if there is none yet): how a container reports a small
    * result, such as the address a Dask scheduler listens on. */
  def readLogFile(containerId: String, name: String): String =
    afterTakeOver(am.readLogFile(containerId, name))

  /** The application's owner ends it: every container is stopped, and the AM finishes
    * with SUCCEEDED (after handing its final list to a watching client). */
  def stopApplication(): Unit = afterTakeOver(am.coordinator.stopApplication())

  /** The client is alive: renews its lease on the application (see `Lease`). Returns
    * which attempt of the AM this is: the client follows a newer one YARN started. */
  def renewLease(): Int = afterTakeOver(am.renewLease())

  /** A link for the application's tracking page (YARN's UI), e.g. the Dask dashboard. */
  def setLink(name: String, url: String): Unit = afterTakeOver(am.setLink(name, url))

  /** Containers asked for and not yet given: JSON {role: {"<memory>x<vcores>": count}}. */
  def pending(): String = afterTakeOver(Messages.toJson(am.coordinator.pending()))
}
