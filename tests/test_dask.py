"""knit.dask.YarnCluster on the embedded cluster: real workers in YARN containers."""
from __future__ import annotations

import os
import signal
import time

import pytest

from helpers import (app_attempts, container_pids, cwd_of, log_rm_container_states, wait_for,
                     wait_until_the_rm_sees_them_running)
from knit._procfs import am_jvm_pid, processes_under
from knit.messages import RoleRestarts

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
from distributed import Client  # noqa: E402

from knit.dask import YarnCluster  # noqa: E402


@pytest.fixture
def cluster(minicluster):
    c = YarnCluster(n_workers=0, worker_memory="1 GiB", hadoop_conf_dir=minicluster.conf_dir,
                    worker_restarts=2)
    yield c
    c.close()


def worker_names(client: Client) -> set[str]:
    return {w["name"] for w in client.scheduler_info()["workers"].values()}


def live_containers(cluster: YarnCluster) -> list[str]:
    return [c["id"] for c in cluster.knit.get_containers() if c["state"] == "RUNNING"]


def test_computation_across_three_workers_named_by_container(cluster):
    cluster.scale(3)
    with Client(cluster) as client:
        client.wait_for_workers(3, timeout=120)
        assert worker_names(client) == set(live_containers(cluster))
        x = da.arange(1_000_000, chunks=50_000)
        assert int((x * 2).sum().compute()) == 999_999_000_000
        ran_on = client.run(lambda: os.environ["CONTAINER_ID"])
        assert len(set(ran_on.values())) == 3
        # No worker dashboard: bokeh, a second of each worker's start-up, is not loaded.
        assert not any(client.run(lambda: "bokeh" in __import__("sys").modules).values())


def test_scale_up_and_down_leaves_exactly_that_many(cluster):
    with Client(cluster) as client:
        for n in (2, 4, 1):
            cluster.scale(n)
            wait_for(lambda: len(worker_names(client)) == n
                     and len(live_containers(cluster)) == n, 120, f"{n} workers")
            assert worker_names(client) == set(live_containers(cluster))


def test_lost_worker_is_replaced_and_work_completes(cluster, minicluster):
    cluster.scale(2)
    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        before = worker_names(client)
        victim = sorted(before)[0]
        pid = next(p for p in processes_under(minicluster.work_dir) if victim in cwd_of(p))
        future = client.submit(lambda: (time.sleep(3), 42)[1], pure=False)
        os.kill(pid, signal.SIGKILL)
        assert future.result(timeout=120) == 42
        wait_for(lambda: len(worker_names(client)) == 2 and worker_names(client) != before,
                 120, "a replacement worker")
        lost = next(c for c in cluster.knit.get_containers() if c["id"] == victim)
        assert lost["outcome"] == "FAILED" and lost["exit_status"] == 137
        # Replaced by the ApplicationMaster, from the workers' restarts, which it counts.
        assert cluster.knit.restarts()["main"] == RoleRestarts(max_restarts=2, used=1, unreplaced=0)
        wait_for(lambda: cluster.restarts_left == 1, 30, "the cluster to read the AM's count")


def test_a_worker_that_outlives_its_container_is_closed(cluster, minicluster):
    """When YARN reports a container ended, its worker must not compute on outside YARN's
    accounting (a NodeManager does not always end every process of a killed container)."""
    cluster.scale(1)
    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        (name,) = worker_names(client)
        pids = container_pids(minicluster, {name})[name]
        cluster.sync(cluster._close_orphan, name)
        wait_for(lambda: name not in worker_names(client), 60, "the scheduler to drop the worker")
        wait_for(lambda: not container_pids(minicluster, {name})[name], 60,
                 "the worker's processes to exit")
        assert pids


