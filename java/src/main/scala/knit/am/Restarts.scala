package knit.am

import scala.collection.mutable

/** When to re-launch failed containers, and which nodes to stop using.
  *
  * A failed container is replaced while fewer than `maxRestarts` replacements were made
  * over the application's life. A node where `failuresToExclude` containers failed is
  * excluded from then on, unless it is the last node not excluded (the application would
  * then wait forever). Pure bookkeeping: the AM does the asking and releasing.
  */
final class Restarts(val maxRestarts: Int, failuresToExclude: Int) {
  require(maxRestarts >= 0, s"maxRestarts must be >= 0, got $maxRestarts")
  require(failuresToExclude >= 1, s"failuresToExclude must be >= 1, got $failuresToExclude")

  private var used = 0
  private var unreplaced = 0
  private val failuresOn = mutable.Map.empty[String, Int].withDefaultValue(0)
  private val excludedNodes = mutable.LinkedHashSet.empty[String]

  /** Records a failed container on `node` (one of `allNodes`): whether to replace it, and
    * the node if this failure got it excluded. `replaceable` false: a replacement would
    * fail the same way (expired tokens), so none is made whatever restarts are left. */
  def onFailure(node: String, allNodes: Set[String], replaceable: Boolean = true): (Boolean, Option[String]) = {
    failuresOn(node) += 1
    val newlyExcluded =
      if (failuresOn(node) >= failuresToExclude && !excludedNodes(node) &&
          (allNodes - node -- excludedNodes).nonEmpty) {
        excludedNodes += node
        Some(node)
      } else None
    val replace = replaceable && used < maxRestarts
    if (replace) used += 1 else unreplaced += 1
    (replace, newlyExcluded)
  }

  def restartsUsed: Int = used

  /** Failures for which no replacement was made: the application has failed if any. */
  def unreplacedFailures: Int = unreplaced

  def excluded: Set[String] = excludedNodes.toSet
}
