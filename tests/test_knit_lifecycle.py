"""Applications end with the Python process that started them, unless detached."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from helpers import ON_CI
from helpers import NO_CLASS_ARCHIVE, app_state, children_of, wait_for
from knit import Knit, MiniCluster

SCRIPT = textwrap.dedent("""
    import sys, time
    from knit import Knit
    k = Knit(sys.argv[1])
    print(k.start("sleep 600", num_containers=1, memory=256,
                  detached=sys.argv[2] == "detached"), flush=True)
    if sys.argv[3] == "linger":
        time.sleep(600)
""")


def start_in_child(minicluster, detached: bool, linger: bool) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, minicluster.conf_dir,
         "detached" if detached else "attached", "linger" if linger else "exit"],
        stdout=subprocess.PIPE, text=True)
    app_id = child.stdout.readline().strip()
    assert app_id.startswith("application_"), app_id
    return child, app_id


def test_application_dies_with_a_killed_python_process(minicluster):
    child, app_id = start_in_child(minicluster, detached=False, linger=True)
    assert app_state(minicluster, app_id) == "RUNNING"
    child.send_signal(signal.SIGKILL)  # no atexit: only the client JVM's stdin EOF is left
    child.wait()
    wait_for(lambda: app_state(minicluster, app_id) == "KILLED", 60, f"{app_id} to be killed")


def test_application_dies_when_python_exits_normally(minicluster):
    child, app_id = start_in_child(minicluster, detached=False, linger=False)
    assert child.wait(timeout=60) == 0
    wait_for(lambda: app_state(minicluster, app_id) == "KILLED", 60, f"{app_id} to be killed")


def test_detached_application_outlives_python(minicluster):
    child, app_id = start_in_child(minicluster, detached=True, linger=False)
    assert child.wait(timeout=60) == 0
    try:
        assert app_state(minicluster, app_id) == "RUNNING"
    finally:
        k = Knit(minicluster.conf_dir)
        k.app_id = app_id  # adopt it to clean up
        k.kill()
    assert app_state(minicluster, app_id) == "KILLED"


def test_lease_ends_the_application_when_python_and_its_jvm_die_unless_detached(minicluster):
    """kill -9 of Python *and* its client JVM (nothing on this machine can clean up): the
    AM stops hearing from its client and ends the application; a detached one stays."""
    log_dirs_before = set(glob.glob("/tmp/knit-client-*"))
    attached, attached_id = start_in_child(minicluster, detached=False, linger=True)
    detached, detached_id = start_in_child(minicluster, detached=True, linger=True)
    try:
        victims = [attached.pid, detached.pid]
        victims += children_of(attached.pid) + children_of(detached.pid)  # the client JVMs
        assert len(victims) == 4, victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: app_state(minicluster, attached_id) in ("FINISHED", "FAILED", "KILLED"),
                 60, f"{attached_id} to end once its lease expired")
        url = f"{minicluster.resourcemanager_web}/ws/v1/cluster/apps/{attached_id}"
        diagnostics = requests.get(url, timeout=10).json()["app"]["diagnostics"]
        # The lease, not the client, ended it.
        assert time.monotonic() - killed_at >= 20, f"ended too soon: {diagnostics}"
        assert "lease" in diagnostics
        assert app_state(minicluster, detached_id) == "RUNNING"
    finally:
        k = Knit(minicluster.conf_dir)
        for app_id in (attached_id, detached_id):
            k.app_id = app_id
            k.kill()
        # The killed client JVMs could not remove their log dirs.
        for d in set(glob.glob("/tmp/knit-client-*")) - log_dirs_before:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def stepped_clock_cluster(tmp_path_factory):
    """A 1-NodeManager cluster whose containers' wall clock is shifted by the seconds in a
    file the test writes (clockshift.c, preloaded; their monotonic clock is left alone):
    what an NTP step or a VM restored from a snapshot does to an ApplicationMaster."""
    build = tmp_path_factory.mktemp("clockshift")
    library, offset = build / "libclockshift.so", build / "offset"
    try:
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(library),
                        str(Path(__file__).with_name("clockshift.c")), "-ldl"],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        (pytest.fail if ON_CI else pytest.skip)(f"needs gcc to build clockshift.c: {e}")
    offset.write_text("0\n")
    admin_env = ",".join([NO_CLASS_ARCHIVE["yarn.nodemanager.admin-env"],
                          f"LD_PRELOAD={library}", f"CLOCKSHIFT_FILE={offset}"])
    with MiniCluster(nodemanagers=1, config={"yarn.nodemanager.admin-env": admin_env}) as mc:
        yield mc, offset


def test_a_step_of_the_wall_clock_does_not_end_an_attached_application(stepped_clock_cluster):
    """The lease counts on the monotonic clock: the AM's wall clock jumping 5 minutes ahead
    (its client alive and renewing) ends nothing. On the wall clock it ended the
    application within a second (a CI run on a VM restored mid-run did)."""
    mc, offset = stepped_clock_cluster
    with Knit(mc.conf_dir) as k:
        k.start("sleep 600", num_containers=1, memory=256)
        wait_for(lambda: [c["state"] for c in k.get_containers()] == ["RUNNING"], 60,
                 "the first container to run")
        offset.write_text("300\n")
        time.sleep(3)  # the shift is read again each second; the lease watch looks as often
        status = k.status()
        assert status["state"] == "RUNNING", status["diagnostics"]
        # The step reached the AM: the container it is granted now is stamped 5 minutes ahead.
        k.add_containers(1)
        wait_for(lambda: len([c for c in k.get_containers() if c["state"] == "RUNNING"]) == 2, 60,
                 "a second container")
        newest = max(c["allocated_at"] for c in k.get_containers())
        assert newest / 1000 > time.time() + 200, "the step did not reach the AM"
