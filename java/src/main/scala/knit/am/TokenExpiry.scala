package knit.am

import java.time.Instant

/** Delegation tokens nobody renews (an application started from a ticket cache) die at
  * their maximum lifetime, and hdfs-native stops using a token a minute before that (it
  * skips tokens that expire within 60 s, then falls back to Kerberos and reports "No
  * Kerberos credentials"). A container failing after that point most likely failed for
  * that reason, which the HDFS client's own error does not say. Pure, for unit tests. */
object TokenExpiry {

  /** How long before its maximum date hdfs-native stops using a token. */
  val UnusableBeforeMs = 60000L

  /** Why a container that failed at `now` most likely failed, when the application's
    * tokens reach their maximum lifetime at `maxDate` (None: they are renewed, or have no
    * maximum). */
  def explanation(now: Long, maxDate: Option[Long]): Option[String] =
    maxDate.filter(d => d - UnusableBeforeMs <= now).map { d =>
      s"the application's delegation tokens expire at ${Instant.ofEpochMilli(d)} (hdfs-native " +
        "stops using them a minute before): an application started without a keytab (from " +
        "a ticket cache, or for a proxy user) cannot get new ones; start applications that " +
        "outlive their tokens with their user's principal and keytab, which knit renews them from"
    }

  /** Whether replacing a failed container is pointless: a new one would get the same
    * expired tokens. */
  def replacementWouldFail(now: Long, maxDate: Option[Long]): Boolean =
    explanation(now, maxDate).isDefined
}
