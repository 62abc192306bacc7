package knit.common

/** What Python reads in a `Container` message: its states and how it ended (knit/names.py
  * holds Python's copy; the contract test compares them). */
object ContainerStates {
  /** Given to the application by YARN, not yet launched. */
  val Allocated = "ALLOCATED"
  /** Launched successfully. */
  val Running = "RUNNING"
  /** Finished, whatever the outcome. */
  val Completed = "COMPLETED"
  /** The states, in order. */
  val All: Seq[String] = Seq(Allocated, Running, Completed)
  /** How a completed container ended (`Container.outcome`; see knit.am.ExitStatuses). */
  val Outcomes: Seq[String] = Seq("SUCCEEDED", "FAILED", "PREEMPTED", "RELEASED")
}
