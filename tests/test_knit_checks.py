"""Requests that cannot run are refused before anything reaches the ResourceManager."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from knit import ClusterClient, Knit, KnitException
from knit import config as knit_config


def app_count(minicluster) -> int:
    apps = requests.get(minicluster.resourcemanager_web + "/ws/v1/cluster/apps", timeout=10).json()
    return len((apps.get("apps") or {}).get("app") or [])


@pytest.fixture
def refused(minicluster):
    """Asserts that the KnitException raised in the block left no application behind."""
    before = app_count(minicluster)

    def check(match: str, **start_kwargs):
        k = Knit(minicluster.conf_dir)
        start_kwargs.setdefault("cmd", "true")
        with pytest.raises(KnitException, match=match):
            k.start(**start_kwargs)
        assert app_count(minicluster) == before, "an application was submitted anyway"
        assert k.app_id is None
    return check


def test_container_too_big(refused):
    # Over every NodeManager (4096 MB, 8 vcores each) ...
    refused(r"No NodeManager can hold a container of 5000 MB .* largest has 4096 MB",
            memory=5000)
    # ... and over the scheduler's maximum allocation, checked by YARN (8192 MB until the
    # ResourceManager caps it at its largest NodeManager).
    refused(r"100000 MB .* exceed the cluster's maximum of (8192|4096) MB", memory=100000,
            checks=False)
    refused(r"6 vcores exceed the cluster's maximum of .* 4 vcores", virtual_cores=6)


def test_unknown_queue(refused):
    refused(r"Unknown queue 'nope'; this cluster's queues: default", queue="nope")


def test_local_file_missing(refused, tmp_path):
    refused(r"File to ship does not exist .*missing.txt", files=[tmp_path / "missing.txt"])


@pytest.mark.parametrize("cmd", ["", "   ", None])
def test_empty_command(refused, cmd):
    refused("cmd must be a non-empty shell command", cmd=cmd)


@pytest.mark.parametrize("n", [-1, 2.5, "3", True])
def test_bad_container_count(refused, n):
    refused("num_containers must be an integer >= 0", num_containers=n)


def test_env_archive_missing_or_of_another_kind(refused, tmp_path):
    refused("Environment archive not found: .*env.tar.gz", env=tmp_path / "env.tar.gz")
    wheel = tmp_path / "pkg.whl"
    wheel.write_text("not an archive knit can unpack")
    refused(r"must be \.tar\.gz, \.tgz, \.tar or \.zip", env=wheel)


def write_conf(conf_dir: Path, web_address: str) -> str:
    conf_dir.mkdir()
    (conf_dir / "yarn-site.xml").write_text(
        "<configuration><property><name>yarn.resourcemanager.webapp.address</name>"
        f"<value>{web_address}</value></property></configuration>")
    return str(conf_dir)


class _NoNodesRM(http.server.BaseHTTPRequestHandler):
    """Answers like a ResourceManager whose NodeManagers are all gone."""

    def do_GET(self):
        body = json.dumps({"nodes": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.unit
def test_no_active_nodemanager(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _NoNodesRM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        k = Knit(write_conf(tmp_path / "conf", f"127.0.0.1:{server.server_port}"))
        with pytest.raises(KnitException, match="no active NodeManager"):
            k.start("true")
    finally:
        server.shutdown()


@pytest.mark.unit
def test_unreachable_resourcemanager_is_named_quickly(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    k = Knit(write_conf(tmp_path / "conf", f"127.0.0.1:{port}"))
    started = time.monotonic()
    with pytest.raises(KnitException, match=f"Cannot reach the YARN ResourceManager at .*127.0.0.1:{port}"):
        k.start("true")
    assert time.monotonic() - started < 30


@pytest.mark.unit
def test_no_configuration_anywhere(monkeypatch, tmp_path):
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    monkeypatch.setattr(knit_config, "DEFAULT_CONF_DIR", str(tmp_path / "etc-hadoop-conf"))
    with pytest.raises(KnitException, match="No Hadoop configuration was found.*MiniCluster"):
        Knit()


def test_overrides_win_over_the_files(minicluster):
    k = Knit(minicluster.conf_dir, **{"yarn.resourcemanager.webapp.address": "rm.example:1"})
    assert k.config.resourcemanager_web_urls == ["http://rm.example:1"]


def test_calls_to_a_resourcemanager_that_is_down_fail_in_bounded_time(tmp_path):
    """Not only start()'s checks: a status, and the CLI's, give up after about 30 s (the
    client's yarn.resourcemanager.connect.max-wait.ms) naming the address; they took 234 s
    when IPC retried each of YARN's retries ten times."""
    import subprocess
    import sys

    from helpers import require_java
    from knit.application import Application
    require_java()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "yarn-site.xml").write_text("<configuration>" + "".join(
        f"<property><name>yarn.resourcemanager.{key}</name><value>127.0.0.1:{port}</value>"
        "</property>" for key in ("address", "webapp.address")) + "</configuration>")
    conf = str(conf)
    started = time.monotonic()
    # The CLI's wait and the API's side by side.
    cli = subprocess.Popen([sys.executable, "-m", "knit", "status", "application_1_0001",
                            "--hadoop-conf-dir", conf], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    with pytest.raises(KnitException, match=f"nothing answers at .*:{port} .Connection refused"):
        Application(ClusterClient(conf), "application_1_0001").status()
    took = time.monotonic() - started
    assert took < 60, took
    try:
        out, err = cli.communicate(timeout=120)
    finally:
        cli.kill()
    done = subprocess.CompletedProcess(cli.args, cli.returncode, out, err)
    cli_took = time.monotonic() - started
    print(f"status against a refused ResourceManager: API {took:.1f} s, CLI {cli_took:.1f} s")
    assert done.returncode != 0 and cli_took < 60
    assert done.stderr.startswith("knit: error:") and done.stderr.count("\n") == 1, done.stderr
    assert f":{port} (Connection refused)" in done.stderr
