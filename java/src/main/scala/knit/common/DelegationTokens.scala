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
    yarn.foreach { y =>
      val rmToken = y.getRMDelegationToken(new Text(renewer))
      val service = ClientRMProxy.getRMDelegationTokenService(conf)
      creds.addToken(service, ConverterUtils.convertFromYarn(rmToken, service))
    }
    creds
  }

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
