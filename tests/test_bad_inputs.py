"""A table of invalid inputs across Knit, create_env, YarnCluster, MiniCluster and the CLI.

Each row asserts the exact KnitException subclass raised, and that nothing was left
behind: no new YARN application, no new JVM, no new staging dir in HDFS.
"""
from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from helpers import pids_with_arg
from knit import (ApplicationStateError, ClusterCapacityError, ConfigurationError,
                  InvalidArgumentError, Knit, MiniCluster, MissingFileError, UnknownQueueError,
                  create_env)
from knit.client_jvm import get_client

distributed = pytest.importorskip("distributed")
from knit.dask import YarnCluster  # noqa: E402


def _file(tmp: Path, name: str, text: str = "x") -> str:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _bad_conf_dir(tmp: Path) -> str:
    _file(tmp / "conf", "core-site.xml", "<configuration><property>")
    return str(tmp / "conf")


# (id, exception, call(minicluster conf dir, tmp dir))
KNIT_ROWS = [
    ("cmd-not-a-string", InvalidArgumentError, lambda c, t: Knit(c).start(123)),
    ("cmd-empty", InvalidArgumentError, lambda c, t: Knit(c).start("  ")),
    ("negative-count", InvalidArgumentError, lambda c, t: Knit(c).start("true", num_containers=-1)),
    ("count-as-string", InvalidArgumentError, lambda c, t: Knit(c).start("true", num_containers="3")),
    ("count-as-bool", InvalidArgumentError, lambda c, t: Knit(c).start("true", num_containers=True)),
    ("zero-memory", InvalidArgumentError, lambda c, t: Knit(c).start("true", memory=0)),
    ("float-vcores", InvalidArgumentError, lambda c, t: Knit(c).start("true", virtual_cores=1.5)),
    ("huge-memory", ClusterCapacityError, lambda c, t: Knit(c).start("true", memory=10**7)),
    ("huge-vcores", ClusterCapacityError, lambda c, t: Knit(c).start("true", virtual_cores=1000)),
    ("missing-file", MissingFileError, lambda c, t: Knit(c).start("true", files=["/no/such/file"])),
    ("shell-metachars-in-file-name", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", files=[_file(t, "$(touch pwned)")])),
    ("reserved-file-name", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", files=[_file(t, "knit-command.sh")])),
    ("duplicate-file-names", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", files=[_file(t / "a", "f"), _file(t / "b", "f")])),
    ("non-string-env-value", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", envvars={"A": 1})),
    ("bad-env-variable-name", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", envvars={"A-B; rm -rf /": "x"})),
    ("envvars-not-a-mapping", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", envvars=["A=1"])),
    ("missing-env-archive", MissingFileError,
     lambda c, t: Knit(c).start("true", env="/no/such/env.tar.gz")),
    ("env-not-an-archive", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", env=_file(t, "env.txt"))),
    ("unknown-queue", UnknownQueueError, lambda c, t: Knit(c).start("true", queue="nope")),
    ("control-chars-in-app-name", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", app_name="a\nb")),
    ("negative-max-restarts", InvalidArgumentError,
     lambda c, t: Knit(c).start("true", max_restarts=-1)),
    ("missing-conf-dir", ConfigurationError, lambda c, t: Knit(str(t / "nothing-here"))),
    ("keytab-for-a-cluster-without-kerberos", ConfigurationError,
     lambda c, t: Knit(c, principal="me@EXAMPLE.COM", keytab=_file(t, "me.keytab"))),
    ("malformed-conf-file", ConfigurationError, lambda c, t: Knit(_bad_conf_dir(t))),
    ("scale-before-start", ApplicationStateError, lambda c, t: Knit(c).add_containers(1)),
    ("status-before-start", ApplicationStateError, lambda c, t: Knit(c).status()),
]

ENV_ROWS = [
    ("env-name-with-space", InvalidArgumentError, lambda c, t: create_env("a b")),
    ("env-name-with-shell-metachars", InvalidArgumentError, lambda c, t: create_env("x;rm -rf ~")),
    ("env-unknown-backend", InvalidArgumentError, lambda c, t: create_env("ok", backend="pip")),
    ("env-empty-package-spec", InvalidArgumentError, lambda c, t: create_env("ok", packages=[""])),
    ("env-non-string-package", InvalidArgumentError, lambda c, t: create_env("ok", packages=[3])),
    ("env-channels-with-venv", InvalidArgumentError,
     lambda c, t: create_env("ok", packages=["six"], channels=["conda-forge"])),
    ("env-other-python", InvalidArgumentError, lambda c, t: create_env("ok", packages=["python=2.7"])),
]

DASK_ROWS = [
    ("dask-unknown-deploy-mode", InvalidArgumentError,
     lambda c, t: YarnCluster(deploy_mode="cloud", hadoop_conf_dir=c)),
    ("dask-memory-not-a-size", InvalidArgumentError,
     lambda c, t: YarnCluster(worker_memory="lots", hadoop_conf_dir=c)),
    ("dask-negative-workers", InvalidArgumentError,
     lambda c, t: YarnCluster(n_workers=-1, hadoop_conf_dir=c)),
    ("dask-huge-workers", ClusterCapacityError,
     lambda c, t: YarnCluster(n_workers=1, worker_memory="1000 GiB", hadoop_conf_dir=c)),
    ("dask-unknown-queue", UnknownQueueError,
     lambda c, t: YarnCluster(n_workers=1, queue="nope", hadoop_conf_dir=c)),
    ("minicluster-zero-nodes", InvalidArgumentError, lambda c, t: MiniCluster(nodemanagers=0)),
    ("minicluster-three-resourcemanagers", InvalidArgumentError,
     lambda c, t: MiniCluster(daemons=True, resourcemanagers=3)),
    ("minicluster-ha-in-one-jvm", InvalidArgumentError,
     lambda c, t: MiniCluster(daemons=False, resourcemanagers=2)),
]


@pytest.fixture
def left_behind(minicluster):
    """What a refused call could leave: applications, JVMs, staging dirs. Compares the
    state before and after the test."""
    get_client()  # the per-process client JVM is expected; any other new JVM is not
    user = getpass.getuser()

    def state():
        apps = (requests.get(f"{minicluster.resourcemanager_web}/ws/v1/cluster/apps",
                             timeout=10).json().get("apps") or {}).get("app") or []
        listing = requests.get(f"{minicluster.webhdfs_url}/user/{user}/.knit",
                               params={"op": "LISTSTATUS", "user.name": user}, timeout=10)
        staging = set() if listing.status_code == 404 else {
            s["pathSuffix"] for s in listing.json()["FileStatuses"]["FileStatus"]}
        return {"apps": {a["id"] for a in apps}, "jvms": set(pids_with_arg("java")),
                "staging": staging, "tls-dirs": set(os.listdir("/tmp"))}

    before = state()
    yield
    after = state()
    assert after["apps"] == before["apps"], "an application was submitted"
    assert after["jvms"] <= before["jvms"], "a JVM was left running"
    assert after["staging"] <= before["staging"], "a staging dir was left in HDFS"
    assert not {d for d in after["tls-dirs"] - before["tls-dirs"]
                if d.startswith("knit-dask-tls-")}, "Dask credentials were left on disk"


@pytest.mark.parametrize("expected, call", [pytest.param(e, f, id=i)
                                            for i, e, f in KNIT_ROWS + ENV_ROWS + DASK_ROWS])
def test_bad_input_is_refused_and_leaves_nothing(expected, call, minicluster, tmp_path,
                                                 left_behind):
    with pytest.raises(expected) as caught:
        call(minicluster.conf_dir, tmp_path)
    assert type(caught.value) is expected
    assert str(caught.value)  # a message that says what was wrong


def test_calls_on_a_killed_application_are_refused(minicluster):
    """Killing twice is harmless; controlling a killed application is refused."""
    with Knit(minicluster.conf_dir) as k:
        k.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
        k.kill()
        k.kill()
        for call in (lambda: k.add_containers(1), lambda: k.remove_containers(["c"]),
                     lambda: k.cancel_containers(1)):
            with pytest.raises(ApplicationStateError):
                call()
        # Its owner ended it: the AM finished it, SUCCEEDED.
        assert (k.status()["state"], k.status()["final_status"]) == ("FINISHED", "SUCCEEDED")


def test_starting_twice_on_one_knit_is_refused(minicluster):
    with Knit(minicluster.conf_dir) as k:
        k.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
        with pytest.raises(ApplicationStateError, match="already running"):
            k.start("sleep 600", num_containers=0, memory=256, keep_alive=True)


@pytest.mark.parametrize("args, message", [
    (["minicluster", "--nodemanagers", "0"], "0 is not in the range"),
    (["demo", "--workers", "0"], "0 is not in the range"),
    (["minicluster", "--conf-dir", "/proc/knit-cannot-write"], "Cannot write the Hadoop conf dir"),
    (["no-such-command"], "No such command"),
])
def test_cli_refuses_bad_input_with_a_message(args, message):
    done = subprocess.run([sys.executable, "-m", "knit", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
