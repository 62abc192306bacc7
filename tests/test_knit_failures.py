"""Container and node failures: max_restarts, node exclusion, a NodeManager that stops."""
from __future__ import annotations

import time
import uuid

import pytest

from helpers import wait_for
from knit import Knit, KnitException, MiniCluster


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


def test_node_where_containers_keep_failing_is_excluded(minicluster):
    """Containers fail on one NodeManager only: after 3 failures there, knit stops using
    it, and every container ends up running on the other."""
    import requests
    nodes = requests.get(f"{minicluster.resourcemanager_web}/ws/v1/cluster/nodes",
                         timeout=10).json()["nodes"]["node"]
    bad = sorted(n["id"] for n in nodes if n["state"] == "RUNNING")[0]
    bad_port = bad.rsplit(":", 1)[1]
    with Knit(minicluster.conf_dir) as k:
        k.start(f'[ "$NM_PORT" = {bad_port} ] && exit 5; sleep 600', num_containers=4,
                memory=256, max_restarts=20)
        # Containers on the bad node run for a moment before they exit: wait for all 4 on
        # the good one.
        wait_for(lambda: [c["node"] for c in containers(k, "RUNNING")].count(bad) == 0 and
                 len(containers(k, "RUNNING")) == 4, 120, "4 containers running on the good node")
        time.sleep(3)  # no more failures come: the bad node is no longer used
        assert len(containers(k, "RUNNING")) == 4
        failed = containers(k, outcome="FAILED")
        assert all(c["node"] == bad for c in failed)
        assert len(failed) <= 3  # excluded at the third failure: no fourth


def test_stopped_nodemanager_containers_and_dask_workers_come_back_elsewhere():
    """A NodeManager stops: knit's lost containers are replaced on the other node (up to
    max_restarts), and a YarnCluster gets back to its worker count."""
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    # The ResourceManager declares a silent node lost after 6 s instead of 10 minutes.
    fast_expiry = {"yarn.nm.liveness-monitor.expiry-interval-ms": "6000"}
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=8192, config=fast_expiry) as mc, \
            Knit(mc.conf_dir) as k, \
            YarnCluster(n_workers=2, worker_memory="512 MiB", worker_restarts=4,
                        hadoop_conf_dir=mc.conf_dir, progress=False) as cluster, \
            Client(cluster) as client:
        k.start("sleep 600", num_containers=2, memory=256, max_restarts=4)
        wait_for(lambda: len(containers(k, "RUNNING")) == 2, 120, "2 sleep containers")
        client.wait_for_workers(2, timeout=120)
        # Stop the node of the first worker, which may hold knit's containers too.
        victim = containers(cluster.knit, "RUNNING")[0]["node"]
        lost = {c["id"] for c in containers(k, "RUNNING") if c["node"] == victim}
        assert mc.stop_nodemanager(victim) == victim
        wait_for(lambda: len(containers(k, "RUNNING")) == 2 and
                 all(c["node"] != victim for c in containers(k, "RUNNING")), 120,
                 "knit's containers to run on the surviving node")
        assert lost <= {c["id"] for c in containers(k, outcome="FAILED")}
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2 and
                 all(c["node"] != victim for c in containers(cluster.knit, "RUNNING")),
                 120, "2 workers again")
        assert client.submit(lambda: 6 * 7).result(timeout=60) == 42


def _am_java_pid(minicluster, app_id: str, attempt: int = 1) -> int:
    from knit._procfs import am_jvm_pid
    pid = am_jvm_pid(minicluster.work_dir, app_id, attempt)
    assert pid, f"no AM process of {app_id}, attempt {attempt}"
    return pid


def test_a_new_am_attempt_takes_over_the_running_containers(minicluster):
    """kill -9 of the AM: YARN starts a second attempt, which adopts the containers that
    kept running; the same Knit object finds it and goes on working."""
    import os
    import signal
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=2, memory=256)
        wait_for(lambda: len(containers(k, "RUNNING")) == 2, 120, "2 running containers")
        before = {c["id"] for c in containers(k, "RUNNING")}
        os.kill(_am_java_pid(minicluster, app_id), signal.SIGKILL)
        # The next call notices the lost AM and waits for the next attempt.
        wait_for(lambda: {c["id"] for c in containers(k, "RUNNING")} == before, 120,
                 "the new attempt to report the kept containers")
        assert _am_java_pid(minicluster, app_id, attempt=2)
        k.add_containers(1)
        wait_for(lambda: len(containers(k, "RUNNING")) == 3, 120, "a third container")
        assert k.status()["state"] == "RUNNING"


def test_yarncluster_keeps_its_workers_when_the_am_dies(minicluster):
    import os
    import signal
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    with YarnCluster(n_workers=2, worker_memory="512 MiB", hadoop_conf_dir=minicluster.conf_dir,
                     progress=False) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        workers = set(client.scheduler_info()["workers"])
        os.kill(_am_java_pid(minicluster, cluster.application_id), signal.SIGKILL)
        assert client.submit(lambda: 6 * 7).result(timeout=60) == 42
        cluster.scale(3)
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 3, 120, "a third worker")
        assert workers <= set(client.scheduler_info()["workers"])  # the first two stayed