def test_workers_stay_when_the_am_dies(cluster, minicluster):
    """kill -9 of the workers' ApplicationMaster: YARN's second attempt adopts the running
    workers, the cluster keeps them and goes on computing and scaling."""
    log_rm_container_states(minicluster)
    cluster.scale(2)
    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        workers = worker_names(client)
        wait_until_the_rm_sees_them_running(minicluster, workers)  # what YARN keeps
        pids = container_pids(minicluster, workers)
        app_id = cluster.application_id
        os.kill(am_jvm_pid(minicluster.work_dir, app_id, 1), signal.SIGKILL)
        answers = []

        def second_attempt_lists_them() -> bool:
            answers.append(set(live_containers(cluster)))
            return len(app_attempts(minicluster.resourcemanager_web, app_id)) == 2 and \
                answers[-1] == workers
        wait_for(second_attempt_lists_them, 120, "the second attempt")
        # Every answer lists the workers, also while the client follows the AM to its next
        # attempt: that one answers once it has adopted them (else the cluster, told none
        # run, would ask for them again), and no lost attempt's list stands in for it.
        assert all(a == workers for a in answers), answers
        assert client.submit(lambda: 6 * 7, pure=False).result(timeout=60) == 42
        assert worker_names(client) == workers and container_pids(minicluster, workers) == pids
        cluster.scale(3)
        wait_for(lambda: len(worker_names(client)) == 3, 120, "a third worker")
        assert workers < worker_names(client)
        assert len(live_containers(cluster)) == 3


def test_adapt_grows_under_load_and_shrinks_when_idle(cluster):
    cluster.adapt(minimum=1, maximum=3, interval="500ms", wait_count=2)
    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        futures = client.map(lambda i: (time.sleep(1), i)[1], range(60), pure=False)
        wait_for(lambda: len(worker_names(client)) > 1, 120, "adapt to add workers")
        assert sum(client.gather(futures)) == sum(range(60))
        wait_for(lambda: len(worker_names(client)) == 1 and len(live_containers(cluster)) == 1,
                 120, "adapt to shrink back to 1")


def test_close_leaves_no_container_and_no_process(minicluster):
    cluster = YarnCluster(n_workers=2, worker_memory="1 GiB",
                          hadoop_conf_dir=minicluster.conf_dir)
    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
    app_id = cluster.application_id
    cluster.close()
    assert (cluster.knit.status().state, cluster.knit.status().final_status) == \
        ("FINISHED", "SUCCEEDED")  # closed by its owner
    wait_for(lambda: not [p for p in processes_under(minicluster.work_dir)
                          if app_id in cwd_of(p)], 30, "no process left")


def test_raw_flow_workers_join_a_scheduler_the_user_started(minicluster):
    """Without YarnCluster: the user's own scheduler, workers started with Knit."""
    import sys

    from distributed import LocalCluster

    from knit import Knit
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as local, \
            Client(local) as client, Knit(minicluster.conf_dir) as k:
        k.start(f"{sys.executable} -m distributed.cli.dask_worker {local.scheduler_address}",
                num_containers=5, memory=512)
        client.wait_for_workers(5, timeout=120)
        assert client.submit(sum, [1, 2, 3]).result() == 6


def test_scheduler_and_workers_talk_tls_and_refuse_strangers(cluster):
    from distributed.security import Security
    cluster.scale(1)
    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        assert cluster.scheduler_address.startswith("tls://")
        assert client.submit(lambda: 1 + 1).result() == 2
        assert "<th>Connected</th>" in cluster._repr_html_()  # the notebook widget's view
    plain = cluster.scheduler_address.replace("tls://", "tcp://")
    with pytest.raises(Exception):
        Client(plain, timeout="3s")
    with pytest.raises(Exception):  # TLS, but credentials this cluster never issued
        Client(cluster.scheduler_address, security=Security.temporary(), timeout="3s")


def test_worker_exiting_cleanly_unasked_is_replaced(cluster):
    """A worker that ends on its own (exit 0) is as lost as a killed one."""
    cluster.scale(1)
    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        (victim,) = worker_names(client)
        # Exit just after answering, so that run() itself returns.
        client.run(lambda: __import__("threading").Timer(0.3, os._exit, (0,)).start())
        wait_for(lambda: worker_names(client) and victim not in worker_names(client),
                 120, "a replacement worker")
        lost = next(c for c in cluster.knit.get_containers() if c["id"] == victim)
        assert lost["outcome"] == "SUCCEEDED"
        assert cluster.restarts_left == 1


def test_wait_for_workers_reports_progress_and_fails_when_workers_cannot_come(
        minicluster, caplog):
    import logging

    from knit import KnitException
    caplog.set_level(logging.INFO, logger="knit.dask.progress")
    with YarnCluster(n_workers=1, worker_memory="1 GiB", hadoop_conf_dir=minicluster.conf_dir,
                     worker_options={"--no-such-option": 1}, worker_restarts=1) as cluster:
        with pytest.raises(KnitException, match="no restarts are left"):
            cluster.wait_for_workers(1, timeout=120)
        lines = [r.getMessage() for r in caplog.records if r.name == "knit.dask.progress"]
        assert lines and all("0/1 connected" in line for line in lines)
        assert any("requested 1" in line for line in lines)
        failed = [c for c in cluster.knit.get_containers() if c["outcome"] == "FAILED"]
        assert len(failed) == 2  # the first worker and its one replacement


