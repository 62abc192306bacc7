package knit.common

import org.apache.hadoop.ipc.RemoteException

/** HDFS refusing a change because its NameNode is in safe mode: for a while after it
  * starts (30 s by default once enough blocks are reported) or when an administrator put
  * it there. Such a change can succeed later; any other failure is final. */
object SafeMode {
  private val ExceptionName = "SafeModeException"

  /** Whether `e`, or one of its causes, is the NameNode's safe-mode refusal (as the class
    * itself, or as a RemoteException naming it: a client unwraps it only for some calls). */
  def refused(e: Throwable): Boolean =
    Iterator.iterate(e)(_.getCause).takeWhile(_ != null).take(16).exists {
      case r: RemoteException => r.getClassName.endsWith(ExceptionName) ||
        // In HA, a NameNode starting up answers RetriableException(SafeModeException).
        (r.getClassName.endsWith("RetriableException") && Option(r.getMessage).exists(_.contains("safe mode")))
      case t => t.getClass.getName.endsWith(ExceptionName)
    }
}
