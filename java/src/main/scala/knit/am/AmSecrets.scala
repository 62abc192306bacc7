package knit.am

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.hadoop.io.Text
import org.apache.hadoop.security.UserGroupInformation

/** The AM-only secrets (`AppFiles.AmOnlySecretKeys`) the client put in the application's
  * credentials: never on a command line, in the environment or in a file of the staging dir. */
object AmSecrets {
  def read(key: String): String =
    new String(UserGroupInformation.getCurrentUser.getCredentials.getSecretKey(new Text(key)), UTF_8)
}
