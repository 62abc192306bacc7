"""Failures: containers (max_restarts), the ApplicationMaster (am_attempts), nodes."""
from __future__ import annotations

import os
import signal
import time
import uuid
import zipfile

import pytest
import requests

from helpers import (NO_CLASS_ARCHIVE, app_attempts, container_pids, log_rm_container_states,
                     wait_for, wait_until_the_rm_sees_them_running, yarn_state)
from knit import Knit, KnitException, MiniCluster
from knit._procfs import am_jvm_pid


def containers(k: Knit, state: str | None = None, outcome: str | None = None) -> list[dict]:
    return [c for c in k.get_containers()
            if (state is None or c["state"] == state) and
            (outcome is None or c["outcome"] == outcome)]


def test_failing_container_is_relaunched_up_to_max_restarts(minicluster):
    with Knit(minicluster.conf_dir) as k:
        k.start("exit 3", num_containers=1, memory=256, max_restarts=2)
        assert k.wait_for_completion(timeout=120) == "FAILED"
        ended = containers(k)
        assert len(ended) == 3 and all(c["exit_status"] == 3 for c in ended)
        assert "failed" in k.status()["diagnostics"]


def test_a_replaced_failure_does_not_fail_the_application(minicluster, tmp_path):
    marker = tmp_path / f"first-{uuid.uuid4().hex}"
    # mkdir is atomic: the first container creates the marker and fails, the next succeeds.
    with Knit(minicluster.conf_dir) as k:
        k.start(f"if mkdir {marker} 2>/dev/null; then exit 4; fi; echo ok", num_containers=1,
                memory=256, max_restarts=1)
        assert k.wait_for_completion(timeout=120) == "SUCCEEDED"
        assert [c["outcome"] for c in containers(k)] == ["FAILED", "SUCCEEDED"]
        assert "were replaced" in k.status()["diagnostics"]


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_max_restarts_must_be_a_count(minicluster, bad):
    with pytest.raises(KnitException, match="max_restarts must be an integer"):
        Knit(minicluster.conf_dir).start("true", max_restarts=bad)


def _am_pid(minicluster, app_id: str, attempt: int) -> int:
    pid = am_jvm_pid(minicluster.work_dir, app_id, attempt)
    assert pid, f"no AM process of {app_id}, attempt {attempt}"
    return pid


def test_a_new_am_attempt_takes_over_the_running_containers(minicluster):
    """kill -9 of the AM: YARN starts a second attempt (am_attempts=2 by default), which
    adopts the containers that kept running and asks for nothing more; the same Knit
    object finds it and goes on working."""
    log_rm_container_states(minicluster)
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=2, memory=256)
        wait_for(lambda: len(containers(k, "RUNNING")) == 2, 120, "2 running containers")
        before = {c["id"] for c in containers(k, "RUNNING")}
        # YARN keeps only the containers it knows run (a NodeManager heartbeat after their
        # start); it stops the others, and the new attempt replaces them.
        wait_until_the_rm_sees_them_running(minicluster, before)
        # YARN says RUNNING once the launch is under way; the processes come a moment later
        # (4 s under load).
        pids = wait_for(lambda: (lambda p: all(p.values()) and p)(
            container_pids(minicluster, before)), 60, "the containers' processes")
        os.kill(_am_pid(minicluster, app_id, attempt=1), signal.SIGKILL)
        # The next call notices the lost AM and waits for the next attempt.
        wait_for(lambda: {c["id"] for c in containers(k, "RUNNING")} == before, 120,
                 "the new attempt to report the kept containers")
        assert _am_pid(minicluster, app_id, attempt=2)
        assert [a["id"] for a in app_attempts(minicluster.resourcemanager_web, app_id)] == [1, 2]
        # It asked for nothing in their place (the top-up happens as it registers).
        assert k.pending_containers() == 0
        assert {c["id"] for c in k.get_containers()} == before
        assert container_pids(minicluster, before) == pids  # the same processes
        assert k.status()["state"] == "RUNNING"
        k.add_containers(1)
        wait_for(lambda: len(containers(k, "RUNNING")) == 3, 120, "a third container")
        assert {c["id"] for c in containers(k, "RUNNING")} > before


