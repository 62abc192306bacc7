package knit.am

/** Turns how a YARN container finished into an outcome and a one-line message for users.
  *
  * Pure logic: the codes below mirror YARN's `ContainerExitStatus` so this object needs no
  * Hadoop classes and can be tested without a cluster.
  */
object ExitStatuses {

  /** How a container ended, as far as the application is concerned. */
  sealed trait Outcome {

    /** True only for [[Failed]]: preempted and released containers are not the user's fault. */
    def isFailure: Boolean = this == Failed
  }

  /** The command exited with status 0. */
  case object Succeeded extends Outcome

  /** The command or its container failed. */
  case object Failed extends Outcome

  /** The scheduler took the container back for someone else. */
  case object Preempted extends Outcome

  /** The application itself asked for the container to go. */
  case object Released extends Outcome

  /** Every outcome; `wireName` gives the names of `knit.common.ContainerStates.Outcomes`. */
  val Outcomes: Seq[Outcome] = Seq(Succeeded, Failed, Preempted, Released)

  /** The outcome's name in a `Container` message. */
  def wireName(o: Outcome): String = o.toString.toUpperCase

  // YARN's ContainerExitStatus codes.
  val SUCCESS = 0
  val INVALID = -1000
  val ABORTED = -100
  val DISKS_FAILED = -101
  val PREEMPTED = -102
  val KILLED_EXCEEDED_VMEM = -103
  val KILLED_EXCEEDED_PMEM = -104
  val KILLED_BY_APPMASTER = -105
  val KILLED_BY_RESOURCEMANAGER = -106
  val KILLED_AFTER_APP_COMPLETION = -107
  val KILLED_BY_CONTAINER_SCHEDULER = -108
  val KILLED_FOR_EXCESS_LOGS = -109

  /** The NodeManager's own status for a container it recovered (restarted with recovery)
    * but whose exit it could not learn (its `ContainerExecutor.ExitCode.LOST`): not the
    * command's status, whatever the command does. */
  val LOST_BY_NODEMANAGER = 154

  /** Longest piece of YARN's diagnostics appended to a message; the rest is in the logs. */
  val MaxDiagnosticsChars = 300

  private val names: Map[Int, String] = Map(
    SUCCESS -> "SUCCESS",
    INVALID -> "INVALID",
    ABORTED -> "ABORTED",
    DISKS_FAILED -> "DISKS_FAILED",
    PREEMPTED -> "PREEMPTED",
    KILLED_EXCEEDED_VMEM -> "KILLED_EXCEEDED_VMEM",
    KILLED_EXCEEDED_PMEM -> "KILLED_EXCEEDED_PMEM",
    KILLED_BY_APPMASTER -> "KILLED_BY_APPMASTER",
    KILLED_BY_RESOURCEMANAGER -> "KILLED_BY_RESOURCEMANAGER",
    KILLED_AFTER_APP_COMPLETION -> "KILLED_AFTER_APP_COMPLETION",
    KILLED_BY_CONTAINER_SCHEDULER -> "KILLED_BY_CONTAINER_SCHEDULER",
    KILLED_FOR_EXCESS_LOGS -> "KILLED_FOR_EXCESS_LOGS"
  )

  /** The constant's name for a YARN exit status, or `status N` for a code YARN doesn't name. */
  def name(exitStatus: Int): String = names.getOrElse(exitStatus, s"status $exitStatus")

  /** Classifies a finished container.
    *
    * @param exitStatus   the container's exit status as YARN reports it
    * @param diagnostics  YARN's diagnostics text, possibly empty or multi-line
    * @param releasedByUs whether the application asked for this container to be released
    * @param memoryMb     the container's memory, named in messages about memory kills
    * @return the outcome and a one-line message; failed ones end with YARN's first useful
    *         diagnostics line
    */
  def classify(exitStatus: Int, diagnostics: String, releasedByUs: Boolean,
      memoryMb: Int): (Outcome, String) = {
    // A release ends the container with ABORTED or KILLED_BY_APPMASTER; that was our wish.
    if (releasedByUs) (Released, "released by the application")
    else if (exitStatus == SUCCESS) (Succeeded, "command succeeded")
    else if (exitStatus == PREEMPTED || exitStatus == KILLED_BY_CONTAINER_SCHEDULER)
      (Preempted, "preempted: the YARN scheduler took the container back for other work")
    else if (exitStatus == LOST_BY_NODEMANAGER)
      (Failed, withDiagnostics("lost by its NodeManager: restarted with recovery, it could not " +
        "account for the container (YARN's status 154, not the command's)", diagnostics))
    // For the command's own exit, YARN's diagnostics are only launcher boilerplate and a
    // stack trace: the reason is in the container's stderr, so point there instead.
    else if (exitStatus > 0) (Failed, s"command exited with status $exitStatus" + shellMeaning(exitStatus) +
      " (see its stderr)")
    else (Failed, withDiagnostics(failureMessage(exitStatus, memoryMb), diagnostics))
  }

  /** What the shell's own statuses mean (the command's are its own business). */
  private def shellMeaning(status: Int): String = status match {
    case 126 => ": a program it runs is not executable by the container's user (on a cluster " +
      "without Kerberos that is the NodeManager's OS user: is the interpreter in a private " +
      "home dir? ship an environment)"
    case 127 => ": a program it runs was not found on the node"
    case _ => ""
  }

  private def failureMessage(exitStatus: Int, memoryMb: Int): String = exitStatus match {
    case KILLED_EXCEEDED_PMEM =>
      s"killed by YARN: it used more than its $memoryMb MB memory limit; " +
        "start it with more memory"
    case KILLED_EXCEEDED_VMEM =>
      s"killed by YARN: it used more than the virtual memory limit of a $memoryMb MB " +
        "container; start it with more memory"
    case DISKS_FAILED => "the node's disks failed"
    case ABORTED => "aborted by YARN (node lost or container expired)"
    case INVALID => "YARN could not set it up (INVALID: a file or archive failed to download or unpack?)"
    case s => s"stopped by YARN: ${name(s)}"
  }

  private val Timestamp = """^\[[0-9][0-9 :.\-]*\]""".r

  /** Appends the most telling line of `diagnostics`, cut short: the root cause (last
    * "Caused by:") of a stack trace, else the first non-blank line; the NodeManager's
    * "[timestamp]" prefixes are dropped. */
  private def withDiagnostics(message: String, diagnostics: String): String = {
    val lines = Option(diagnostics).toSeq.flatMap(_.linesIterator)
      .map(l => Timestamp.replaceFirstIn(l.trim, "").trim).filter(_.nonEmpty)
    val rootCause = lines.filter(_.startsWith("Caused by:")).lastOption
      .map(_.stripPrefix("Caused by:").trim)
    rootCause.orElse(lines.headOption) match {
      case Some(line) => s"$message; diagnostics: ${line.take(MaxDiagnosticsChars)}"
      case None => message
    }
  }
}
