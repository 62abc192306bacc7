package knit.am

import scala.collection.mutable

/** One role's budget for replacing its lost containers: a failed container is replaced
  * while fewer than `maxRestarts` replacements were made over the application's life
  * (each role has its own; the application's `max_restarts` is its main role's). Pure
  * bookkeeping: the Coordinator does the asking. */
final class Restarts(val maxRestarts: Int) {
  require(maxRestarts >= 0, s"maxRestarts must be >= 0, got $maxRestarts")

  private var used = 0
  private var unreplaced = 0

  /** Records a lost container: whether to replace it. `replaceable` false: a replacement
    * would fail the same way (expired tokens), so none is made whatever restarts are left. */
  def onFailure(replaceable: Boolean = true): Boolean = {
    val replace = replaceable && used < maxRestarts
    if (replace) used += 1 else unreplaced += 1
    replace
  }

  def restartsUsed: Int = used

  /** Losses for which no replacement was made: the application has failed if any. */
  def unreplacedFailures: Int = unreplaced
}

/** Which nodes to stop using, whatever role failed there: a node where
  * `failuresToExclude` containers failed is excluded from then on, unless it is the last
  * node not excluded (the application would then wait forever). */
final class NodeExclusion(failuresToExclude: Int) {
  require(failuresToExclude >= 1, s"failuresToExclude must be >= 1, got $failuresToExclude")

  private val failuresOn = mutable.Map.empty[String, Int].withDefaultValue(0)
  private val excludedNodes = mutable.LinkedHashSet.empty[String]

  /** Records a failed container on `node` (one of `allNodes`): the node, if this failure
    * got it excluded. */
  def onFailure(node: String, allNodes: Set[String]): Option[String] = {
    failuresOn(node) += 1
    if (failuresOn(node) >= failuresToExclude && !excludedNodes(node) &&
        (allNodes - node -- excludedNodes).nonEmpty) {
      excludedNodes += node
      Some(node)
    } else None
  }

  def apply(node: String): Boolean = excludedNodes(node)

  def excluded: Set[String] = excludedNodes.toSet
}
