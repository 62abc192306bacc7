package knit.am

import java.io.File
import java.security.PrivilegedExceptionAction
import java.util.concurrent.{Executors, ScheduledExecutorService, TimeUnit}

import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.security.{Credentials, UserGroupInformation}
import org.slf4j.LoggerFactory

import knit.common.{AppFiles, DelegationTokens}

/** When to fetch new tokens: three quarters of the way to the earliest expiry, so that a
  * failed try has time to be retried. Pure, for unit tests. */
object TokenSchedule {
  val Fraction = 0.75
  val MinDelayMs = 1000L
  val RetryMs = 10000L

  /** hdfs-native stops using a token a minute before it expires: renew before that, and
    * before the containers' next look (at most a minute), when the lifetime allows it. */
  val HdfsNativeMarginMs = 150000L

  def delayMs(now: Long, expiry: Long): Long = {
    val left = expiry - now
    val byFraction = (left * Fraction).toLong
    val byMargin = left - HdfsNativeMarginMs
    math.max(MinDelayMs, if (byMargin >= left / 2) math.min(byFraction, byMargin) else byFraction)
  }

  /** How often containers look for new tokens: a tenth of a token's life, 1 s to 60 s. */
  def pollMs(lifetimeMs: Long): Long = math.min(60000L, math.max(1000L, lifetimeMs / 10))
}

object TokenRenewal {
  /** When this process's delegation tokens reach their maximum lifetime (in a day, when
    * it holds none that says). */
  def currentExpiry(): Long =
    DelegationTokens.earliestMaxDate(UserGroupInformation.getCurrentUser.getCredentials)
      .getOrElse(System.currentTimeMillis() + TimeUnit.DAYS.toMillis(1))
}

/** The AM of an application started with a keytab keeps its delegation tokens alive past
  * their maximum lifetime: it logs in from the keytab, obtains new HDFS tokens before the
  * current ones expire, uses them itself and for containers it starts, and writes them to
  * `<staging>/tokens/<n>` (mode 600) where running containers' `knit.container.TokenUpdater`
  * picks them up. */
class TokenRenewal(conf: Configuration, principal: String, keytab: File, tokensDir: Path,
    onRenewed: Credentials => Unit) {
  private val log = LoggerFactory.getLogger(getClass)
  private val timer: ScheduledExecutorService = Executors.newSingleThreadScheduledExecutor { r =>
    val t = new Thread(r, "token-renewal"); t.setDaemon(true); t
  }
  @volatile private var generation = 0

  /** Schedules the first renewal, before the tokens the client obtained reach their end.
    * A later AM attempt may start with tokens already at or past it: those are replaced
    * before this returns, so the AM's first HDFS call has good ones. */
  def start(): Unit = {
    val now = System.currentTimeMillis()
    val expiry = TokenRenewal.currentExpiry()
    if (expiry - now < TokenSchedule.MinDelayMs * 5) renew()
    else schedule(TokenSchedule.delayMs(now, expiry))
  }

  def stop(): Unit = timer.shutdownNow()

  private def schedule(delayMs: Long): Unit = {
    log.info(s"Next delegation token renewal in ${delayMs / 1000.0} s")
    timer.schedule((() => renew()): Runnable, delayMs, TimeUnit.MILLISECONDS)
  }

  private def renew(): Unit = {
    try {
      val ugi = UserGroupInformation.loginUserFromKeytabAndReturnUGI(principal, keytab.getAbsolutePath)
      // Renewer: the user itself, so that renewing once tells when these tokens expire.
      val (fresh, expiry) = ugi.doAs(new PrivilegedExceptionAction[(Credentials, Long)] {
        override def run(): (Credentials, Long) = {
          val fs = FileSystem.newInstance(conf)
          try {
            val creds = new Credentials()
            fs.addDelegationTokens(principal, creds)
            val expiry = creds.getAllTokens.asScala.map(_.renew(conf)).minOption
            // Under the NameNode's host:port too, as the client's were: hdfs-native in the
            // containers looks them up there, and would keep using the expired first ones.
            DelegationTokens.addHostAliases(creds, DelegationTokens.defaultFsAuthority(conf))
            (creds, (expiry ++ DelegationTokens.earliestMaxDate(creds)).min)
          } finally fs.close()
        }
      })
      UserGroupInformation.getCurrentUser.addCredentials(fresh)
      val fs = tokensDir.getFileSystem(conf)
      fs.mkdirs(tokensDir)
      // Numbers only grow, across AM attempts too: containers take a number above theirs.
      generation = 1 + (generation +: fs.listStatus(tokensDir).toSeq.flatMap(_.getPath.getName.toIntOption)).max
      DelegationTokens.write(fs, fresh, new Path(tokensDir, generation.toString))
      // Containers read the newest file; the one before stays for a container mid-read.
      if (generation > 2) fs.delete(new Path(tokensDir, (generation - 2).toString), false)
      onRenewed(fresh)
      log.info(s"Obtained delegation tokens #$generation (${fresh.numberOfTokens} tokens), valid " +
        s"until ${new java.util.Date(expiry)}")
      schedule(TokenSchedule.delayMs(System.currentTimeMillis(), expiry))
    } catch {
      case NonFatal(e) =>
        log.error(s"Could not obtain new delegation tokens; trying again in ${TokenSchedule.RetryMs / 1000} s", e)
        schedule(TokenSchedule.RetryMs)
    }
  }
}