def test_a_new_am_attempt_keeps_the_count_the_application_was_scaled_to(minicluster):
    """Started with 3, scaled down to 1: the new attempt restores 1, not the initial 3."""
    log_rm_container_states(minicluster)
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=3, memory=256)
        wait_for(lambda: len(containers(k, "RUNNING")) == 3, 120, "3 running containers")
        first, *others = sorted(c["id"] for c in containers(k, "RUNNING"))
        k.remove_containers(others)
        wait_for(lambda: [c["id"] for c in containers(k, "RUNNING")] == [first], 60,
                 "the removed containers to end")
        wait_until_the_rm_sees_them_running(minicluster, {first})
        time.sleep(1)  # the AM records the new count off its callback thread
        os.kill(_am_pid(minicluster, app_id, attempt=1), signal.SIGKILL)
        # The next call notices the lost AM and waits for the next attempt.
        wait_for(lambda: [c["id"] for c in containers(k, "RUNNING")] == [first], 120,
                 "the new attempt to report the kept container")
        assert [a["id"] for a in app_attempts(minicluster.resourcemanager_web, app_id)] == [1, 2]
        time.sleep(3)  # long enough for a wrong top-up to be asked for and granted
        assert k.pending_containers() == 0
        assert [c["id"] for c in k.get_containers()] == [first]


def test_an_am_that_cannot_run_ends_the_application_after_its_attempts(minicluster, tmp_path,
                                                                      monkeypatch):
    """A genuine AM failure (here: a knit jar without the AM) is not retried for ever: with
    the default 2 attempts the application fails within seconds, saying why."""
    import knit.java
    from knit.client_jvm import get_client
    get_client()  # the client JVM runs with the real jar
    broken = tmp_path / "knit.jar"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nX-Test: {uuid.uuid4()}\n")
    monkeypatch.setattr(knit.java, "knit_jar", lambda: broken)
    k = Knit(minicluster.conf_dir)
    t0 = time.monotonic()
    with pytest.raises(KnitException, match="has ended \\(FAILED\\) without a running ApplicationMaster.*"
                                             "failed 2 times"):
        k.start("true", num_containers=1, memory=256)
    assert time.monotonic() - t0 < 45
    assert k.status()["final_status"] == "FAILED"
    assert len(app_attempts(minicluster.resourcemanager_web, k.app_id)) == 2


@pytest.fixture(scope="module")
def _nodes3_cluster():
    """A cluster of its own, for tests that steer placement by filling it and that stop a
    NodeManager: 3 NodeManagers of 5 slots of 1 GB; the ResourceManager declares a silent
    node lost after 6 s instead of 10 minutes. No AM writes a class-data archive. It
    schedules on NodeManager heartbeats (3.3 and 3.4's default): with 3.5.0's asynchronous scheduler these tests twice saw an ask
    of a (nearly) full cluster stay ungranted for over a minute, once with a slot free and
    the ResourceManager listing the ask outstanding: YARN's behaviour, not knit's."""
    with MiniCluster(nodemanagers=3, nodemanager_memory_mb=5120,
                     config={**NO_CLASS_ARCHIVE,
                             "yarn.nm.liveness-monitor.expiry-interval-ms": "6000",
                             "yarn.scheduler.capacity.schedule-asynchronously.enable": "false"}) as mc:
        yield mc


