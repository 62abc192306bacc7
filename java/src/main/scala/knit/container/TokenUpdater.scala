package knit.container

import java.io.{DataOutputStream, File, FileOutputStream}
import java.nio.file.{Files, StandardCopyOption}
import java.nio.file.attribute.PosixFilePermissions

import scala.util.Try
import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.security.{Credentials, UserGroupInformation}

import knit.common.DelegationTokens

/** Runs beside the user's command in a container of an application started with a keytab:
  * copies the newest tokens the AM wrote (see `knit.am.TokenRenewal`) into the container's
  * token file (`HADOOP_TOKEN_FILE_LOCATION`), which every Hadoop client started later in
  * the container reads. Exits when the process it watches (the container's script) does.
  *
  * Arguments: HDFS tokens dir, local token file, pid to watch, poll interval in ms.
  */
object TokenUpdater {
  def main(args: Array[String]): Unit = {
    val Array(dir, tokenFile, watched, pollMs) = args
    val tokensDir = new Path(dir)
    val local = new File(tokenFile)
    val fs = tokensDir.getFileSystem(new Configuration())
    var current = 0L
    while (alive(watched)) {
      try {
        val newest = Try(fs.listStatus(tokensDir).toSeq.flatMap(_.getPath.getName.toLongOption)).getOrElse(Nil)
          .maxOption.getOrElse(0L)
        if (newest > current) {
          val fresh = DelegationTokens.read(fs, new Path(tokensDir, newest.toString))
          replace(local, fresh)
          UserGroupInformation.getCurrentUser.addCredentials(fresh) // for this process's next read
          current = newest
          System.err.println(s"${java.time.Instant.now()} knit: delegation tokens #$newest copied to $local")
        }
      } catch {
        case NonFatal(e) => System.err.println(s"${java.time.Instant.now()} knit: cannot update tokens: $e")
      }
      Thread.sleep(pollMs.toLong)
    }
  }

  /** Whether process `pid` still exists (Linux's /proc: YARN's containers run on Linux;
    * Java 8 has no process API for another process). */
  private def alive(pid: String): Boolean = new File(s"/proc/$pid").exists

  /** The container's tokens with `fresh` in place of the ones they renew, swapped in at
    * once: a client reading the file sees the old or the new one, never half. */
  private def replace(local: File, fresh: Credentials): Unit = {
    val all = Credentials.readTokenStorageFile(local, new Configuration())
    all.addAll(fresh)
    val tmp = new File(local.getParentFile, s".${local.getName}.knit-tmp")
    Files.deleteIfExists(tmp.toPath)
    Files.createFile(tmp.toPath, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
    val out = new DataOutputStream(new FileOutputStream(tmp))
    try all.writeTokenStorageToStream(out) finally out.close()
    Files.move(tmp.toPath, local.toPath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
  }
}