def test_remote_scheduler_runs_in_a_container_of_the_workers_application(minicluster):
    with YarnCluster(n_workers=2, worker_memory="1 GiB", deploy_mode="remote",
                     scheduler_memory="1 GiB", hadoop_conf_dir=minicluster.conf_dir) as cluster:
        app = cluster.application_id
        assert cluster.scheduler_application_id == app  # one YARN application
        roles = {c["id"]: c["role"] for c in cluster.knit.get_containers()}
        (container,) = [c for c, role in roles.items() if role == "main"]
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            assert client.run_on_scheduler(lambda: os.environ["CONTAINER_ID"]) == container
            x = da.arange(100_000, chunks=10_000)
            assert int(x.sum().compute()) == 4_999_950_000
            port = client.run_on_scheduler(
                lambda dask_scheduler: dask_scheduler.services["dashboard"].port)
            assert cluster.dashboard_link.endswith(f":{port}/status")
            assert cluster.scheduler_address.startswith("tls://")
            workers = {c["id"] for c in cluster.knit.get_containers() if c["role"] == "worker"}
            assert {w["name"] for w in client.scheduler_info()["workers"].values()} == workers
            cluster.scale(3)
            client.wait_for_workers(3, timeout=120)
    assert (cluster.knit.status().state, cluster.knit.status().final_status) == \
        ("FINISHED", "SUCCEEDED")  # closed by its owner
    suffix = app[len("application_"):]
    wait_for(lambda: not [p for p in processes_under(minicluster.work_dir)
                          if suffix in cwd_of(p)], 30, "no process of the cluster left")


def test_refused_remote_scheduler_leaves_nothing_behind(minicluster):
    """A scheduler container bigger than any node: refused before anything is submitted,
    and the workers' application is never started."""
    import glob

    from helpers import app_by_name
    from knit import KnitException
    before = set(glob.glob("/tmp/knit-dask-tls-*"))
    with pytest.raises(KnitException, match="No NodeManager can hold"):
        YarnCluster(n_workers=1, deploy_mode="remote", scheduler_memory="1000 GiB",
                    app_name="refused-remote", hadoop_conf_dir=minicluster.conf_dir)
    assert app_by_name(minicluster.resourcemanager_web, "refused-remote") is None
    assert set(glob.glob("/tmp/knit-dask-tls-*")) == before


def test_async_with_and_get_logs(minicluster):
    """The asynchronous API, as LocalCluster has it; get_logs includes the YARN containers'."""
    import asyncio

    async def main():
        async with YarnCluster(n_workers=1, worker_memory="1 GiB", asynchronous=True,
                               hadoop_conf_dir=minicluster.conf_dir) as cluster:
            async with Client(cluster, asynchronous=True) as client:
                await client.wait_for_workers(1, timeout=120)
                assert await client.submit(lambda: 41 + 1) == 42
            (container,) = [c["id"] for c in cluster.knit.get_containers()
                            if c["state"] == "RUNNING"]
            logs = await cluster.get_logs()
            assert "Scheduler" in logs and "Registered to" in logs[container]
        return cluster

    cluster = asyncio.run(main())
    assert cluster.status.name == "closed"
    assert (cluster.knit.status().state, cluster.knit.status().final_status) == \
        ("FINISHED", "SUCCEEDED")  # closed by its owner


def test_client_restart_brings_the_workers_back_without_using_restarts(minicluster):
    with YarnCluster(n_workers=2, worker_memory="512 MiB", worker_restarts=0,
                     hadoop_conf_dir=minicluster.conf_dir, progress=False) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        before = {w["name"] for w in client.scheduler_info()["workers"].values()}
        client.restart(timeout=120)
        client.wait_for_workers(2, timeout=120)
        after = {w["name"] for w in client.scheduler_info()["workers"].values()}
        assert len(after) == 2 and not before & after  # new containers
        assert cluster.restarts_left == 0 and cluster._unreplaced == 0
        assert client.submit(lambda: 7).result() == 7
