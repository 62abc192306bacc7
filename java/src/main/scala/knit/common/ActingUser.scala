package knit.common

import org.apache.hadoop.security.UserGroupInformation

/** Who an application's processes act as towards HDFS and YARN.
  *
  * On a cluster without Kerberos a container's processes run as the NodeManager's OS user
  * (often `yarn`), and a Hadoop client there would reach HDFS as that user: it is refused
  * on the submitter's private dirs. YARN's own ApplicationMasters act as the submitter;
  * knit does the same by naming the submitter in HADOOP_USER_NAME, which Hadoop's simple
  * authentication takes as the user (as do other HDFS clients, such as hdfs-native). With
  * Kerberos the identity comes from the delegation tokens, and nothing is set.
  */
object ActingUser {
  // The NodeManager pastes environment values into a shell script: plain names only.
  private val PlainName = "[A-Za-z0-9._@-]+"

  /** The environment that makes a container act as this process's current user. */
  def environment(): Map[String, String] = {
    val user = UserGroupInformation.getCurrentUser.getShortUserName
    if (UserGroupInformation.isSecurityEnabled || !user.matches(PlainName)) Map.empty
    else Map("HADOOP_USER_NAME" -> user)
  }
}
