"""knit on several hosts: a master (NameNode, ResourceManager, web proxy), two worker hosts
(DataNode + NodeManager each) and an edge host for the client, each a Linux network
namespace with a name and hosts file of its own (tests/multihost.py). Client code runs on
the edge: each test runs a Python script or the CLI there. To save the machine's time,
some tests share one run: an application started once for the plain-application tests,
one local-mode Dask cluster for its computing and for HDFS.

Needs root and `ip`, `unshare` and `nft`; under CI=true their absence fails the tests.
"""
from __future__ import annotations

import os
import re
import shutil
import sys

import pytest

from helpers import ON_CI, require_java
from multihost import ADDRESSES, EDGE, WORKERS, TestBed, hosts_file_text

#: The knit command line, as run on the edge.
KNIT_CLI = (sys.executable, "-m", "knit")
#: Seconds within which WorkersCannotConnectError must come once the first worker
#: container runs: knit promises 60, and a loaded machine gets some room.
CANNOT_CONNECT_WITHIN_S = 90


def require_namespaces() -> None:
    """Fail (CI) or skip (elsewhere) unless this process can make network namespaces."""
    missing = [tool for tool in ("ip", "unshare", "nft") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = "needs root" if os.geteuid() != 0 else f"needs {', '.join(missing)}"
        (pytest.fail if ON_CI else pytest.skip)(
            f"the multi-host test bed {why} (network namespaces; Debian: iproute2, "
            "util-linux, nftables)")


@pytest.fixture(scope="module")
def bed():
    require_java()
    require_namespaces()
    testbed = TestBed()
    try:
        testbed.start()
    except Exception as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the multi-host test bed did not start: {e}")
    print(f"multi-host test bed ready in {testbed.setup_seconds:.1f} s")
    yield testbed
    testbed.stop()


def host_of(address: str) -> str:
    """The host of a node id (host:port) or a URL (scheme://host:port...)."""
    return address.split("://")[-1].split("/")[0].rsplit(":", 1)[0]


# ---------------------------------------------------------------- a plain application
@pytest.fixture(scope="class")
def edge_app(bed):
    """A plain application started with Knit.start on the edge, detached: four 1 GB
    containers printing their host's name. Four of them and the AM do not fit on one 4 GB
    NodeManager. Killed at the end unless a test did."""
    report = bed.python_on_edge("""
        import json, socket, time
        from knit import Knit
        k = Knit()
        try:
            app_id = k.start("hostname; exec sleep 900", num_containers=4, memory=1024,
                             app_name="mh-plain", detached=True)
            deadline = time.monotonic() + 180
            while sum(c.state == "RUNNING" for c in k.get_containers()) < 4:
                assert time.monotonic() < deadline, k.get_containers()
                time.sleep(0.5)
            nodes = {c.id: c.node for c in k.get_containers()}
            deadline = time.monotonic() + 60
            while True:  # each container's stdout, once its line is there
                out = {c: f["stdout"].strip() for c, f in k.logs().items() if c in nodes}
                if all(out.get(c) for c in nodes) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        except BaseException:
            k.kill()
            raise
        print(json.dumps({"app": app_id, "client": socket.gethostname(), "nodes": nodes,
                          "stdout": out}))
    """)
    report["killed"] = False
    yield report
    if not report["killed"]:
        bed.run_on_edge(*KNIT_CLI, "kill", report["app"])


class TestOneApplicationFromTheEdge:
    def test_containers_spread_over_both_worker_hosts(self, edge_app):
        """YARN places them on both worker hosts, and each runs under its host's name."""
        assert edge_app["client"] == EDGE
        hosts = {cid: host_of(node) for cid, node in edge_app["nodes"].items()}
        assert len(hosts) == 4
        assert set(hosts.values()) == set(WORKERS), hosts
        for cid, host in hosts.items():
            assert edge_app["stdout"][cid] == host

    def test_its_tracking_url_answers_through_the_proxy_and_the_am_refuses_others(
            self, bed, edge_app):
        """The ResourceManager's tracking URL leads through the web proxy (on the master) to
        the AM's page; the page itself answers the edge's direct request with 403."""
        result = bed.python_on_edge("""
            import json, re, sys, time
            import requests
            rm, app_id = sys.argv[1:3]
            app = requests.get(f"{rm}/ws/v1/cluster/apps/{app_id}", timeout=10).json()["app"]
            deadline = time.monotonic() + 60
            while True:  # the AM starts its page just after it registers
                page = requests.get(app["trackingUrl"], timeout=30)
                if (page.status_code == 200 and app_id in page.text) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            # The AM logs its page's own address (its NodeManager serves the log).
            nm_http, container = app["amContainerLogs"].split("/node/containerlogs/")
            log = requests.get(f"{nm_http}/ws/v1/node/containerlogs/{container.split('/')[0]}/stderr",
                               timeout=30).text
            own = re.search(r"Tracking page at (http://\\S+)", log).group(1)
            print(json.dumps({"url": app["trackingUrl"], "status": page.status_code,
                              "final": page.url, "text": page.text[:3000], "own": own,
                              "direct": requests.get(own, timeout=30).status_code}))
        """, bed.resourcemanager_web, edge_app["app"])
        assert result["url"] == f"http://{bed.web_proxy}/proxy/{edge_app['app']}/"
        assert result["status"] == 200 and result["final"] == result["url"], result
        assert "4 live containers of 4" in result["text"]
        assert host_of(result["own"]) in WORKERS
        assert result["direct"] == 403

    def test_connect_and_the_cli_see_it_and_end_it(self, bed, edge_app):
        app_id = edge_app["app"]
        result = bed.python_on_edge("""
            import json, sys
            import knit
            app = knit.connect(sys.argv[1])
            print(json.dumps({c.id: [c.state, c.node] for c in app.get_containers()}))
        """, app_id)
        assert {cid: node for cid, (_, node) in result.items()} == edge_app["nodes"]
        assert all(state == "RUNNING" for state, _ in result.values()), result
        listed = bed.run_on_edge(*KNIT_CLI, "ls")
        assert listed.returncode == 0 and app_id in listed.stdout, listed.stdout + listed.stderr
        status = bed.run_on_edge(*KNIT_CLI, "status", app_id)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "RUNNING" in status.stdout and all(cid in status.stdout for cid in result)
        killed = bed.run_on_edge(*KNIT_CLI, "kill", app_id)
        assert killed.returncode == 0, killed.stdout + killed.stderr
        edge_app["killed"] = True
        after = bed.run_on_edge(*KNIT_CLI, "status", app_id)
        assert re.search(r"\b(KILLED|FINISHED)\b", after.stdout), after.stdout + after.stderr


# ---------------------------------------------------------------- Dask
#: A Dask cluster of two workers started on the edge in the mode given as argv[1]: where
#: its scheduler and workers run, and a sum computed on it. With an HDFS URL as argv[2],
#: each worker also writes a file there by the full URL and reads every worker's by the
#: short one (the NameNode from its container's HADOOP_CONF_DIR); the edge reads them too.
DASK_SCRIPT = """
    import json, os, socket, sys
    import fsspec
    from distributed import Client
    from knit.dask import YarnCluster

    def write(base):
        me = socket.gethostname()
        with fsspec.open(f"{base}/{me}.txt", "wb") as f:
            f.write(f"written on {me}".encode())
        return me

    def read_all(base):
        fs, path = fsspec.core.url_to_fs(base)
        return {p.rsplit("/", 1)[1]: fs.cat_file(p).decode() for p in fs.ls(path, detail=False)}

    mode, hdfs = sys.argv[1], sys.argv[2:]
    with YarnCluster(n_workers=2, worker_memory="1 GiB", scheduler_memory="1 GiB",
                     deploy_mode=mode, app_name=f"mh-dask-{mode}", progress=False) as cluster, \\
            Client(cluster) as client:
        cluster.wait_for_workers(2, timeout=120)
        answer = {"sum": client.submit(sum, range(100)).result(),
                  "scheduler": cluster.scheduler_address,
                  "scheduler_host": client.run_on_scheduler(socket.gethostname),
                  "scheduler_pid": client.run_on_scheduler(os.getpid), "pid": os.getpid(),
                  "workers": client.run(socket.gethostname)}
        if hdfs:
            answer["hdfs_writers"] = client.run(write, hdfs[0] + "/tmp/multihost")
            answer["hdfs_seen"] = client.run(read_all, "hdfs:///tmp/multihost")
    if hdfs:
        answer["hdfs_edge"] = read_all(hdfs[0] + "/tmp/multihost")
    print(json.dumps(answer))
"""


@pytest.fixture(scope="module")
def local_dask(bed):
    """One run of a local-mode cluster, computing and using HDFS."""
    return bed.python_on_edge(DASK_SCRIPT, "local", bed.default_fs)


def test_local_dask_cluster_computes_with_workers_on_the_worker_hosts(local_dask):
    assert local_dask["sum"] == 4950
    assert local_dask["scheduler_pid"] == local_dask["pid"]  # in the client's process ...
    assert local_dask["scheduler_host"] == EDGE  # ... on the edge
    assert host_of(local_dask["scheduler"]) == ADDRESSES[EDGE]
    assert len(local_dask["workers"]) == 2 and set(local_dask["workers"].values()) <= set(WORKERS)


def test_workers_read_and_write_hdfs(local_dask):
    writers = set(local_dask["hdfs_writers"].values())
    assert writers == set(local_dask["workers"].values())
    expected = {f"{h}.txt": f"written on {h}" for h in writers}
    assert local_dask["hdfs_edge"] == expected
    assert len(local_dask["hdfs_seen"]) == 2
    for files in local_dask["hdfs_seen"].values():
        assert files == expected


def test_remote_dask_cluster_computes_with_everything_on_the_worker_hosts(bed):
    result = bed.python_on_edge(DASK_SCRIPT, "remote")
    assert result["sum"] == 4950
    assert result["scheduler_host"] in WORKERS
    assert host_of(result["scheduler"]) == ADDRESSES[result["scheduler_host"]]
    assert len(result["workers"]) == 2 and set(result["workers"].values()) <= set(WORKERS)


def test_a_firewalled_edge_fails_local_mode_clearly_and_remote_mode_works(bed):
    """The edge drops new connections from the worker hosts. Local mode's workers cannot
    reach the scheduler in the client: WorkersCannotConnectError (a KnitException) naming
    the scheduler's address comes within 90 s of the first worker container running, and
    the workers' containers are ended. Remote mode needs no connection to the edge."""
    with bed.edge_firewall():
        local = bed.python_on_edge("""
            import json, sys, threading, time
            import requests
            from knit.dask import YarnCluster
            rm, name = sys.argv[1], "mh-firewalled"
            started, seen = time.monotonic(), {}

            def app():
                apps = requests.get(f"{rm}/ws/v1/cluster/apps", timeout=10).json()
                return next(a for a in (apps["apps"] or {}).get("app", []) if a["name"] == name)

            def watch():  # when YARN first runs a worker (the AM is the first container)
                while "worker_running" not in seen:
                    try:
                        if app()["runningContainers"] >= 2:
                            seen["worker_running"] = time.monotonic() - started
                    except (requests.RequestException, StopIteration):
                        pass
                    time.sleep(0.5)

            threading.Thread(target=watch, daemon=True).start()
            error, cluster = None, None
            try:
                cluster = YarnCluster(n_workers=2, worker_memory="1 GiB", app_name=name,
                                      progress=False)
                cluster.wait_for_workers(2, timeout=150)
            except Exception as e:
                error = {"type": type(e).__name__, "at": time.monotonic() - started,
                         "classes": [c.__name__ for c in type(e).__mro__], "message": str(e)}
            deadline = time.monotonic() + 60
            while True:  # its workers' containers end (the AM may stay, or go with the app)
                report = app()
                workers = max(0, report["runningContainers"] - (report["state"] == "RUNNING"))
                if workers == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            if cluster is not None:
                cluster.close()
            print(json.dumps({"error": error, "seen": seen, "state": report["state"],
                              "workers_running": workers}))
        """, bed.resourcemanager_web, timeout=420)
        remote = bed.python_on_edge(DASK_SCRIPT, "remote")
    print(f"firewalled local mode: {local}")
    assert local["error"] is not None, local
    assert local["error"]["type"] == "WorkersCannotConnectError", local["error"]
    assert "KnitException" in local["error"]["classes"]
    assert re.search(rf"\b{re.escape(ADDRESSES[EDGE])}:\d+", local["error"]["message"]), local["error"]
    assert "worker_running" in local["seen"], local
    assert local["error"]["at"] - local["seen"]["worker_running"] <= CANNOT_CONNECT_WITHIN_S, local
    assert local["workers_running"] == 0, local
    assert remote["sum"] == 4950 and set(remote["workers"].values()) <= set(WORKERS)


def test_local_mode_works_on_an_edge_whose_name_resolves_to_127_0_1_1(bed):
    """Debian's hosts file maps the machine's own name to 127.0.1.1: the scheduler must
    advertise the address the edge reaches the ResourceManager from, not that one."""
    hosts = bed.write_hosts_file("hosts-own-name-on-loopback", hosts_file_text(EDGE))
    result = bed.python_on_edge("""
        import json, socket
        from distributed import Client
        from knit.dask import YarnCluster
        answer = {"own_name_resolves_to": socket.gethostbyname(socket.gethostname())}
        with YarnCluster(n_workers=2, worker_memory="1 GiB", app_name="mh-own-name-on-loopback",
                         progress=False) as cluster, Client(cluster) as client:
            answer["scheduler"] = cluster.scheduler_address
            try:
                cluster.wait_for_workers(2, timeout=120)
                answer["sum"] = client.submit(sum, range(100)).result()
                answer["workers"] = client.run(socket.gethostname)
            except Exception as e:
                answer["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(answer))
    """, hosts_file=hosts)
    assert result["own_name_resolves_to"] == "127.0.1.1"  # the bed is as it should be
    assert host_of(result["scheduler"]) == ADDRESSES[EDGE], result
    assert result.get("sum") == 4950, result
    assert set(result["workers"].values()) <= set(WORKERS)
