"""YarnCluster where the network or the user gets in the way: workers that cannot reach
their scheduler, requests too big for remote mode, the asynchronous scale, Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import app_by_name, cwd_of, wait_for
from knit._procfs import processes_under

pytest.importorskip("distributed")
from knit.dask import WorkersCannotConnectError, YarnCluster  # noqa: E402
from knit.exceptions import ClusterCapacityError  # noqa: E402

# Loaded by each worker before it connects (dask worker --preload): its connections to the
# scheduler hang 5 s and fail, as a firewall that drops them makes them do. On one host
# nothing else can keep the worker processes from the scheduler; tests/test_multihost.py
# has the real firewall, between hosts.
DROPPED = '''
import asyncio
import distributed.worker

async def _dropped(address, *args, **kwargs):
    await asyncio.sleep(5)
    raise OSError(f"Timed out trying to connect to {address}")

distributed.worker.connect = _dropped
'''


def test_workers_that_cannot_reach_the_scheduler_end_with_an_error_saying_so(minicluster,
                                                                             tmp_path):
    preload = tmp_path / "dropped.py"
    preload.write_text(DROPPED)
    preload.chmod(0o644)
    with YarnCluster(n_workers=2, worker_memory="512 MiB", worker_restarts=2,
                     worker_options={"--preload": str(preload)}, progress=False,
                     hadoop_conf_dir=minicluster.conf_dir) as cluster:
        wait_for(lambda: any(c.state == "RUNNING" for c in cluster.knit.get_containers()),
                 120, "a worker container running")
        running_at = time.monotonic()
        with pytest.raises(WorkersCannotConnectError) as raised:
            cluster.wait_for_workers(2, timeout=180)
        took = time.monotonic() - running_at
        message = str(raised.value)
        print(f"unreachable scheduler: error {took:.1f} s after the first worker ran")
        assert took < 60, message
        assert cluster.scheduler_address in message
        assert "Waiting to connect to" in message  # the worker's last log line, quoted
        assert "deploy_mode='remote'" in message and "scheduler_host=" in message
        # The application was ended, its containers released, and no restart spent.
        assert cluster.knit.status().state in ("FINISHED", "KILLED")
        assert not [c for c in cluster.knit.get_containers() if c.state != "COMPLETED"]
        assert cluster.restarts_left == 2
    suffix = cluster.application_id[len("application_"):]
    # The workers' processes (the AM may still be writing its class-data archive).
    left = lambda: [p for p in processes_under(minicluster.work_dir)  # noqa: E731
                    if suffix in cwd_of(p) and not cwd_of(p).endswith("_000001")]
    wait_for(lambda: not left(), 30, "no worker process left",
             explain=lambda: "; ".join(cmdline(p) for p in left()))


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"{pid}: " + f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return f"{pid}: gone"


def test_remote_mode_checks_the_workers_size_before_submitting(minicluster):
    with pytest.raises(ClusterCapacityError, match="No NodeManager can hold"):
        YarnCluster(n_workers=1, deploy_mode="remote", worker_memory="64 GiB",
                    scheduler_memory="1 GiB", app_name="too-big-workers",
                    hadoop_conf_dir=minicluster.conf_dir)
    assert app_by_name(minicluster.resourcemanager_web, "too-big-workers") is None


def test_knit_dask_start_refuses_workers_too_big_in_one_line(minicluster):
    done = subprocess.run(
        [sys.executable, "-m", "knit", "dask", "start", "--worker-memory", "64 GiB",
         "--scheduler-memory", "1 GiB", "--name", "too-big-cli",
         "--hadoop-conf-dir", minicluster.conf_dir],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("knit: error: No NodeManager can hold") and \
        done.stderr.count("\n") == 1, done.stderr
    assert app_by_name(minicluster.resourcemanager_web, "too-big-cli") is None


def test_scale_on_an_asynchronous_cluster_runs_with_or_without_await(minicluster):
    import asyncio

    async def main():
        async with YarnCluster(n_workers=0, worker_memory="512 MiB", asynchronous=True,
                               progress=False, hadoop_conf_dir=minicluster.conf_dir) as cluster:
            cluster.scale(1)  # not awaited: still runs
            await asyncio.wait_for(cluster.wait_for_workers(1), 120)
            await cluster.scale(2)
            await asyncio.wait_for(cluster.wait_for_workers(2), 120)
            assert len(cluster.plan) == 2

    asyncio.run(main())


def test_ctrl_c_during_knit_dask_start_says_one_line_and_leaves_nothing(minicluster):
    env = dict(os.environ, HADOOP_CONF_DIR=minicluster.conf_dir)
    # A child of pytest may inherit SIGINT ignored; the shell restores it before exec.
    proc = subprocess.Popen(
        ["bash", "-c", 'trap - INT; exec "$@"', "knit", sys.executable, "-m", "knit", "dask",
         "start", "-n", "2", "--worker-memory", "512 MiB", "--scheduler-memory", "1 GiB",
         "--name", "interrupted-dask"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        app = wait_for(lambda: app_by_name(minicluster.resourcemanager_web, "interrupted-dask"),
                       120, "the Dask application to be submitted", interval=0.2)
        time.sleep(1)  # mid-start: the scheduler's container is being placed
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err == "knit: interrupted\n", err
    assert out == ""
    state = lambda: app_by_name(minicluster.resourcemanager_web, "interrupted-dask")["state"]  # noqa: E731
    wait_for(lambda: state() in ("FINISHED", "KILLED", "FAILED"), 60,
             f"{app['id']} to end after Ctrl-C")
