"""knit.gateway: dask-gateway's own server (PyPI), with knit's backend, serving two users
on an embedded cluster, through dask-gateway's own client.

One MiniCluster and one gateway (a subprocess, `python -m dask_gateway_server -f
config.py`, with a sqlite database so that a restart is real) for the module; the tests
run in order and share alice's and bob's clusters.
"""
from __future__ import annotations

import base64
import getpass
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from helpers import (ON_CI, children_of, hdfs_status, pid_alive, pids_with_arg, started,
                     wait_for)

try:
    import dask.dataframe as dd
    import pandas as pd
    from dask_gateway import BasicAuth, Gateway
    import knit.gateway  # noqa: F401  (dask-gateway-server)
except ImportError as e:  # pragma: no cover - depends on the install
    (pytest.fail if ON_CI else pytest.skip)(f"needs knit[gateway] and dask-gateway: {e}",
                                           allow_module_level=True)

from knit import MiniCluster  # noqa: E402
from knit._gateway_process import LOG_FILE, GatewayProcess, free_port  # noqa: E402
from knit.cli_gateway import gateway_config  # noqa: E402

# dask-gateway's Gateway.__del__ closes a client closed already, and its loop is gone.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in.*Gateway\.__del__:pytest.PytestUnraisableExceptionWarning")

SERVICE = os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
USERS = ("alice", "bob")
STRANGER = "mallory"  # not among the users the service may impersonate
PASSWORD = secrets.token_urlsafe(16)

WORKERS_S = 120
# The gateway's database: a worker that failed (db_base.JobStatus.FAILED).
FAILED = 6


class GatewayServer:
    """dask-gateway-server with knit's backend, as a process of its own
    (knit._gateway_process.GatewayProcess), with a sqlite database that outlives it, and
    what the tests read of it: its database and its secrets."""

    def __init__(self, directory: Path, hadoop_conf_dir: str) -> None:
        self.dir = directory
        self.hadoop_conf_dir = hadoop_conf_dir
        self.port = free_port()
        self.api_port = free_port()
        self.db = directory / "gateway.sqlite"
        self.key = base64.urlsafe_b64encode(os.urandom(32)).decode()  # a Fernet key
        self.process: GatewayProcess | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / LOG_FILE

    def start(self, stop_clusters_on_shutdown: bool = False, more_config: str = "") -> None:
        """Start it; `more_config` is appended to its configuration file."""
        # The command's configuration, and a database that outlives the process.
        config = gateway_config(self.hadoop_conf_dir, self.port, self.api_port, PASSWORD) + f"""
c.KnitBackend.db_url = "sqlite:///{self.db}"
c.KnitBackend.db_encrypt_keys = [{self.key!r}]
c.KnitBackend.stop_clusters_on_shutdown = {stop_clusters_on_shutdown!r}
c.KnitBackend.worker_status_period = 2
c.KnitBackend.cluster_status_period = 5
c.KnitBackend.cluster_start_timeout = 120
c.KnitClusterConfig.adaptive_period = 1
""" + more_config
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
        self.process = GatewayProcess(self.dir, config, self.port, env=env)
        self.process.start()

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as a service manager stops it; then its whole process group is gone."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if not process.stop(timeout):
            raise AssertionError(f"the gateway did not stop within {timeout} s: {self.tail()}")
        with_group = pids_with_arg(str(self.dir))
        assert not with_group, f"the gateway left {with_group}"

    def tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])

    def gateway(self, user: str) -> Gateway:
        return Gateway(self.address, proxy_address=f"gateway://127.0.0.1:{self.port}",
                       auth=BasicAuth(user, PASSWORD))

    def clusters_of(self, user: str) -> list[str]:
        """The gateway's database: the clusters of a user."""
        with sqlite3.connect(self.db) as db:
            return [n for n, in db.execute("SELECT name FROM clusters WHERE username = ?",
                                           (user,))]

    def secrets(self, cluster_name: str) -> tuple[str, bytes]:
        """The gateway's database, decrypted with its key: a cluster's API token and the
        private key of its TLS credentials."""
        from cryptography.fernet import Fernet
        with sqlite3.connect(self.db) as db:
            token, tls = db.execute("SELECT token, tls_credentials FROM clusters WHERE name = ?",
                                    (cluster_name,)).fetchone()
        fernet = Fernet(self.key)
        key_pem = fernet.decrypt(tls).split(b";")[1]
        return fernet.decrypt(token).decode(), key_pem

    def workers(self, cluster_name: str) -> dict[str, int]:
        """The gateway's database: its workers of a cluster, name -> status."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT w.name, w.status FROM workers w JOIN clusters c ON "
                              "w.cluster_id = c.id WHERE c.name = ?", (cluster_name,)).fetchall()
        return dict(rows)


def test_knit_gateway_minicluster_serves_until_ctrl_c():
    """First, before the module's own cluster starts: the command runs one of its own."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "knit", "gateway", "--minicluster",
                             "--users", "alice"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        said = []
        for line in proc.stdout:
            said.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(said)
        assert "Press Ctrl-C" in text, text
        snippet = re.search(r"Gateway\('([^']+)', auth=BasicAuth\('alice', '([^']+)'\)\)", text)
        assert snippet, text
        gateway = Gateway(snippet[1], auth=BasicAuth("alice", snippet[2]))
        assert gateway.list_clusters() == []
        gateway.close()
        family = _descendants(proc.pid)
        assert family, "the command started nothing"
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, text + rest
    wait_for(lambda: not [p for p in family if pid_alive(p)], 60,
             "the command's processes to end")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def test_a_user_the_service_may_not_act_as_is_told_by_new_cluster(server):
    # Its own Gateway: a failed start leaves a Gateway's event loop stopped (dask-gateway).
    with pytest.raises(ValueError, match=rf"{STRANGER}.*hadoop\.proxyuser\.{SERVICE}"):
        server.gateway(STRANGER).new_cluster()
    assert not server.clusters_of(STRANGER)


