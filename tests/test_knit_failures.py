"""Failures: containers (max_restarts), the ApplicationMaster (am_attempts), nodes."""
from __future__ import annotations

import os
import signal
import time
import uuid
import zipfile

import pytest

from helpers import (app_attempts, container_pids, log_rm_container_states, wait_for,
                     wait_until_the_rm_sees_them_running)
from knit import Knit, KnitException
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
        pids = container_pids(minicluster, before)
        assert all(pids.values()), pids
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
    with pytest.raises(KnitException, match="ended before its ApplicationMaster registered.*"
                                             "failed 2 times"):
        k.start("true", num_containers=1, memory=256)
    assert time.monotonic() - t0 < 45
    assert k.status()["final_status"] == "FAILED"
    assert len(app_attempts(minicluster.resourcemanager_web, k.app_id)) == 2
