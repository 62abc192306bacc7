package knit.client

import java.time.Instant
import javax.security.auth.Subject
import javax.security.auth.kerberos.KerberosTicket

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.CommonConfigurationKeysPublic.HADOOP_KERBEROS_KEYTAB_LOGIN_AUTORENEWAL_ENABLED
import org.apache.hadoop.security.UserGroupInformation
import org.slf4j.LoggerFactory

/** The user's own credentials were not found: the message says what to do. */
class KerberosLoginException(message: String) extends RuntimeException(message)

/** How a client JVM becomes the user towards a Kerberized cluster. Hadoop keeps one login
  * per JVM, so Python starts one client JVM per identity (see knit/client_jvm.py). */
object ClientLogin {
  private val log = LoggerFactory.getLogger(getClass)
  /** When the login's ticket-granting ticket ends, as last seen (ms; 0: none seen). */
  @volatile private var ticketEnd = 0L

  /** Logs in from `keytab` as `principal` when given, else from the ticket cache
    * (`KRB5CCNAME`, as after `kinit`); returns the user's short name. On a cluster without
    * Kerberos this only returns the name. */
  def login(conf: Configuration, principal: Option[String], keytab: Option[String]): String =
    synchronized {
      // A keytab login renews itself in the background (Hadoop's own thread), so that a
      // long-lived service that calls seldom still holds a valid ticket.
      if (keytab.isDefined && conf.get(HADOOP_KERBEROS_KEYTAB_LOGIN_AUTORENEWAL_ENABLED) == null)
        conf.setBoolean(HADOOP_KERBEROS_KEYTAB_LOGIN_AUTORENEWAL_ENABLED, true)
      UserGroupInformation.setConfiguration(conf)
      if (!UserGroupInformation.isSecurityEnabled) return UserGroupInformation.getCurrentUser.getShortUserName
      (principal, keytab) match {
        // Once logged in from a keytab as `p`, stay: sessions made since hold this login
        // (a proxy user's UGI wraps it), and a new login would leave them one that no one
        // renews.
        case (Some(p), Some(_)) if UserGroupInformation.isLoginKeytabBased &&
            UserGroupInformation.getLoginUser.getUserName == p =>
        case (Some(p), Some(k)) =>
          try UserGroupInformation.loginUserFromKeytab(p, k)
          catch {
            case e: java.io.IOException => throw new KerberosLoginException(
              s"Cannot log in as $p with the keytab $k: ${e.getMessage}. Check that the keytab " +
                "holds a key for this principal (klist -kt) and that krb5.conf names the realm's KDC.")
          }
        case _ =>
      }
      val user = UserGroupInformation.getLoginUser
      if (!user.hasKerberosCredentials) throw new KerberosLoginException(
        s"This cluster uses Kerberos (hadoop.security.authentication=kerberos) and no Kerberos " +
          s"ticket was found for ${user.getUserName}" +
          Option(System.getenv("KRB5CCNAME")).map(c => s" in the ticket cache $c").getOrElse("") +
          ". Run `kinit <principal>` (or `kinit -kt <keytab> <principal>`) first, or pass " +
          "Knit(principal=..., keytab=...).")
      user.getShortUserName
    }

  /** Before a call: a keytab login renews its ticket when it nears its end (if the
    * background renewal has not already); a renewal is logged. */
  def refresh(): Unit =
    if (UserGroupInformation.isSecurityEnabled && UserGroupInformation.isLoginKeytabBased) {
      val user = UserGroupInformation.getLoginUser
      user.checkTGTAndReloginFromKeytab()
      val end = ticketEndOf(user)
      if (end != ticketEnd) {
        if (ticketEnd != 0L) log.info(s"The Kerberos login of ${user.getUserName} was renewed from " +
          s"its keytab: its ticket is valid until ${Instant.ofEpochMilli(end)}")
        ticketEnd = end
      }
    }

  /** When the login's ticket-granting ticket ends (ms; 0 if unknown). UGI keeps its
    * Subject private: read through reflection, for the log line alone. */
  private def ticketEndOf(user: UserGroupInformation): Long =
    try {
      val getSubject = classOf[UserGroupInformation].getDeclaredMethod("getSubject")
      getSubject.setAccessible(true)
      getSubject.invoke(user).asInstanceOf[Subject].getPrivateCredentials(classOf[KerberosTicket])
        .asScala.filter(_.getServer.getName.startsWith("krbtgt/"))
        .map(_.getEndTime.getTime).foldLeft(0L)((a, b) => math.max(a, b))
    } catch { case _: ReflectiveOperationException | _: RuntimeException => 0L }
}
