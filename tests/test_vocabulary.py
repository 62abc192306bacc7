"""One vocabulary, on real clusters: memory sizes reach YARN as asked, logs() gives the same
files for running and ended applications, the log-aggregation-off path says so, and a
second `knit kill` answers fast that the application had ended."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from helpers import started
from helpers import wait_for
from knit import ConfigurationError, InvalidArgumentError, Knit, MiniCluster

STD = {"stdout", "stderr"}


@pytest.fixture(scope="module")
def no_aggregation():
    """A 1-NodeManager cluster with log aggregation off, which the tests here that need no
    aggregated logs share (8 GB: room for an AM and containers of 1 to 3 GiB at once)."""
    cluster = started(MiniCluster(nodemanagers=1, nodemanager_memory_mb=8192,
                                  config={"yarn.log-aggregation-enable": "false"}))
    yield cluster
    cluster.stop()


def knit_cli(*args: str, conf_dir: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knit", *args, "--hadoop-conf-dir", conf_dir],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _sizes(k: Knit, role: str) -> list[int]:
    return sorted(c.memory_mb for c in k.get_containers()
                  if c.role == role and c.state == "RUNNING")


def test_memory_sizes_reach_yarn_in_every_form(no_aggregation):
    with Knit(no_aggregation.conf_dir) as k:
        k.start("sleep 600", num_containers=1, memory="2 GiB", keep_alive=True)
        assert wait_for(lambda: _sizes(k, "main") == [2048], 90, "a 2 GiB container")
        k.add_role("big", "sleep 600", memory="3GiB")
        k.add_containers(1, role="big")
        assert wait_for(lambda: _sizes(k, "big") == [3072], 90, "a 3 GiB container")
        # 1GB is 10**9 bytes, 954 MiB, which YARN rounds up to its minimum allocation.
        k.add_containers(1, memory="1GB")
        assert wait_for(lambda: _sizes(k, "main") == [1024, 2048], 90, "a 1GB container")
        for call in (lambda: k.add_containers(1, memory="1 parsec"),
                     lambda: k.add_containers(1, memory=0),
                     lambda: k.add_role("bad", "true", memory=True)):
            with pytest.raises(InvalidArgumentError, match="memory"):
                call()


def test_logs_of_an_ended_application_without_log_aggregation(no_aggregation):
    with Knit(no_aggregation.conf_dir) as k:
        k.start("echo hello", num_containers=1, memory=256)
        assert k.wait_for_completion(120) == "SUCCEEDED"
        with pytest.raises(ConfigurationError, match="yarn.log-aggregation-enable") as caught:
            k.logs(timeout=5)
        assert "has ended" in str(caught.value)


def test_a_second_kill_answers_fast_that_the_application_had_ended(no_aggregation):
    conf = no_aggregation.conf_dir
    started = knit_cli("start", "sleep 600", "--memory", "1GB", conf_dir=conf)
    assert started.returncode == 0, started.stderr
    app_id = started.stdout.strip()
    first = knit_cli("kill", app_id, conf_dir=conf)
    assert first.returncode == 0 and first.stdout.strip() == f"{app_id}: FINISHED (SUCCEEDED)", \
        first.stderr
    t0 = time.monotonic()
    second = knit_cli("kill", app_id, conf_dir=conf)
    took = time.monotonic() - t0
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"{app_id}: had already ended: FINISHED (SUCCEEDED)"
    # One ResourceManager REST report, no client JVM: 0.3 to 0.4 s with Python's start.
    # Before, it started the client JVM, failed to attach (HDFS: no staging dir), and asked
    # for a report: 3.2 to 7.1 s on this repo's 2 shared cores.
    assert took < 5, f"the second kill took {took:.1f} s"


def test_logs_give_the_same_files_running_and_ended(minicluster):
    with Knit(minicluster.conf_dir) as k:
        k.start('echo out; echo err >&2; echo mine > "${LOG_DIRS%%,*}/mine.txt"; sleep 600',
                num_containers=1, memory=256, keep_alive=True)
        (cid,) = wait_for(lambda: [c.id for c in k.get_containers() if c.state == "RUNNING"],
                          90, "the container to run")
        wait_for(lambda: k.logs(cid)[cid]["stdout"] == "out\n", 60, "the container's stdout")
        live = k.logs()
        (am,) = set(live) - {cid}
        assert am.endswith("_000001")
        assert {c: set(f) for c, f in live.items()} == {cid: STD, am: STD}
        live_all = k.logs(all_files=True)
        assert STD | {"mine.txt", "launch_container.sh", "prelaunch.err"} <= set(live_all[cid])
        assert STD | {"launch_container.sh"} <= set(live_all[am])
        assert live_all[cid]["mine.txt"] == "mine\n"
        k.kill()

        ended = k.logs(timeout=240)  # aggregation: seconds, more on busy cores
        assert {c: set(f) for c, f in ended.items()} == {cid: STD, am: STD}
        assert (ended[cid]["stdout"], ended[cid]["stderr"]) == ("out\n", "err\n")
        assert "Registered attempt 1" in ended[am]["stderr"]  # the AM's own log
        ended_all = k.logs(all_files=True)
        for c in (cid, am):  # what was there while running, and what the AM wrote as it ended
            assert set(live_all[c]) <= set(ended_all[c]), c
        assert ended_all[cid]["mine.txt"] == "mine\n"
        shown = knit_cli("logs", k.app_id, "--all-files", conf_dir=minicluster.conf_dir)
        assert shown.returncode == 0, shown.stderr
        assert f"==> {cid} mine.txt <==" in shown.stdout
        assert f"==> {cid} mine.txt <==" not in knit_cli(
            "logs", k.app_id, conf_dir=minicluster.conf_dir).stdout
