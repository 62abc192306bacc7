package knit.am

/** The client's lease on an application: the Python process that started it renews it
  * over the gateway; when renewals stop for `timeoutMs` (the process died, even with
  * kill -9), the AM ends the application. `timeoutMs` 0: no lease (detached applications).
  *
  * Pure bookkeeping on a caller-supplied clock, so it is tested without waiting. The AM
  * passes a monotonic one: on the wall clock, a step forward (NTP, a VM restored from a
  * snapshot) ended every attached application at once.
  */
final class Lease(val timeoutMs: Long, startedAtMs: Long) {
  @volatile private var lastRenewalMs = startedAtMs

  def enabled: Boolean = timeoutMs > 0

  def renew(nowMs: Long): Unit = lastRenewalMs = math.max(lastRenewalMs, nowMs)

  def expired(nowMs: Long): Boolean = enabled && nowMs - lastRenewalMs > timeoutMs

  def silentForMs(nowMs: Long): Long = nowMs - lastRenewalMs
}
