package knit.common

import java.nio.charset.StandardCharsets.UTF_8

import org.scalatest.funsuite.AnyFunSuite

class LiveLogsSuite extends AnyFunSuite {
  private def files(json: String): Seq[String] = LiveLogs.listedFiles(json.getBytes(UTF_8))

  test("a NodeManager's list of a container's local log files") {
    // As a Hadoop 3.5 NodeManager answers /ws/v1/node/containers/<id>/logs.
    val answer = """{"containerLogsInfo":{"containerLogInfo":[
      {"fileName":"launch_container.sh","fileSize":"4637","lastModifiedTime":"x"},
      {"fileName":"stderr","fileSize":"4","lastModifiedTime":"x"},
      {"fileName":"stdout","fileSize":"3","lastModifiedTime":"x"}],
      "logAggregationType":"LOCAL","containerId":"c","nodeId":"n:1"}}"""
    assert(files(answer) == Seq("launch_container.sh", "stderr", "stdout"))
  }

  test("one file alone, several lists (rolling aggregation), and no answer") {
    val one = """{"containerLogsInfo":{"containerLogInfo":{"fileName":"stdout"}}}"""
    assert(files(one) == Seq("stdout"))
    val two = """{"containerLogsInfo":[
      {"containerLogInfo":[{"fileName":"stdout"},{"fileName":"stderr"}],"logAggregationType":"AGGREGATED"},
      {"containerLogInfo":[{"fileName":"stdout"},{"fileName":"knit-nm-watch.log"}],"logAggregationType":"LOCAL"}]}"""
    assert(files(two) == Seq("stdout", "stderr", "knit-nm-watch.log"))
    val bare = """[{"containerLogInfo":[{"fileName":"stderr"}],"logAggregationType":"LOCAL"}]"""
    assert(files(bare) == Seq("stderr"))
    assert(files("") == Nil)
    assert(files("""{"containerLogsInfo":{"containerLogInfo":null}}""") == Nil)
  }
}
