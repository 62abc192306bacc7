package knit.minicluster

import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileContext, Path}
import org.apache.hadoop.fs.permission.FsPermission
import org.scalatest.funsuite.AnyFunSuite

class NioLocalFsSuite extends AnyFunSuite {

  test("mode bits map to POSIX permissions") {
    def str(mode: Int) = PosixFilePermissions.toString(NioRawLocalFileSystem.posix(mode))
    assert(str(Integer.parseInt("700", 8)) == "rwx------")
    assert(str(Integer.parseInt("500", 8)) == "r-x------")
    assert(str(Integer.parseInt("755", 8)) == "rwxr-xr-x")
    assert(str(Integer.parseInt("1644", 8)) == "rw-r--r--")
  }

  test("a FileContext configured with it sets permissions on real files") {
    val conf = new Configuration()
    conf.set(SiteFiles.LocalFsKey, classOf[NioLocalFs].getName)
    val dir = Files.createTempDirectory("niolocalfs")
    try {
      val file = Files.createFile(dir.resolve("f"))
      val fc = FileContext.getLocalFSFileContext(conf)
      assert(fc.getDefaultFileSystem.isInstanceOf[NioLocalFs])
      fc.setPermission(new Path(file.toUri), new FsPermission(Integer.parseInt("500", 8).toShort))
      assert(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)) == "r-x------")
      intercept[java.io.FileNotFoundException] {
        fc.setPermission(new Path(dir.resolve("missing").toUri), new FsPermission("700"))
      }
    } finally org.apache.hadoop.fs.FileUtil.fullyDelete(dir.toFile)
  }
}
