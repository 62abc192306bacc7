package knit.client

import java.lang.reflect.UndeclaredThrowableException
import java.security.PrivilegedExceptionAction

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.ipc.RemoteException
import org.apache.hadoop.security.{AccessControlException, UserGroupInformation}
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.conf.YarnConfiguration

import knit.common.HadoopConf
import knit.common.Messages.ClusterRef

/** The cluster refused to let this process's login act as another user. */
class ImpersonationRefusedException(message: String) extends AccessControlException(message)

/** One cluster as one user sees it: its configuration, a YARN client, and the identity
  * calls run as. With a proxy user, the YARN client and the file system are made and used
  * inside that user's `doAs`: each RPC then says "alice, via the service's login", and the
  * NameNode and ResourceManager check their `hadoop.proxyuser.*` settings. The UGI is made
  * once per session: Hadoop caches file systems by UGI instance. */
final class ClusterSession private (val ref: ClusterRef, val conf: YarnConfiguration,
    ugi: UserGroupInformation) {

  val yarn: YarnClient = as {
    val client = YarnClient.createYarnClient()
    client.init(HadoopConf.forResourceManager(conf))
    client.start()
    client
  }

  /** The default file system, as this session's user. */
  def fs: FileSystem = as(FileSystem.get(conf))

  /** Runs `f` as this session's user. Checked exceptions come out as thrown (`doAs` would
    * wrap YARN's); a refused impersonation says which settings decide. */
  def as[T](f: => T): T =
    try ugi.doAs(new PrivilegedExceptionAction[T] { override def run(): T = f })
    catch {
      case e: UndeclaredThrowableException if e.getCause != null => throw refusal(e.getCause).getOrElse(e.getCause)
      case e: Exception => throw refusal(e).getOrElse(e)
    }

  /** Fails now if the NameNode or the ResourceManager will not let this login act as the
    * proxy user (each checks its own settings). */
  def checkImpersonation(): Unit = as {
    yarn.getYarnClusterMetrics
    fs.getFileStatus(new Path("/"))
  }

  private def refusal(e: Throwable): Option[Exception] = {
    val refused = Iterator.iterate(e)(_.getCause).takeWhile(_ != null).exists {
      case r: RemoteException => r.getClassName.endsWith("AuthorizationException") &&
        Option(r.getMessage).exists(_.contains("impersonate"))
      case other => Option(other.getMessage).exists(_.contains("is not allowed to impersonate"))
    }
    if (!refused || ref.proxyUser.isEmpty) None
    else {
      val service = UserGroupInformation.getLoginUser.getShortUserName
      Some(new ImpersonationRefusedException(
        s"the cluster does not let $service act as ${ref.proxyUser} (Hadoop's proxy users). " +
          s"Allow it in core-site.xml of the NameNode and the ResourceManager: " +
          s"hadoop.proxyuser.$service.hosts (naming this host) and " +
          s"hadoop.proxyuser.$service.users or hadoop.proxyuser.$service.groups (naming " +
          s"${ref.proxyUser} or a group of theirs); then run `hdfs dfsadmin " +
          "-refreshSuperUserGroupsConfiguration` and `yarn rmadmin " +
          "-refreshSuperUserGroupsConfiguration`, or restart them."))
    }
  }
}

object ClusterSession {
  /** A session on the cluster `ref` names, as its proxy user or else as the logged-in user. */
  def open(ref: ClusterRef): ClusterSession = {
    val conf = HadoopConf.load(Option(ref.confDir).filter(_.nonEmpty).orNull, ref.overrides)
    val ugi =
      if (ref.proxyUser.isEmpty) UserGroupInformation.getCurrentUser
      else UserGroupInformation.createProxyUser(ref.proxyUser, UserGroupInformation.getLoginUser)
    new ClusterSession(ref, conf, ugi)
  }
}
