"""A cluster's routine life, on Hadoop's own daemons configured as production clusters
are (NodeManager recovery, supervised, on fixed ports): applications survive it."""
from __future__ import annotations

import signal
import time

import pytest
import requests

from conftest import started
from helpers import container_pids, wait_for
from knit import Knit, MiniCluster

#: What a production cluster sets to survive restarts: NodeManager recovery for rolling
#: restarts (its ports are fixed by the daemon test bed, as yarn.nodemanager.address must
#: be for recovery), ResourceManager recovery, work-preserving, with a state store.
RECOVERY = {
    "yarn.nodemanager.recovery.enabled": "true",
    "yarn.nodemanager.recovery.supervised": "true",
    "yarn.resourcemanager.recovery.enabled": "true",
    "yarn.resourcemanager.work-preserving-recovery.enabled": "true",
    "yarn.resourcemanager.store.class":
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore",
}


@pytest.fixture(scope="module")
def events_cluster(tmp_path_factory):
    store = tmp_path_factory.mktemp("rm-state")
    # Two applications at once (a Knit app and a YarnCluster): Hadoop's stock 10 % AM share
    # of an 8 GB queue admits one AM.
    mc = started(MiniCluster(nodemanagers=2, daemons=True, config={
        **RECOVERY, "yarn.resourcemanager.fs.state-store.uri": store.as_uri(),
        "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5"}))
    yield mc
    mc.stop()


def nodemanager_of(mc: MiniCluster, node_http: str) -> int:
    """The index of the NodeManager whose web address is `node_http`."""
    for i in range(mc.nodemanagers):
        own = mc._backend.daemons[f"nodemanager-{i}"].own_settings
        if own["yarn.nodemanager.webapp.address"].split(":")[1] == node_http.split(":")[1]:
            return i
    raise AssertionError(f"no NodeManager serves {node_http}")


def main_pids(mc: MiniCluster, containers: set[str], am_container: str) -> dict[str, set[int]]:
    """Each container's command (`sleep`) and the AM's JVM, by pid: what must live on (the
    NodeManager watch's own helpers come and go)."""
    def command(pid: int) -> str:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""
    found = container_pids(mc, containers | {am_container})
    wanted = {c: "sleep" for c in containers} | {am_container: "ApplicationMasterMain"}
    return {c: {p for p in found[c] if command(p).startswith(("sleep", "/")) and
                wanted[c] in command(p) and "knit-am.sh" not in command(p)}
            for c in found}


def running_nodes(mc: MiniCluster) -> int:
    """NodeManagers the ResourceManager counts RUNNING (0 while it does not answer)."""
    try:
        nodes = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/nodes",
                             params={"states": "RUNNING"}, timeout=10).json()
    except (requests.RequestException, ValueError):
        return 0
    return len((nodes.get("nodes") or {}).get("node") or [])


def test_a_rolling_nodemanager_restart_with_recovery_keeps_the_am_and_its_containers(
        events_cluster):
    """The NodeManager under the AM is stopped (SIGTERM), stays down 30 s (longer than the
    two refused questions, 5 s apart, that used to end the AM and every container), and
    comes back: the same AM attempt, the same containers and processes, and the
    application goes on."""
    mc = events_cluster
    with Knit(mc.conf_dir) as k:
        k.start("sleep 600", num_containers=4, memory=256)
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 4, 120,
                 "4 running containers")
        before = {c.id for c in k.get_containers()}
        ((am_container, am_http),) = k.app._am_container.items()
        index = nodemanager_of(mc, am_http)
        # YARN says RUNNING once the launch is under way; the processes come a moment later.
        pids = wait_for(lambda: (lambda p: all(p.values()) and p)(
            main_pids(mc, before, am_container)), 60, "the containers' processes")
        down_at = time.monotonic()
        mc.kill_nodemanager(index, signal.SIGTERM)
        time.sleep(30)
        mc.restart_nodemanager(index)
        wait_for(lambda: running_nodes(mc) == 2, 120, "the NodeManager back")
        print(f"NodeManager down {time.monotonic() - down_at:.1f} s")
        time.sleep(15)  # the watches ask every 5 s: time to act, were they to
        assert k.status().state == "RUNNING" and k.status().attempt == 1
        assert {c.id for c in k.get_containers() if c.state == "RUNNING"} == before
        assert main_pids(mc, before, am_container) == pids  # the same processes
        k.add_containers(1)
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 5, 120,
                 "a fifth container")
    assert k.status().final_status == "SUCCEEDED"


def test_a_resourcemanager_away_two_minutes_ends_no_attached_application(events_cluster):
    """The lease renews with the AM alone: a ResourceManager stopped for 2 minutes (four
    times the lease) ends neither a Knit application nor a YarnCluster, and both go on
    afterwards."""
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    mc = events_cluster
    with Knit(mc.conf_dir) as k, \
            YarnCluster(n_workers=2, worker_memory="512 MiB", progress=False,
                        hadoop_conf_dir=mc.conf_dir) as cluster, Client(cluster) as client:
        k.start("sleep 600", num_containers=1, memory=256)
        client.wait_for_workers(2, timeout=180)
        assert client.submit(sum, range(10)).result() == 45
        workers = {w["name"] for w in client.scheduler_info()["workers"].values()}
        mc.stop_resourcemanager()
        down_at = time.monotonic()
        time.sleep(120)
        # Meanwhile Dask computes: the scheduler and workers need no ResourceManager.
        assert client.submit(sum, range(100)).result() == 4950
        mc.restart_resourcemanager()
        wait_for(lambda: running_nodes(mc) == 2, 180, "the ResourceManager back with its nodes")
        print(f"ResourceManager away {time.monotonic() - down_at:.1f} s")
        # Each AM re-registers at its own next heartbeat: wait for both.
        wait_for(lambda: k.status().state == cluster.knit.status().state == "RUNNING", 120,
                 "both applications RUNNING again")
        assert k.status().attempt == 1 and cluster.knit.status().attempt == 1
        assert {w["name"] for w in client.scheduler_info()["workers"].values()} == workers
        k.add_containers(1)
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 2, 120,
                 "a container asked for after the outage")
        cluster.scale(3)
        client.wait_for_workers(3, timeout=180)
        assert client.submit(sum, range(1000)).result() == 499500
    assert k.status().final_status == "SUCCEEDED"
    assert cluster.knit.status().final_status == "SUCCEEDED"
