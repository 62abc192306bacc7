package knit.common

import java.io.{DataInputStream, DataOutputStream}

import scala.jdk.CollectionConverters._
import scala.util.Try

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.io.Text
import org.apache.hadoop.security.Credentials
import org.apache.hadoop.security.token.delegation.AbstractDelegationTokenIdentifier
import org.apache.hadoop.yarn.client.ClientRMProxy
import org.apache.hadoop.yarn.client.api.YarnClient
import org.apache.hadoop.yarn.client.util.YarnClientUtils
import org.apache.hadoop.yarn.util.ConverterUtils

/** Delegation tokens of a Kerberized cluster: what an application's AM and containers use
  * in place of the user's Kerberos credentials, which never leave the client. */
object DelegationTokens {

  /** The ResourceManager's principal: the renewer of tokens the ResourceManager keeps
    * renewing for as long as the application runs (up to their maximum lifetime). */
  def resourceManagerPrincipal(conf: Configuration): String = YarnClientUtils.getRmPrincipal(conf)

  /** HDFS tokens (and a ResourceManager token when `yarn` is given) for `renewer`. */
  def obtain(conf: Configuration, renewer: String, yarn: Option[YarnClient] = None): Credentials = {
    val creds = new Credentials()
    FileSystem.get(conf).addDelegationTokens(renewer, creds)
    addHostAliases(creds, defaultFsAuthority(conf))
    yarn.foreach { y =>
      val rmToken = y.getRMDelegationToken(new Text(renewer))
      val service = ClientRMProxy.getRMDelegationTokenService(conf)
      creds.addToken(service, ConverterUtils.convertFromYarn(rmToken, service))
    }
    creds
  }

  /** Each HDFS token also under the NameNode's `host:port` as fs.defaultFS names it
    * (`authority`), beside Hadoop's `ip:port`: clients that look tokens up by the host of
    * the URL, such as hdfs-native in containers, find it too. Hadoop's clients look up
    * their own `ip:port` and never see the copy. */
  def addHostAliases(creds: Credentials, authority: Option[String]): Unit =
    for (a <- authority; port = a.substring(a.lastIndexOf(':') + 1);
         token <- creds.getAllTokens.asScala.toList
         if token.getKind.toString == "HDFS_DELEGATION_TOKEN" && token.getService.toString.endsWith(":" + port)
           && token.getService.toString != a) {
      val copy = new org.apache.hadoop.security.token.Token(token)
      copy.setService(new Text(a))
      creds.addToken(new Text(a), copy)
    }

  /** The default file system's `host:port`, if it is HDFS with a port. */
  def defaultFsAuthority(conf: Configuration): Option[String] =
    Option(FileSystem.getDefaultUri(conf)).filter(u => u.getScheme == "hdfs" && u.getPort > 0)
      .map(u => s"${u.getHost}:${u.getPort}")

  /** The earliest maximum date (ms since the epoch) of the delegation tokens in `creds`:
    * past it no renewal helps, new tokens are needed. */
  def earliestMaxDate(creds: Credentials): Option[Long] =
    creds.getAllTokens.asScala.toSeq.flatMap { t =>
      Try(t.decodeIdentifier()).toOption.collect {
        case id: AbstractDelegationTokenIdentifier if id.getMaxDate > 0 => id.getMaxDate
      }
    }.minOption

  /** Writes `creds` to `path` in HDFS, readable by the owner alone; written aside and
    * renamed, so that a reader never sees half a file. */
  def write(fs: FileSystem, creds: Credentials, path: Path): Unit = {
    val tmp = new Path(path.getParent, s".${path.getName}.tmp")
    val out: DataOutputStream = FileSystem.create(fs, tmp, new FsPermission("600"))
    try creds.writeTokenStorageToStream(out) finally out.close()
    fs.delete(path, false) // HDFS's rename does not replace
    if (!fs.rename(tmp, path)) throw new java.io.IOException(s"Could not rename $tmp to $path")
  }

  def read(fs: FileSystem, path: Path): Credentials = {
    val creds = new Credentials()
    val in: DataInputStream = fs.open(path)
    try creds.readTokenStorageStream(in) finally in.close()
    creds
  }
}
