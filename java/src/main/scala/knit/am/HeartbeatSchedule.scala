package knit.am

/** How often the AM calls the ResourceManager: every `fastMs` for `fastForMs` after it asks
  * for containers or is granted some (with asynchronous scheduling, grants come back on the
  * next call, and more may follow), every `pendingMs` while asks are outstanding or
  * releases wait to be confirmed, every `idleMs` otherwise (a light heartbeat). Pure: the
  * caller passes the time and hands the interval to AMRMClientAsync.
  */
final class HeartbeatSchedule(val fastMs: Int = 50, val pendingMs: Int = 100, val idleMs: Int = 1000,
    fastForMs: Long = 1000) {
  @volatile private var fastUntil = Long.MinValue

  /** Asks went out or containers came in, at `now`; returns the interval from now on. */
  def busy(now: Long): Int = { fastUntil = now + fastForMs; fastMs }

  /** The interval for the next call, given whether anything waits on the ResourceManager. */
  def next(now: Long, waiting: Boolean): Int =
    if (now < fastUntil) fastMs else if (waiting) pendingMs else idleMs
}
