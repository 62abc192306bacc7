"""ResourceManager HA, on Hadoop's own daemons: the active ResourceManager dies (SIGKILL)
while a Knit application and a YarnCluster compute; the standby takes over (elected
through ZooKeeper, the applications recovered from ZKRMStateStore) and both go on, reached
through the new active by every client knit has."""
from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

import knit
from conftest import started
from helpers import hdfs_status, wait_for
from knit import Knit, MiniCluster
from knit.exceptions import KnitException, MiniClusterError
from test_production_events import RECOVERY, main_pids, running_nodes

#: The production choice under HA: the state store both ResourceManagers share.
ZK_STORE = "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore"
#: A NodeManager that loses its ResourceManager fails over to the other at once, then
#: sleeps this interval (YARN's default 30 s, times 0.5 to 1.5) before each further try:
#: as the standby takes about 10 s to become active (the dead one's ZooKeeper session
#: expiring), the NodeManagers reached it 76 and 83 s after the kill with the default.
#: 5 s here keeps the test short; docs/failures.md has both.
NODEMANAGER_FAILOVER = {"yarn.nodemanager.resourcemanager.connect.retry-interval.ms": "5000"}


@pytest.fixture(scope="module")
def ha_cluster():
    # Two applications at once (a Knit app and a YarnCluster): Hadoop's stock 10 % AM share
    # of an 8 GB queue admits one AM.
    mc = started(MiniCluster(nodemanagers=2, daemons=True, resourcemanagers=2, startup_timeout=300,
                             config={**RECOVERY, "yarn.resourcemanager.store.class": ZK_STORE,
                                     "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5",
                                     **NODEMANAGER_FAILOVER}))
    yield mc
    mc.stop()


def active_with_nodes(mc: MiniCluster, not_this: int,
                      nodes: int | None = None) -> tuple[int] | None:
    """(The active ResourceManager's index,) once it is not `not_this` and has `nodes`
    NodeManagers RUNNING (by default all), else None (a tuple: index 0 is falsy)."""
    try:
        index = mc.active_resourcemanager()
    except MiniClusterError:
        return None
    wanted = mc.nodemanagers if nodes is None else nodes
    return (index,) if index != not_this and running_nodes(mc) >= wanted else None


def running(k: Knit) -> set[str]:
    return {c.id for c in k.get_containers() if c.state == "RUNNING"}