@pytest.fixture(scope="module")
def mc():
    cluster = started(MiniCluster(nodemanagers=2, nodemanager_memory_mb=6144,
                                  proxy_users=USERS))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def server(mc):
    with tempfile.TemporaryDirectory(prefix="knit-gateway-test-") as d:
        gw = GatewayServer(Path(d), mc.conf_dir)
        gw.start()
        try:
            yield gw
        finally:
            for user in USERS:  # what a failed test left
                try:
                    with gw.gateway(user) as g:
                        for c in g.list_clusters():
                            g.stop_cluster(c.name)
                except Exception:
                    pass
            gw.stop()
        assert not pids_with_arg("dask_gateway.scheduler_preload"), "a scheduler is left"


def _write(mc, path: str, data: bytes, user: str) -> None:
    """A file in HDFS written as `user` (WebHDFS), readable by that user alone."""
    url = f"{mc.webhdfs_url}{path}"
    r = requests.put(url, params={"op": "CREATE", "user.name": user, "overwrite": "true",
                                  "permission": "600"}, allow_redirects=False, timeout=30)
    r = requests.put(r.headers["Location"], data=data, timeout=30)
    assert r.status_code == 201, r.text


def _read(pid: int, what: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes()
    except OSError:
        return b""


def _frame(user: str) -> pd.DataFrame:
    n = 1000 if user == "alice" else 700
    return pd.DataFrame({"key": [i % 5 for i in range(n)], "value": range(n)})


def _app_of(mc, cluster_name: str) -> dict:
    apps = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps", timeout=10).json()
    found = [a for a in (apps.get("apps") or {}).get("app", [])
             if a["name"] == f"dask-gateway-{cluster_name}"]
    assert found, f"no YARN application for {cluster_name}"
    return found[0]


@pytest.fixture(scope="module")
def clusters(mc, server):
    """alice's and bob's clusters, each scaled to 2 workers: name by user."""
    names = {}
    for user in USERS:
        _write(mc, f"/user/{user}/data.csv", _frame(user).to_csv(index=False).encode(), user)
        with server.gateway(user) as g:
            cluster = g.new_cluster()
            cluster.scale(2)
            names[user] = cluster.name
            cluster.close(shutdown=False)
    for user, name in names.items():
        with server.gateway(user) as g, g.connect(name) as cluster, cluster.get_client() as client:
            client.wait_for_workers(2, timeout=WORKERS_S)
    # Each worker started at its first try (workers started at once once took the same
    # YARN priority for their roles, and all but one were refused and retried).
    assert "Failed to submit worker" not in server.log.read_text(errors="replace"), server.tail()
    return names


def test_each_user_computes_on_own_data_in_own_application(mc, server, clusters):
    for user, name in clusters.items():
        with server.gateway(user) as g, g.connect(name) as cluster, cluster.get_client():
            df = dd.read_csv(f"{mc.default_fs}/user/{user}/data.csv")
            sums = df.groupby("key")["value"].sum().compute()
            pd.testing.assert_series_equal(sums.sort_index(),
                                           _frame(user).groupby("key")["value"].sum())
            df.to_csv(f"{mc.default_fs}/user/{user}/out-*.csv", index=False)
        # YARN runs the application as the user, its staging dir is the user's, and the
        # workers wrote as the user.
        app = _app_of(mc, name)
        assert app["user"] == user
        assert hdfs_status(mc, f"/user/{user}/.knit/{app['id']}", user)["owner"] == user
        assert hdfs_status(mc, f"/user/{user}/out-0.csv", user)["owner"] == user
        # The token and the TLS key are files: on no command line, in no environment.
        token, key_pem = server.secrets(name)
        body = b"".join(key_pem.strip().splitlines()[1:-1])[:40]
        processes = [p for p in pids_with_arg("distributed.cli.dask_")
                     if f"DASK_GATEWAY_CLUSTER_NAME={name}".encode() in _read(p, "environ")]
        assert len(processes) == 3, processes  # the scheduler and 2 workers
        for pid in processes:
            for what in ("environ", "cmdline"):
                seen = _read(pid, what).replace(b"\\n", b"").replace(b"\n", b"")
                assert token.encode() not in seen and body not in seen, (pid, what)


def test_bob_cannot_see_connect_to_or_stop_alices_cluster(mc, server, clusters):
    alice = clusters["alice"]
    with server.gateway("bob") as g:
        assert [c.name for c in g.list_clusters()] == [clusters["bob"]]
        # The gateway refuses (403, "lacks permissions").
        for ask in (g.get_cluster, g.stop_cluster):
            with pytest.raises(Exception, match="403|lacks permissions"):
                ask(alice)
        # Nor can bob's workers read alice's data.
        with g.connect(clusters["bob"]) as cluster, cluster.get_client() as client:
            def read(path: str) -> bytes:
                import fsspec
                with fsspec.open(path, "rb") as f:
                    return f.read()
            with pytest.raises(Exception, match="(?i)permission"):
                client.submit(read, f"{mc.default_fs}/user/alice/data.csv").result(60)
    # Last: a connect that fails leaves its Gateway's event loop stopped (dask-gateway).
    with pytest.raises(Exception, match="403|lacks permissions"):
        server.gateway("bob").connect(alice)
    time.sleep(2)
    with server.gateway("alice") as g:
        assert g.get_cluster(alice).status.name == "RUNNING"
    assert _app_of(mc, alice)["state"] == "RUNNING"


def test_a_killed_worker_is_reported_and_replaced(mc, server, clusters):
    name = clusters["alice"]
    with server.gateway("alice") as g, g.connect(name) as cluster, cluster.get_client() as client:
        before = {w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()}
        assert len(before) == 2
        victim = sorted(before)[0]
        pids = pids_with_arg(f"--name {victim}")
        assert pids, f"no process of worker {victim}"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: server.workers(name).get(victim) == FAILED, 60,
                 f"the gateway to record worker {victim} as failed", explain=server.tail)

        def replaced() -> bool:
            now = {w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()}
            return len(now) == 2 and victim not in now
        wait_for(replaced, WORKERS_S, "a new worker in place of the killed one",
                 explain=server.tail)