@pytest.fixture
def nodes3(_nodes3_cluster):
    """`_nodes3_cluster` once no container of an earlier test is left: an ApplicationMaster's
    container can end after its application is reported finished (this cluster writes no
    class-data archives, which held it for seconds more), and a slot freed after
    `_fill_the_cluster` would let YARN place a container elsewhere than the test steers it."""
    def nothing_allocated() -> bool:
        metrics = requests.get(f"{_nodes3_cluster.resourcemanager_web}/ws/v1/cluster/metrics",
                               timeout=10).json()["clusterMetrics"]
        return metrics["containersAllocated"] == 0
    wait_for(nothing_allocated, 60, "the containers of earlier tests to end",
             explain=lambda: yarn_state(_nodes3_cluster.resourcemanager_web))
    return _nodes3_cluster


def _running_nodes(mc) -> list[dict]:
    answer = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/nodes",
                          params={"states": "RUNNING"}, timeout=10).json()
    return sorted((answer.get("nodes") or {}).get("node", []), key=lambda n: n["id"])


def _free_slots(mc) -> int:
    return sum(n["availMemoryMB"] // 1024 for n in _running_nodes(mc))


def _fill_the_cluster(mc, blocker: Knit) -> None:
    """Have `blocker` (started with no containers) take every free 1 GB slot, so that
    releasing some of its containers decides where YARN places the next ones."""
    free = _free_slots(mc)
    blocker.add_containers(free)
    wait_for(lambda: len(containers(blocker, "RUNNING")) == free, 90, f"{free} blocker containers",
             explain=lambda: yarn_state(mc.resourcemanager_web, blocker))
    assert _free_slots(mc) == 0


def _am_node(mc, app_id: str) -> str:
    return app_attempts(mc.resourcemanager_web, app_id)[-1]["nodeId"]


def test_node_where_containers_keep_failing_is_excluded(nodes3):
    """Containers fail on one NodeManager only: at the third failure there knit stops using
    it (while YARN can place nothing elsewhere: no fourth failure), and the container
    runs on another node once one has room."""
    mc = nodes3
    with Knit(mc.conf_dir) as k, Knit(mc.conf_dir) as blocker:
        bad = _running_nodes(mc)[0]["id"]
        bad_port = bad.rsplit(":", 1)[1]
        k.start(f'[ "$NM_PORT" = {bad_port} ] && exit 5; sleep 600', num_containers=0,
                memory=256, max_restarts=20, keep_alive=True)
        blocker.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
        # One free slot, on the bad node.
        _fill_the_cluster(mc, blocker)
        blocker.remove_containers(next(c["id"] for c in containers(blocker, "RUNNING")
                                       if c["node"] == bad))
        k.add_containers(1)
        wait_for(lambda: len(containers(k, outcome="FAILED")) >= 3, 60, "3 failures",
                 explain=lambda: yarn_state(mc.resourcemanager_web, k))
        # YARN keeps offering that slot: knit gives it back unused.
        time.sleep(3)
        failed = containers(k, outcome="FAILED")
        assert len(failed) == 3 and {c["node"] for c in failed} == {bad}
        assert containers(k) == failed and k.pending_containers() == 1
        # Now a free slot on each other node. (Two: YARN offers the bad node's slot at each
        # of its heartbeats and knit hands it back, so a node whose heartbeat always came
        # just after the bad one's would never find the ask pending. The embedded cluster's
        # NodeManagers start together and can keep in step: one such run waited 60 s.)
        others = {n["id"] for n in _running_nodes(mc)} - {bad}
        blocker_on = {c["node"]: c["id"] for c in containers(blocker, "RUNNING")}
        blocker.remove_containers([blocker_on[n] for n in others])
        wait_for(lambda: containers(k, "RUNNING"), 60, "a container on another node",
                 explain=lambda: yarn_state(mc.resourcemanager_web, k))
        assert [c["node"] for c in containers(k, "RUNNING")] != [bad]
        assert len(containers(k, "RUNNING")) == 1
        assert containers(k, outcome="FAILED") == failed


def test_stopped_nodemanager_containers_and_dask_workers_come_back_elsewhere(nodes3):
    """A NodeManager holding containers of a Knit application and Dask workers (not their
    ApplicationMasters) stops: knit's lost containers are replaced on the other nodes
    (max_restarts), and a YarnCluster gets back to its worker count."""
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    mc = nodes3
    with Knit(mc.conf_dir) as k, Knit(mc.conf_dir) as blocker, \
            YarnCluster(n_workers=0, worker_memory="512 MiB", worker_restarts=4,
                        hadoop_conf_dir=mc.conf_dir, progress=False) as cluster, \
            Client(cluster) as client:
        k.start("sleep 600", num_containers=0, memory=256, max_restarts=4, keep_alive=True)
        ams = {_am_node(mc, k.app_id), _am_node(mc, cluster.application_id)}
        victim = next(n["id"] for n in _running_nodes(mc) if n["id"] not in ams)
        # Only the victim has room: the 2 containers and the 2 workers go there.
        blocker.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
        _fill_the_cluster(mc, blocker)
        blocker.remove_containers([c["id"] for c in containers(blocker, "RUNNING")
                                   if c["node"] == victim])
        wait_for(lambda: _free_slots(mc) >= 4, 30, "room for 4 on the victim")
        k.add_containers(2)
        cluster.scale(2)
        wait_for(lambda: len(containers(k, "RUNNING")) == 2, 60, "2 containers",
                 explain=lambda: yarn_state(mc.resourcemanager_web, k))
        client.wait_for_workers(2, timeout=60)
        lost = {c["id"] for c in containers(k, "RUNNING")}
        assert {c["node"] for c in containers(k, "RUNNING") + containers(cluster.knit, "RUNNING")} \
            == {victim}
        blocker.kill()  # room elsewhere again
        assert mc.stop_nodemanager(victim) == victim
        wait_for(lambda: len(containers(k, "RUNNING")) == 2 and
                 all(c["node"] != victim for c in containers(k, "RUNNING")), 60,
                 "knit's containers to run on the other nodes")
        assert lost <= {c["id"] for c in containers(k, outcome="FAILED")}
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2 and
                 all(c["node"] != victim for c in containers(cluster.knit, "RUNNING")),
                 60, "2 workers again")
        assert client.submit(lambda: 6 * 7, pure=False).result(timeout=60) == 42
        # Both were replaced by their ApplicationMasters, each counting its own.
        for app in (k, cluster.knit):
            counted = app.restarts()["main"]
            assert counted.used >= 2 and counted.unreplaced == 0, counted


