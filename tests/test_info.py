"""`knit info` and `knit --version`: what knit uses on this machine, said plainly."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import knit

KNIT = [sys.executable, "-m", "knit"]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*KNIT, *args], capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.unit
def test_version_comes_from_the_package():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"knit {knit.__version__}"


def test_info_names_java_hadoop_client_and_the_cluster(minicluster):
    out = run("info", "--json", "--hadoop-conf-dir", minicluster.conf_dir)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["knit"] == knit.__version__
    assert report["java"]["version"] >= 8 and report["java"]["home"]
    assert report["hadoop_client"]["version"] == "3.4.2"
    assert report["hadoop_client"]["source"] == "knit's own client jars"
    assert report["conf_dir"] == minicluster.conf_dir
    assert report["kerberos"] == {"enabled": False}
    assert report["resourcemanager"]["answers"] is True
    assert report["resourcemanager"]["hadoop_version"] == minicluster.hadoop_version
    assert report["route_to_cluster"] == "127.0.0.1"  # the embedded cluster is on loopback
    text = run("info", "--hadoop-conf-dir", minicluster.conf_dir).stdout
    assert "hadoop client: 3.4.2 from knit's own client jars" in text
    assert f"answers (STARTED, Hadoop {minicluster.hadoop_version})" in text
    assert "this machine toward the cluster: 127.0.0.1" in text


@pytest.mark.unit
def test_info_without_a_cluster_says_what_is_missing_and_exits_1(tmp_path):
    out = run("info", "--hadoop-conf-dir", str(tmp_path / "nowhere"))
    assert out.returncode == 1
    assert "conf dir: not usable:" in out.stdout and "does not exist" in out.stdout
