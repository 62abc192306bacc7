package knit.common

import org.scalatest.funsuite.AnyFunSuite

import knit.common.Messages._

class MessagesSuite extends AnyFunSuite {
  private val container = Container(id = "container_1_0001_01_000002", role = "main",
    node = "n1:8041", nodeHttp = "n1:8042", state = "COMPLETE", memoryMb = 512, vcores = 1,
    allocatedAt = 1796175868810L, exitStatus = Some(-105), outcome = None, diagnostics = "",
    launchedAt = Some(1796175868900L), finishedAt = None,
    envvars = Map("DASK_GATEWAY_WORKER_NAME" -> "w1"))

  test("fields are snake_case, None is null, and a message reads back as it was written") {
    val list = ContainerList(finished = true, attempt = 2, containers = Seq(container),
      amContainer = "container_1_0001_02_000001", amNodeHttp = "n2:8042",
      restarts = Map("main" -> RoleRestarts(maxRestarts = 3, used = 1, unreplaced = 0)))
    val json = Messages.toJson(list)
    val obj = ujson.read(json).obj
    assert(obj.keySet == Set("finished", "attempt", "containers", "am_container", "am_node_http", "restarts"))
    assert(obj("restarts")("main")("max_restarts").num == 3)
    val c = obj("containers").arr.head.obj
    assert(c("node_http").str == "n1:8042" && c("allocated_at").num == 1796175868810.0)
    assert(c("exit_status").num == -105 && c("outcome").isNull && c("finished_at").isNull)
    assert(c("envvars")("DASK_GATEWAY_WORKER_NAME").str == "w1")
    assert(Messages.fromJson[ContainerList](json) == list)
  }

  private def gatewaySecrets(fields: (String, ujson.Value)*) = ujson.write(ujson.Obj.from(fields))

  test("a field this side does not know is refused and named") {
    val json = gatewaySecrets("token" -> "t", "tls_cert" -> "c", "tls_key" -> "k", "extra" -> 1)
    val e = intercept[IllegalArgumentException](Messages.fromJson[GatewaySecrets](json))
    assert(e.getMessage.contains("extra"), e.getMessage)
  }

  test("a missing field is refused and named (as the case class names it)") {
    val e = intercept[IllegalArgumentException](
      Messages.fromJson[GatewaySecrets](gatewaySecrets("token" -> "t", "tls_cert" -> "c")))
    assert(e.getMessage.contains("tlsKey"), e.getMessage)
  }

  test("null where no Option is, or a string where a number belongs, is refused") {
    intercept[IllegalArgumentException](Messages.fromJson[GatewaySecrets](
      gatewaySecrets("token" -> ujson.Null, "tls_cert" -> "c", "tls_key" -> "k")))
    def submitted(bytes: ujson.Value) =
      gatewaySecrets("app_id" -> "a", "staging_dir" -> "/s", "uploaded_bytes" -> bytes)
    assert(Messages.fromJson[Submitted](submitted(7)).uploadedBytes == 7L)
    intercept[IllegalArgumentException](Messages.fromJson[Submitted](submitted(ujson.Null)))
    intercept[IllegalArgumentException](Messages.fromJson[Submitted](submitted("7")))
    intercept[IllegalArgumentException](Messages.fromJson[Submitted]("{not json"))
  }

  test("maps are JSON objects, and a staged app nests its spec") {
    val spec = AppSpec(name = "a", queue = "default", command = "sleep 1", numContainers = 2,
      memory = 256, vcores = 1, amMemory = 512, amVcores = 1, knitJar = "", files = Seq("f"),
      envvars = Map("A" -> "1"), nodeLabel = None, env = Some("e"), keepAlive = false,
      leaseMs = 60000L, maxRestarts = 0, amAttempts = 1, principal = None, keytab = None,
      tags = Nil, resources = Map("yarn.io/gpu" -> 1))
    val staged = StagedApp(spec, "/staging", "/jar", None, Seq("n1"), Seq("n1:8041"), renewsTokens = false)
    val json = Messages.toJson(staged)
    val read = ujson.read(json)
    assert(read("spec")("envvars")("A").str == "1" && read("spec")("resources")("yarn.io/gpu").num == 1)
    assert(read("spec")("num_containers").num == 2 && read("renews_tokens").bool == false)
    assert(Messages.fromJson[StagedApp](json) == staged)
  }

  test("plain answers: string-keyed maps as objects, options as null, whole numbers exact") {
    val pending: Map[String, Map[String, Int]] = Map("main" -> Map("1024x1" -> 3))
    assert(ujson.read(Messages.toJson(pending)) == ujson.Obj("main" -> ujson.Obj("1024x1" -> 3)))
    val envs = Seq(StoredEnv("ab12", "dev.tar.gz", 123456789012L, 1796175868810L))
    assert(ujson.read(Messages.toJson(envs)) == ujson.Arr(ujson.Obj("sha256" -> "ab12",
      "name" -> "dev.tar.gz", "size" -> 123456789012.0, "modified" -> 1796175868810.0)))
    assert(Messages.toJson(Map("a" -> Option.empty[String], "b" -> Some("x"))) == """{"a":null,"b":"x"}""")
    assert(Messages.toJson("a \"staged\" file") == "\"a \\\"staged\\\" file\"")
    assert(Messages.toJson(LiveLogsRead(Map("c1" -> Map("stdout" -> "up\n")), Map("c2" -> "HTTP 500"))) ==
      """{"logs":{"c1":{"stdout":"up\n"}},"unreadable":{"c2":"HTTP 500"}}""")
    assert(Json.stringMap("""{"k": "v"}""") == Map("k" -> "v"))
    assert(Json.stringMap("") == Map.empty)
    intercept[IllegalArgumentException](Json.stringMap("""{"k": 1}"""))
  }
}