def test_when_the_am_node_stops_a_new_attempt_takes_over_elsewhere(nodes3):
    """The NodeManager of the ApplicationMaster stops: once YARN declares the node lost,
    a second attempt starts elsewhere, adopts the containers on the other nodes, replaces
    those that were on the lost node, and the Knit object reconnects to it."""
    mc = nodes3
    log_rm_container_states(mc)
    with Knit(mc.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=2, memory=256)
        wait_for(lambda: len(containers(k, "RUNNING")) == 2, 60, "2 running containers",
                 explain=lambda: yarn_state(mc.resourcemanager_web, k))
        wait_until_the_rm_sees_them_running(mc, {c["id"] for c in containers(k)})
        victim = _am_node(mc, app_id)
        elsewhere = {c["id"] for c in containers(k) if c["node"] != victim}
        assert mc.stop_nodemanager(victim) == victim
        wait_for(lambda: len(app_attempts(mc.resourcemanager_web, app_id)) == 2 and
                 len(containers(k, "RUNNING")) == 2 and
                 all(c["node"] != victim for c in containers(k, "RUNNING")), 60,
                 "the second attempt with 2 containers off the lost node",
                 explain=lambda: yarn_state(mc.resourcemanager_web, k))
        assert _am_node(mc, app_id) != victim
        assert elsewhere <= {c["id"] for c in containers(k, "RUNNING")}
        assert k.pending_containers() == 0 and len(k.get_containers()) == 2
