"""A cluster's routine life, on Hadoop's own daemons configured as production clusters
are (two ResourceManagers, HA with automatic failover through ZooKeeper, work-preserving
recovery from ZKRMStateStore; NodeManager recovery, supervised, on fixed ports): a `Knit`
application and a `YarnCluster` computing a checked loop of tasks live through rolling
NodeManager restarts, the active ResourceManager's death, a 2-minute outage of both, and
end cleanly while a restarted NameNode is in safe mode.

One pair of applications goes through every event, in order, on one cluster: the suite
pays for one start, and each event also proves the ones before it left nothing behind.
The times measured are printed (docs/failures.md quotes them)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

import pytest
import requests

import knit
from helpers import container_pids, hdfs_status, started, wait_for
from knit import Knit, KnitException, MiniCluster
from knit.exceptions import MiniClusterError

#: What a production cluster sets to survive restarts: NodeManager recovery for rolling
#: restarts (its ports are fixed by the daemon test bed, as yarn.nodemanager.address must
#: be for recovery), ResourceManager recovery, work-preserving, with the state store both
#: ResourceManagers of an HA pair share.
RECOVERY = {
    "yarn.nodemanager.recovery.enabled": "true",
    "yarn.nodemanager.recovery.supervised": "true",
    "yarn.resourcemanager.recovery.enabled": "true",
    "yarn.resourcemanager.work-preserving-recovery.enabled": "true",
    "yarn.resourcemanager.store.class":
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore",
}
#: A NodeManager that loses its ResourceManager fails over to the other at once, then
#: sleeps this interval (YARN's default 30 s, times 0.5 to 1.5) before each further try:
#: as the standby takes about 10 s to become active (the dead one's ZooKeeper session
#: expiring), the NodeManagers reached it 76 and 83 s after the kill with the default.
#: 5 s here keeps the test short; docs/failures.md has both.
NODEMANAGER_FAILOVER = {"yarn.nodemanager.resourcemanager.connect.retry-interval.ms": "5000"}


@pytest.fixture(scope="module")
def events_cluster():
    # Two applications at once (a Knit app and a YarnCluster): Hadoop's stock 10 % AM share
    # of an 8 GB queue admits one AM. YARN rounds every container up to 1 GB (its minimum
    # allocation): 6 GB nodes hold both AMs and both applications grown by one.
    mc = started(MiniCluster(
        nodemanagers=2, daemons=True, resourcemanagers=2, nodemanager_memory_mb=6144,
        startup_timeout=300, config={
            **RECOVERY, **NODEMANAGER_FAILOVER,
            "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5"}))
    yield mc
    mc.stop()


def active_with_nodes(mc: MiniCluster, not_this: int = -1,
                      nodes: int | None = None) -> tuple[int] | None:
    """(The active ResourceManager's index,) once it is not `not_this` and has `nodes`
    NodeManagers RUNNING (by default all), else None (a tuple: index 0 is falsy)."""
    try:
        index = mc.active_resourcemanager()
    except MiniClusterError:
        return None
    wanted = mc.nodemanagers if nodes is None else nodes
    return (index,) if index != not_this and running_nodes(mc) >= wanted else None


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
        return mc._backend.running_nodes()  # the active one's, under HA
    except (requests.RequestException, ValueError):
        return 0


def nodemanager_web(mc: MiniCluster, index: int) -> str:
    own = mc._backend.daemons[f"nodemanager-{index}"].own_settings
    return "http://" + own["yarn.nodemanager.webapp.address"]


def nodemanager_answers(mc: MiniCluster, index: int) -> bool:
    try:
        return requests.get(f"{nodemanager_web(mc, index)}/ws/v1/node/info", timeout=5).ok
    except requests.RequestException:
        return False


def namenode_safemode(mc: MiniCluster) -> str | None:
    """The NameNode's safe-mode message ("" once out of it), None while it does not answer."""
    base = mc.webhdfs_url.rsplit("/webhdfs", 1)[0]
    try:
        beans = requests.get(f"{base}/jmx", timeout=5, params={
            "qry": "Hadoop:service=NameNode,name=NameNodeInfo"}).json()["beans"]
    except (requests.RequestException, ValueError, KeyError):
        return None
    return beans[0]["Safemode"] if beans else None


class CheckedLoop(threading.Thread):
    """Dask tasks one after another, each result checked, while the cluster's daemons
    restart around them (the scheduler and workers need no YARN daemon to compute)."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.done = 0
        self.failures: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            i += 1
            try:
                result = self.client.submit(pow, i, 2, pure=False).result(timeout=60)
                if result != i * i:
                    self.failures.append(f"task {i}: {result} != {i * i}")
                self.done += 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.failures.append(f"task {i}: {e!r}")
            self._halt.wait(0.2)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=90)


class Watched:
    """What must outlive each event: both applications' first attempts, their containers,
    the Knit containers' and AM's processes, the Dask workers (same names, same
    addresses: the same processes), and the checked loop making progress."""

    def __init__(self, mc: MiniCluster, k: Knit, cluster, client, loop: CheckedLoop) -> None:
        self.mc, self.k, self.cluster, self.client, self.loop = mc, k, cluster, client, loop
        self.times: dict[str, float] = {}
        self.remember()

    def running(self, app) -> set[str]:
        return {c.id for c in app.get_containers() if c.state == "RUNNING"}

    def workers(self) -> dict[str, str]:
        return {w["name"]: a for a, w in self.client.scheduler_info()["workers"].items()}

    def remember(self) -> None:
        self.knit_containers = self.running(self.k)
        self.dask_containers = self.running(self.cluster.knit)
        ((self.am_container, self.am_http),) = self.k.app._am_container.items()
        self.pids = wait_for(lambda: (lambda p: all(p.values()) and p)(
            main_pids(self.mc, self.knit_containers, self.am_container)), 60,
            "the containers' processes")  # RUNNING comes a moment before the processes
        self.dask_workers = self.workers()
        self.loop_mark = self.loop.done

    def check(self, event: str) -> None:
        """After `event`: everything as remembered (both AMs re-register with a
        ResourceManager that came back at their own next heartbeat: waited for)."""
        wait_for(lambda: self.k.status().state == self.cluster.knit.status().state == "RUNNING",
                 120, f"both applications RUNNING after {event}")
        assert self.k.status().attempt == 1 and self.cluster.knit.status().attempt == 1, event
        assert self.running(self.k) == self.knit_containers, event
        assert self.running(self.cluster.knit) == self.dask_containers, event
        assert main_pids(self.mc, self.knit_containers, self.am_container) == self.pids, event
        assert self.workers() == self.dask_workers, event
        wait_for(lambda: self.loop.done > self.loop_mark + 5, 60, f"tasks after {event}")
        assert not self.loop.failures, (event, self.loop.failures[:5])
        self.loop_mark = self.loop.done

    def grow(self) -> None:
        """Both applications still take orders: a container more, a worker more."""
        self.k.add_containers(1)
        self.cluster.scale(len(self.dask_workers) + 1)
        wait_for(lambda: len(self.running(self.k)) == len(self.knit_containers) + 1, 120,
                 "a Knit container asked for after the events")
        self.client.wait_for_workers(len(self.dask_workers) + 1, timeout=180)
        assert self.client.submit(sum, range(1000)).result() == 499500
        self.remember()


def failover(w: "Watched") -> None:
    """SIGKILL of the active ResourceManager: the standby takes over, and every client knit
    has follows it: the Java client (status, add_containers, knit.connect, the CLI), the
    REST calls, the AMs' own YARN clients, the tracking URL through the new active's proxy.
    The killed one comes back as the standby."""
    mc, k = w.mc, w.k
    first = mc.active_resourcemanager()
    killed_at = time.monotonic()
    mc.stop_resourcemanager(signal.SIGKILL, index=first)
    (second,) = wait_for(lambda: active_with_nodes(mc, first, nodes=0), 240,
                         "the other ResourceManager active")
    w.times["HA failover: the standby active after"] = time.monotonic() - killed_at
    wait_for(lambda: active_with_nodes(mc, first), 240,
             "the new active ResourceManager with both NodeManagers")
    w.times["HA failover: the new active with its NodeManagers after"] = \
        time.monotonic() - killed_at
    w.check("the active ResourceManager's death")
    apps = {k.app_id, w.cluster.knit.app_id}
    assert {a["app_id"] for a in knit.ClusterClient(mc.conf_dir).applications()} >= apps
    attached = knit.connect(k.app_id, hadoop_conf_dir=mc.conf_dir)
    assert {c.id for c in attached.get_containers() if c.state == "RUNNING"} == w.knit_containers
    cli = subprocess.run([sys.executable, "-m", "knit", "status", k.app_id], capture_output=True,
                         text=True, timeout=300, env=dict(os.environ, HADOOP_CONF_DIR=mc.conf_dir))
    assert cli.returncode == 0 and "RUNNING" in cli.stdout, cli.stdout + cli.stderr[-3000:]
    tracking = k.status().tracking_url
    assert f":{mc.resourcemanager_web.rsplit(':', 1)[1]}/" in tracking, tracking
    assert requests.get(tracking, timeout=60).status_code == 200
    mc.restart_resourcemanager(first)  # back as the standby


def calls_give_up_in_bounded_time(w: "Watched", mc: MiniCluster) -> None:
    """Both ResourceManagers down: a call tries each in turn and gives up within knit's
    bound (about 30 s), naming both; the Java client's and the REST calls alike."""
    gone = Knit(mc.conf_dir)
    gone.app_id = w.k.app_id
    for name, call, addresses in (
            ("status() (Java, failover proxy)", gone.status, mc._backend.rm_addresses()),
            ("applications() (REST)", knit.ClusterClient(mc.conf_dir).applications,
             mc.resourcemanager_web_urls)):
        began = time.monotonic()
        with pytest.raises(KnitException) as failed:
            call()
        took = time.monotonic() - began
        w.times[f"both ResourceManagers down: {name} gave up after"] = took
        assert took < 60, (name, took)
        for address in addresses:
            assert address.rsplit(":", 1)[1] in str(failed.value), (address, str(failed.value))


def restart_nodemanager(mc: MiniCluster, index: int, down_s: float) -> float:
    """A rolling restart's step: SIGTERM, `down_s` seconds down, started again; returns
    the seconds until it answered again."""
    stopped_at = time.monotonic()
    mc.kill_nodemanager(index, signal.SIGTERM)
    time.sleep(max(0.0, down_s - (time.monotonic() - stopped_at)))
    mc.restart_nodemanager(index)
    wait_for(lambda: nodemanager_answers(mc, index), 120, f"NodeManager {index} back")
    return time.monotonic() - stopped_at


def test_a_clusters_routine_life(events_cluster):
    """Rolling NodeManager restarts (5 s and 30 s down), the active ResourceManager killed
    (the standby takes over), both ResourceManagers away 2 minutes (the standby stopped,
    the active killed) while a NodeManager is down 90 s, and a NameNode restart: the applications keep their attempts, containers, processes and
    workers, compute correctly throughout, and end cleanly in the NameNode's safe mode
    with nothing left."""
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    mc = events_cluster
    with Knit(mc.conf_dir) as k, \
            YarnCluster(n_workers=2, worker_memory="512 MiB", progress=False,
                        hadoop_conf_dir=mc.conf_dir) as cluster, Client(cluster) as client:
        k.start("sleep 600", num_containers=3, memory=256)
        wait_for(lambda: len({c.id for c in k.get_containers() if c.state == "RUNNING"}) == 3,
                 120, "3 running containers")
        client.wait_for_workers(2, timeout=180)
        loop = CheckedLoop(client)
        loop.start()
        try:
            w = Watched(mc, k, cluster, client, loop)
            under_am = nodemanager_of(mc, w.am_http)
            other = 1 - under_am
            # The watches ask their NodeManager every 5 s: 10 s for them to act, were they to.
            w.times["NodeManager 5 s: back after"] = restart_nodemanager(mc, other, 5)
            time.sleep(10)
            w.check("a NodeManager down 5 s")
            w.times["NodeManager 30 s (under the AM): back after"] = \
                restart_nodemanager(mc, under_am, 30)
            time.sleep(10)
            w.check("the AM's NodeManager down 30 s")

            failover(w)
            # A maintenance window: the ResourceManager away 2 minutes (four leases), and
            # the NodeManager under the AM down 90 s of them, back before the
            # ResourceManager (it recovers its containers, then waits to register).
            # The standby stopped (SIGTERM), then the active killed (SIGKILL): the one that
            # comes back recovers from a store its predecessor left without a clean stop.
            active = mc.active_resourcemanager()
            down_at = time.monotonic()
            mc.stop_resourcemanager(signal.SIGTERM, index=1 - active)
            mc.stop_resourcemanager(signal.SIGKILL, index=active)
            mc.kill_nodemanager(under_am, signal.SIGTERM)
            calls_give_up_in_bounded_time(w, mc)
            time.sleep(max(0.0, 90 - (time.monotonic() - down_at)))
            mc.restart_nodemanager(under_am)
            time.sleep(max(0.0, 120 - (time.monotonic() - down_at)))
            done_while_away = loop.done - w.loop_mark
            mc.restart_resourcemanager(0)
            mc.restart_resourcemanager(1)
            wait_for(lambda: active_with_nodes(mc), 240, "a ResourceManager back with its nodes")
            wait_for(lambda: k.status().state == cluster.knit.status().state == "RUNNING", 180,
                     "both applications RUNNING after the outage")
            w.times["both ResourceManagers away 120 s: applications RUNNING again after"] = \
                time.monotonic() - down_at
            assert done_while_away > 50, "Dask computes while the ResourceManager is away"
            w.check("a 2-minute outage of both ResourceManagers with a NodeManager down 90 s")
            w.grow()
        finally:
            loop.stop()
        assert not loop.failures, loop.failures[:5]
        print(f"{loop.done} tasks checked")

        stagings = [urlparse(k.app._staging.dir).path,
                    urlparse(cluster.knit.app._staging.dir).path]
        containers = w.knit_containers | w.dask_containers | {w.am_container}
        mc.stop_namenode(signal.SIGTERM)
        mc.restart_namenode()
        wait_for(lambda: namenode_safemode(mc), 120, "the restarted NameNode in safe mode")
        ended_at = time.monotonic()
        k.kill()
        cluster.close()
        w.times["kill() and close() in safe mode took"] = time.monotonic() - ended_at
        assert namenode_safemode(mc), "both ended while HDFS was in safe mode"
        assert k.status().final_status == "SUCCEEDED"
        assert cluster.knit.status().final_status == "SUCCEEDED"
        wait_for(lambda: namenode_safemode(mc) == "", 120, "HDFS out of safe mode")
        w.times["safe mode left after the restart"] = time.monotonic() - ended_at
        wait_for(lambda: all(hdfs_status(mc, s) is None for s in stagings), 60,
                 "both staging dirs gone")
        w.times["staging dirs gone, after kill()"] = time.monotonic() - ended_at
        wait_for(lambda: not any(container_pids(mc, containers).values()), 60,
                 "every container's processes ended")
    for what, seconds in w.times.items():
        print(f"{what}: {seconds:.1f} s")
