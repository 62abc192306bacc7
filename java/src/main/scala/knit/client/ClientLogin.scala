package knit.client

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.security.UserGroupInformation

/** The user's own credentials were not found: the message says what to do. */
class KerberosLoginException(message: String) extends RuntimeException(message)

/** How a client JVM becomes the user towards a Kerberized cluster. Hadoop keeps one login
  * per JVM, so Python starts one client JVM per identity (see knit/client_jvm.py). */
object ClientLogin {

  /** Logs in from `keytab` as `principal` when given, else from the ticket cache
    * (`KRB5CCNAME`, as after `kinit`); returns the user's short name. On a cluster without
    * Kerberos this only returns the name. */
  def login(conf: Configuration, principal: Option[String], keytab: Option[String]): String =
    synchronized {
      UserGroupInformation.setConfiguration(conf)
      if (!UserGroupInformation.isSecurityEnabled) return UserGroupInformation.getCurrentUser.getShortUserName
      (principal, keytab) match {
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

  /** Before a call: a keytab login renews its ticket when it nears its end. */
  def refresh(): Unit =
    if (UserGroupInformation.isSecurityEnabled && UserGroupInformation.isLoginKeytabBased)
      UserGroupInformation.getLoginUser.checkTGTAndReloginFromKeytab()
}
