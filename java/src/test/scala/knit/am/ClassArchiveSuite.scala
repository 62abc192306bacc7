package knit.am

import java.io.File
import java.nio.file.Files

import org.scalatest.funsuite.AnyFunSuite

class ClassArchiveSuite extends AnyFunSuite {
  private def archiveIn(dir: File): File = {
    val a = new File(dir, "am-1.jsa")
    Files.write(a.toPath, Array[Byte](1, 2, 3))
    a
  }

  private def removeAll(dir: File): Unit = { dir.listFiles.foreach(_.delete()); dir.delete() }

  test("an archive the JVM maps is kept") {
    val dir = Files.createTempDirectory("archive").toFile
    val a = archiveIn(dir)
    assert(ClassArchive.settle(a, shared = true).startsWith("Classes from"))
    assert(a.isFile && !new File(a.getPath + ".refused").exists)
    removeAll(dir)
  }

  test("an archive the JVM refused is removed and marked, so that it is not written again") {
    val dir = Files.createTempDirectory("archive").toFile
    val a = archiveIn(dir)
    assert(ClassArchive.settle(a, shared = false).contains("refused"))
    assert(!a.exists && new File(a.getPath + ".refused").isFile)
    removeAll(dir)
  }
}