def test_a_restarted_gateway_finds_its_clusters(mc, server, clusters):
    server.stop()
    for name in clusters.values():  # the clusters outlive the gateway
        assert _app_of(mc, name)["state"] == "RUNNING"
    server.start()
    for user, name in clusters.items():
        with server.gateway(user) as g:
            assert [c.name for c in g.list_clusters()] == [name]
            with g.connect(name) as cluster, cluster.get_client() as client:
                assert client.submit(sum, [1, 2, 3]).result(60) == 6
                cluster.scale(1)
                wait_for(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 1,
                         WORKERS_S, "a scale down after the restart", explain=server.tail)


def test_adapt_list_and_shut_down(mc, server, clusters):
    for user, name in clusters.items():
        with server.gateway(user) as g:
            cluster = g.connect(name)
            cluster.adapt(minimum=0, maximum=2)
            with cluster.get_client() as client:  # idle: adaptive scaling removes workers
                wait_for(lambda: not client.scheduler_info(n_workers=-1)["workers"], WORKERS_S,
                         "an idle adaptive cluster to have no workers", explain=server.tail)
            assert [c.name for c in g.list_clusters()] == [name]
            cluster.shutdown()
            assert g.list_clusters() == []
        wait_for(lambda: _app_of(mc, name)["state"] in ("FINISHED", "KILLED"), 60,
                 f"{user}'s application to end")
    wait_for(lambda: not pids_with_arg("dask_gateway.scheduler_preload"), 60,
             "the schedulers to exit")


def test_stop_clusters_on_shutdown_leaves_nothing(mc, server):
    server.stop()
    server.start(stop_clusters_on_shutdown=True)
    with server.gateway("alice") as g:
        cluster = g.new_cluster()
        name = cluster.name
        cluster.scale(1)
        with cluster.get_client() as client:
            client.wait_for_workers(1, timeout=WORKERS_S)
        cluster.close(shutdown=False)
    server.stop()
    assert _app_of(mc, name)["state"] in ("FINISHED", "KILLED")
    wait_for(lambda: not pids_with_arg("dask_gateway.scheduler_preload")
             and not pids_with_arg("distributed.cli.dask_worker"), 60, "its processes to exit")
    server.start()
