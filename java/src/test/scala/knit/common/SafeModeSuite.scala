package knit.common

import java.io.{FileNotFoundException, IOException}

import org.apache.hadoop.hdfs.server.namenode.SafeModeException
import org.apache.hadoop.ipc.{RemoteException, RetriableException}
import org.scalatest.funsuite.AnyFunSuite

class SafeModeSuite extends AnyFunSuite {
  private val message = "Cannot delete /user/u/.knit/application_1_0001. Name node is in safe mode."

  test("the NameNode's safe-mode refusal, as the client unwraps it or as a RemoteException, wrapped or not") {
    assert(SafeMode.refused(new SafeModeException(message)))
    assert(SafeMode.refused(new RemoteException(classOf[SafeModeException].getName, message)))
    assert(SafeMode.refused(new IOException("delete failed", new SafeModeException(message))))
    assert(SafeMode.refused(new RemoteException(classOf[RetriableException].getName,
      "org.apache.hadoop.hdfs.server.namenode.SafeModeException: " + message)))
  }

  test("other failures are final") {
    assert(!SafeMode.refused(new FileNotFoundException("Parent directory doesn't exist")))
    assert(!SafeMode.refused(new RemoteException("org.apache.hadoop.security.AccessControlException", "denied")))
    assert(!SafeMode.refused(new RemoteException(classOf[RetriableException].getName, "the NameNode is busy")))
    assert(!SafeMode.refused(new IOException("x", new IOException("y"))))
  }
}