def test_the_active_resourcemanager_dies_and_the_standby_takes_over(ha_cluster):
    """SIGKILL of the active ResourceManager: the same AM attempts, containers and workers;
    Dask computes; add_containers, scale, knit.connect, the CLI and the tracking URL work
    against the new active; both applications end SUCCEEDED, leaving no staging dir. Then,
    with both ResourceManagers down, a call gives up in bounded time naming both."""
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    mc = ha_cluster
    user = getpass.getuser()
    with Knit(mc.conf_dir) as k, \
            YarnCluster(n_workers=2, worker_memory="512 MiB", progress=False,
                        hadoop_conf_dir=mc.conf_dir) as cluster, Client(cluster) as client:
        k.start("sleep 600", num_containers=1, memory=256)
        client.wait_for_workers(2, timeout=180)
        wait_for(lambda: len(running(k)) == 1, 120, "the Knit app's container")
        before = running(k)
        ((am_container, _),) = k.app._am_container.items()
        # YARN says RUNNING once the launch is under way; the processes come a moment later.
        pids = wait_for(lambda: (lambda p: all(p.values()) and p)(
            main_pids(mc, before, am_container)), 60, "the container's and the AM's processes")
        assert client.submit(sum, range(10)).result() == 45
        workers = {w["name"] for w in client.scheduler_info()["workers"].values()}
        apps = (k.app_id, cluster.knit.app_id)

        first = mc.active_resourcemanager()
        killed_at = time.monotonic()
        mc.stop_resourcemanager(signal.SIGKILL, index=first)
        # Meanwhile Dask computes: the scheduler and workers need no ResourceManager.
        assert client.submit(sum, range(100)).result() == 4950
        (second,) = wait_for(lambda: active_with_nodes(mc, first, nodes=0), 240,
                          "the other ResourceManager active")
        active_s = time.monotonic() - killed_at
        wait_for(lambda: active_with_nodes(mc, first), 240,
                 "the new active ResourceManager with both NodeManagers")
        print(f"\nfailover: resourcemanager-{first} killed, resourcemanager-{second} active "
              f"after {active_s:.1f} s, with its NodeManagers after "
              f"{time.monotonic() - killed_at:.1f} s")

        # The Python REST calls and the Java YarnClient both find the new active.
        wait_for(lambda: k.status().state == cluster.knit.status().state == "RUNNING", 180,
                 "both applications RUNNING under the new active")
        assert k.status().attempt == 1 and cluster.knit.status().attempt == 1
        assert running(k) == before
        assert main_pids(mc, before, am_container) == pids  # the same processes
        assert {w["name"] for w in client.scheduler_info()["workers"].values()} == workers
        assert {a["app_id"] for a in knit.ClusterClient(mc.conf_dir).applications()} >= set(apps)

        # The AMs reach the new active (their AMRMClients fail over too).
        k.add_containers(1)
        wait_for(lambda: len(running(k)) == 2, 240, "a container asked for after the failover")
        print(f"a container asked for after the failover ran {time.monotonic() - killed_at:.1f} s "
              "after the kill")
        cluster.scale(3)
        client.wait_for_workers(3, timeout=240)
        assert client.submit(sum, range(1000)).result() == 499500

        attached = knit.connect(k.app_id, hadoop_conf_dir=mc.conf_dir)
        assert {c.id for c in attached.get_containers() if c.state == "RUNNING"} == running(k)
        assert attached.status().attempt == 1

        cli = subprocess.run([sys.executable, "-m", "knit", "status", k.app_id], capture_output=True,
                             text=True, timeout=300, env=dict(os.environ, HADOOP_CONF_DIR=mc.conf_dir))
        assert cli.returncode == 0, cli.stderr[-3000:]
        assert "RUNNING" in cli.stdout

        # Through the new active's web proxy.
        tracking = k.status().tracking_url
        assert f":{mc.resourcemanager_web.rsplit(':', 1)[1]}/" in tracking, tracking
        assert requests.get(tracking, timeout=60).status_code == 200
    assert k.status().final_status == "SUCCEEDED"
    assert cluster.knit.status().final_status == "SUCCEEDED"
    for app_id in apps:
        wait_for(lambda: hdfs_status(mc, f"/user/{user}/.knit/{app_id}") is None, 60,
                 f"the staging dir of {app_id} to go")

    # Both down: each ResourceManager is tried in turn, within knit's bound (about 30 s).
    mc.restart_resourcemanager(first)  # back as the standby
    mc.stop_resourcemanager(index=second)
    mc.stop_resourcemanager(index=first)
    try:
        gone = Knit(mc.conf_dir)
        gone.app_id = apps[0]
        for call, addresses in ((gone.status, mc._backend.rm_addresses()),  # Java's failover
                                (knit.ClusterClient(mc.conf_dir).applications,  # REST
                                 mc.resourcemanager_web_urls)):
            began = time.monotonic()
            with pytest.raises(KnitException) as failed:
                call()
            took = time.monotonic() - began
            print(f"both ResourceManagers down: {call.__qualname__} gave up in {took:.1f} s: "
                  f"{failed.value}")
            assert took < 60
            for address in addresses:
                assert address.rsplit(":", 1)[1] in str(failed.value)
    finally:
        mc.restart_resourcemanager(0)
        mc.restart_resourcemanager(1)
    wait_for(lambda: active_with_nodes(mc, -1), 240, "an active ResourceManager again")
