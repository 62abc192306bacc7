"""knit.config: finding and reading a Hadoop client configuration, and the RM REST helper.

Pure tests: XML files in tmp_path and a local HTTP server; no Java, no cluster.
"""
from __future__ import annotations

import getpass
import http.server
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from knit import KnitException
from knit import config as kc
from knit.config import HadoopConfig, find_conf_dir, rm_get

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit


def site_xml(props: dict[str, str], final: tuple[str, ...] = ()) -> str:
    body = "".join(
        f"  <property><name>{k}</name><value>{v}</value>"
        + ("<final>true</final>" if k in final else "") + "</property>\n"
        for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def write_conf(directory: Path, **files: dict[str, str]) -> Path:
    """write_conf(d, core={...}, yarn={...}) writes core-site.xml and yarn-site.xml."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, props in files.items():
        (directory / f"{name}-site.xml").write_text(site_xml(props))
    return directory


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No conf dir from the machine running the tests leaks in."""
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    monkeypatch.setattr(kc, "DEFAULT_CONF_DIR", str(tmp_path / "etc-hadoop-conf"))


def load(tmp_path: Path, yarn: dict[str, str], **overrides) -> HadoopConfig:
    return HadoopConfig.load(write_conf(tmp_path / "conf", yarn=yarn), **overrides)


# ---------------------------------------------------------------------- find_conf_dir
def test_conf_dir_precedence(monkeypatch, tmp_path):
    explicit = write_conf(tmp_path / "explicit", core={})
    hadoop = write_conf(tmp_path / "hadoop", core={})
    yarn = write_conf(tmp_path / "yarn", yarn={})
    default = write_conf(Path(kc.DEFAULT_CONF_DIR), core={})

    assert find_conf_dir() == str(default)
    monkeypatch.setenv("YARN_CONF_DIR", str(yarn))
    assert find_conf_dir() == str(yarn)
    monkeypatch.setenv("HADOOP_CONF_DIR", str(hadoop))
    assert find_conf_dir() == str(hadoop)
    assert find_conf_dir(explicit) == str(explicit)
    assert find_conf_dir(str(explicit)) == str(explicit)


def test_empty_env_var_counts_as_unset(monkeypatch, tmp_path):
    yarn = write_conf(tmp_path / "yarn", yarn={})
    monkeypatch.setenv("HADOOP_CONF_DIR", "")
    monkeypatch.setenv("YARN_CONF_DIR", str(yarn))
    assert find_conf_dir() == str(yarn)


def test_no_configuration_anywhere_suggests_minicluster():
    with pytest.raises(KnitException) as e:
        find_conf_dir()
    msg = str(e.value)
    assert "No Hadoop configuration was found" in msg
    assert "$HADOOP_CONF_DIR: not set" in msg and "$YARN_CONF_DIR: not set" in msg
    assert kc.DEFAULT_CONF_DIR in msg
    assert "knit.MiniCluster()" in msg and ".conf_dir" in msg


def test_dir_without_site_files_is_no_configuration(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "hdfs-site.xml").write_text(site_xml({}))  # not enough on its own
    monkeypatch.setenv("HADOOP_CONF_DIR", str(empty))
    with pytest.raises(KnitException, match="No Hadoop configuration was found") as e:
        find_conf_dir()
    assert str(empty) in str(e.value) and "MiniCluster" in str(e.value)


def test_set_but_missing_env_dir(monkeypatch, tmp_path):
    write_conf(Path(kc.DEFAULT_CONF_DIR), core={})  # not silently used instead
    missing = tmp_path / "nope"
    monkeypatch.setenv("HADOOP_CONF_DIR", str(missing))
    with pytest.raises(KnitException) as e:
        find_conf_dir()
    assert str(missing) in str(e.value) and "$HADOOP_CONF_DIR" in str(e.value)
    assert "does not exist" in str(e.value)


def test_missing_explicit_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HADOOP_CONF_DIR", str(write_conf(tmp_path / "h", core={})))
    with pytest.raises(KnitException, match="conf_dir argument") as e:
        find_conf_dir(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value)


# ---------------------------------------------------------------------- loading
def test_files_merge_in_order_and_overrides_win(tmp_path):
    d = write_conf(tmp_path / "conf",
                   core={"a": "core", "b": "core", "c": "core", "fs.defaultFS": "hdfs://nn:8020"},
                   hdfs={"b": "hdfs", "c": "hdfs"},
                   yarn={"c": "yarn", "yarn.resourcemanager.address": "rm:8032"})
    conf = HadoopConfig.load(d, **{"yarn.resourcemanager.address": "h:1", "flag": True})
    assert conf.conf_dir == str(d)
    assert (conf.get("a"), conf.get("b"), conf.get("c")) == ("core", "hdfs", "yarn")
    assert conf.get("yarn.resourcemanager.address") == "h:1"
    assert conf.resourcemanager_addresses == ["h:1"]
    assert conf.overrides == {"yarn.resourcemanager.address": "h:1", "flag": "true"}
    assert conf.values["yarn.resourcemanager.address"] == "h:1"
    assert conf.default_fs == "hdfs://nn:8020"
    assert conf.get("missing") is None and conf.get("missing", "x") == "x"


def test_final_property_is_not_overridden_by_later_file(tmp_path):
    d = tmp_path / "conf"
    d.mkdir()
    (d / "core-site.xml").write_text(site_xml({"k": "core"}, final=("k",)))
    (d / "yarn-site.xml").write_text(site_xml({"k": "yarn"}))
    assert HadoopConfig.load(d).get("k") == "core"
    assert HadoopConfig.load(d, k="mine").get("k") == "mine"


def test_property_attributes_and_whitespace(tmp_path):
    d = tmp_path / "conf"
    d.mkdir()
    (d / "yarn-site.xml").write_text(
        '<configuration><property name="x" value="1"/>'
        "<property>\n <name> y </name>\n <value>\n  2\n </value>\n</property>"
        "<property><name>novalue</name></property>"
        "<property><name>empty</name><value></value></property></configuration>")
    conf = HadoopConfig.load(d)
    assert conf.values == {"x": "1", "y": "2", "empty": ""}


def test_defaults_without_any_keys(tmp_path):
    conf = load(tmp_path, yarn={})
    assert conf.default_fs == "file:///"
    assert conf.rm_ids == [] and conf.https is False
    assert conf.resourcemanager_addresses == ["0.0.0.0:8032"]
    assert conf.resourcemanager_web_urls == ["http://0.0.0.0:8088"]


@pytest.mark.parametrize("text", [
    "<configuration><property><name>a</name>",
    "not xml at all",
])
def test_malformed_xml_names_the_file(tmp_path, text):
    d = write_conf(tmp_path / "conf", core={"a": "1"})
    (d / "yarn-site.xml").write_text(text)
    with pytest.raises(KnitException, match="Malformed") as e:
        HadoopConfig.load(d)
    assert str(d / "yarn-site.xml") in str(e.value)


def test_wrong_top_element(tmp_path):
    d = tmp_path / "conf"
    d.mkdir()
    (d / "core-site.xml").write_text("<properties/>")
    with pytest.raises(KnitException, match="core-site.xml.*<configuration>"):
        HadoopConfig.load(d)


# ---------------------------------------------------------------------- expansion
def test_variable_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("KNIT_TEST_USER", "alice")
    monkeypatch.delenv("KNIT_TEST_UNSET", raising=False)
    conf = load(tmp_path, yarn={
        "base": "/data",
        "mid": "${base}/mid",
        "deep": "${mid}/deep/${base}",
        "env": "/home/${env.KNIT_TEST_USER}",
        "env.default": "${env.KNIT_TEST_UNSET:-fallback}",
        "unknown": "${no.such.key}/x/${env.KNIT_TEST_UNSET}",
    })
    assert conf.get("deep") == "/data/mid/deep//data"
    assert conf.get("env") == "/home/alice"
    assert conf.get("env.default") == "fallback"
    assert conf.get("unknown") == "${no.such.key}/x/${env.KNIT_TEST_UNSET}"
    assert conf.values["deep"] == "${mid}/deep/${base}"  # values stay as written


def test_expansion_applies_to_overrides_and_derived_values(tmp_path):
    conf = load(tmp_path, yarn={
        "yarn.resourcemanager.hostname": "rm.example",
        "yarn.resourcemanager.address": "${yarn.resourcemanager.hostname}:8032",
    }, **{"yarn.resourcemanager.hostname": "other"})
    assert conf.resourcemanager_addresses == ["other:8032"]


def test_expansion_loop_and_depth(tmp_path):
    chain = {f"k{i}": f"${{k{i + 1}}}" for i in range(30)}
    chain["k30"] = "end"
    conf = load(tmp_path, yarn={"a": "${b}", "b": "x${a}", **chain})
    with pytest.raises(KnitException, match="loop"):
        conf.get("a")
    with pytest.raises(KnitException, match="deeper than"):
        conf.get("k0")
    assert conf.get("k15") == "end"


# ---------------------------------------------------------------------- ResourceManager
HA = {
    "yarn.resourcemanager.ha.enabled": "true",
    "yarn.resourcemanager.ha.rm-ids": " rm1, rm2 ",
    "yarn.resourcemanager.address.rm1": "master1:8032",
    "yarn.resourcemanager.address.rm2": "master2:8032",
    "yarn.resourcemanager.webapp.address.rm1": "master1:8088",
    "yarn.resourcemanager.webapp.address.rm2": "master2:8088",
    "yarn.resourcemanager.webapp.https.address.rm1": "master1:8090",
    "yarn.resourcemanager.webapp.https.address.rm2": "master2:8090",
}


def test_ha_two_resourcemanagers(tmp_path):
    conf = load(tmp_path, yarn=HA)
    assert conf.rm_ids == ["rm1", "rm2"]
    assert conf.resourcemanager_addresses == ["master1:8032", "master2:8032"]
    assert conf.resourcemanager_web_urls == ["http://master1:8088", "http://master2:8088"]


def test_ha_not_enabled_ignores_rm_ids(tmp_path):
    conf = load(tmp_path, yarn={**HA, "yarn.resourcemanager.ha.enabled": "false",
                                "yarn.resourcemanager.address": "single:9000"})
    assert conf.rm_ids == []
    assert conf.resourcemanager_addresses == ["single:9000"]


def test_https_only_web_urls(tmp_path):
    conf = load(tmp_path, yarn={**HA, "yarn.http.policy": "HTTPS_ONLY"})
    assert conf.https
    assert conf.resourcemanager_web_urls == ["https://master1:8090", "https://master2:8090"]
    assert load(tmp_path, yarn={**HA, "yarn.http.policy": "HTTP_ONLY"}).https is False


def test_hostname_fallbacks(tmp_path):
    conf = load(tmp_path, yarn={"yarn.resourcemanager.hostname": "rm.example"})
    assert conf.resourcemanager_addresses == ["rm.example:8032"]
    assert conf.resourcemanager_web_urls == ["http://rm.example:8088"]
    conf = load(tmp_path, yarn={"yarn.resourcemanager.hostname": "rm.example",
                                "yarn.http.policy": "HTTPS_ONLY"})
    assert conf.resourcemanager_web_urls == ["https://rm.example:8090"]


def test_ha_hostname_fallbacks(tmp_path):
    conf = load(tmp_path, yarn={
        "yarn.resourcemanager.ha.enabled": "true",
        "yarn.resourcemanager.ha.rm-ids": "a,b",
        "yarn.resourcemanager.hostname.a": "host-a",
        "yarn.resourcemanager.hostname.b": "host-b",
        "yarn.resourcemanager.webapp.address.b": "0.0.0.0:18088",  # bind-all
    })
    assert conf.resourcemanager_addresses == ["host-a:8032", "host-b:8032"]
    assert conf.resourcemanager_web_urls == ["http://host-a:8088", "http://host-b:18088"]


def test_bind_all_address_uses_hostname(tmp_path):
    conf = load(tmp_path, yarn={"yarn.resourcemanager.hostname": "rm.example",
                                "yarn.resourcemanager.address": "0.0.0.0:9032",
                                "yarn.resourcemanager.webapp.address": "0.0.0.0"})
    assert conf.resourcemanager_addresses == ["rm.example:9032"]
    assert conf.resourcemanager_web_urls == ["http://rm.example:8088"]


def test_ha_rm_without_any_address_is_an_error(tmp_path):
    conf = load(tmp_path, yarn={"yarn.resourcemanager.ha.enabled": "true",
                                "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
                                "yarn.resourcemanager.hostname.rm1": "h1"})
    with pytest.raises(KnitException, match=r"hostname\.rm2"):
        conf.resourcemanager_addresses


# ---------------------------------------------------------------------- rm_get
class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "active"  # set per server class: "active", "redirect", "standby-body", "error"
    seen: list

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        if self.mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://elsewhere:8088/ws/v1/cluster/info")
            self.end_headers()
            self.wfile.write(b"This is standby RM. The redirect url is: http://elsewhere")
            return
        if self.mode == "standby-body":
            body, ctype = b"This is standby RM. The redirect url is: ", "text/plain"
        elif self.mode == "error":
            self.send_error(500, "boom")
            return
        else:
            body = json.dumps({"clusterInfo": {"haState": "ACTIVE"}}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def rm_server():
    """rm_server(mode) -> (base url, list of request paths it saw)."""
    servers = []

    def start(mode: str):
        handler = type("H", (_Handler,), {"mode": mode, "seen": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}", handler.seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ha_conf(tmp_path, *addresses: str, **extra) -> HadoopConfig:
    ids = [f"rm{i}" for i in range(len(addresses))]
    props = {"yarn.resourcemanager.ha.enabled": "true",
             "yarn.resourcemanager.ha.rm-ids": ",".join(ids), **extra}
    props.update({f"yarn.resourcemanager.webapp.address.{i}": a for i, a in zip(ids, addresses)})
    return load(tmp_path, yarn=props)


def test_rm_get_single_rm_adds_user_name(tmp_path, rm_server):
    address, seen = rm_server("active")
    conf = load(tmp_path, yarn={"yarn.resourcemanager.webapp.address": address})
    assert rm_get(conf, "/ws/v1/cluster/info") == {"clusterInfo": {"haState": "ACTIVE"}}
    query = parse_qs(urlparse(seen[0]).query)
    assert urlparse(seen[0]).path == "/ws/v1/cluster/info"
    assert query == {"user.name": [getpass.getuser()]}


def test_rm_get_no_user_name_under_kerberos(tmp_path, rm_server):
    address, seen = rm_server("active")
    conf = load(tmp_path, yarn={"yarn.resourcemanager.webapp.address": address,
                                "hadoop.security.authentication": "kerberos"})
    rm_get(conf, "ws/v1/cluster/info?x=1")
    assert seen == ["/ws/v1/cluster/info?x=1"]


@pytest.mark.parametrize("first", ["redirect", "standby-body", "error", "unreachable"])
def test_rm_get_skips_to_the_second_rm(tmp_path, rm_server, first):
    if first == "unreachable":
        bad = f"127.0.0.1:{unused_port()}"
    else:
        bad, _ = rm_server(first)
    good, seen = rm_server("active")
    conf = ha_conf(tmp_path, bad, good)
    assert rm_get(conf, "/ws/v1/cluster/info")["clusterInfo"]["haState"] == "ACTIVE"
    assert len(seen) == 1


def test_rm_get_uses_given_session(tmp_path, rm_server):
    import requests

    address, _ = rm_server("active")
    conf = load(tmp_path, yarn={"yarn.resourcemanager.webapp.address": address})
    with requests.Session() as session:
        assert rm_get(conf, "/ws/v1/cluster/info", session=session, verify=False)


def test_rm_get_unreachable_fails_fast(tmp_path):
    port = unused_port()
    conf = load(tmp_path, yarn={"yarn.resourcemanager.webapp.address": f"127.0.0.1:{port}"})
    start = time.monotonic()
    with pytest.raises(KnitException) as e:
        rm_get(conf, "/ws/v1/cluster/info", timeout=30)
    assert time.monotonic() - start < 10
    msg = str(e.value)
    assert f"Cannot reach the YARN ResourceManager at http://127.0.0.1:{port}" in msg
    assert "HADOOP_CONF_DIR" in msg


def test_rm_get_all_standby_names_every_url(tmp_path, rm_server):
    a, _ = rm_server("redirect")
    b, _ = rm_server("standby-body")
    conf = ha_conf(tmp_path, a, b)
    with pytest.raises(KnitException) as e:
        rm_get(conf, "/ws/v1/cluster/info")
    msg = str(e.value)
    assert f"http://{a}" in msg and f"http://{b}" in msg and "standby" in msg
