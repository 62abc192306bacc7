package knit.minicluster

import java.security.PrivilegedExceptionAction

import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.hadoop.fs.permission.FsPermission
import org.apache.hadoop.hdfs.HdfsConfiguration
import org.apache.hadoop.security.UserGroupInformation

/** What an administrator makes on a new Kerberized HDFS, as its superuser (the
  * NameNode's principal): arguments `<principal> <keytab> <path>:<mode>[:<owner>]...`.
  * The conf dir on the classpath names the cluster. */
object HdfsDirs {
  def main(args: Array[String]): Unit = {
    val conf = new HdfsConfiguration()
    UserGroupInformation.setConfiguration(conf)
    val admin = UserGroupInformation.loginUserFromKeytabAndReturnUGI(args(0), args(1))
    admin.doAs(new PrivilegedExceptionAction[Unit] {
      override def run(): Unit = {
        val fs = FileSystem.get(conf)
        args.drop(2).foreach { spec =>
          val parts = spec.split(":")
          val path = new Path(parts(0))
          fs.mkdirs(path)
          fs.setPermission(path, new FsPermission(parts(1)))
          if (parts.length > 2) fs.setOwner(path, parts(2), null)
        }
      }
    })
    sys.exit(0) // Hadoop's client threads would keep the JVM up
  }
}
