"""Applications end with the Python process that started them, unless detached."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import requests

from helpers import wait_for

SCRIPT = textwrap.dedent("""
    import sys, time
    from knit import Knit
    k = Knit(sys.argv[1])
    print(k.start("sleep 600", num_containers=1, memory=256,
                  detached=sys.argv[2] == "detached"), flush=True)
    if sys.argv[3] == "linger":
        time.sleep(600)
""")


def app_state(minicluster, app_id: str) -> str:
    url = f"{minicluster.resourcemanager_web}/ws/v1/cluster/apps/{app_id}"
    return requests.get(url, timeout=10).json()["app"]["state"]


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
        from knit import Knit
        k = Knit(minicluster.conf_dir)
        k.app_id = app_id  # adopt it to clean up
        k.kill()
    assert app_state(minicluster, app_id) == "KILLED"


def children_of(pid: int) -> list[int]:
    from pathlib import Path
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_lease_ends_the_application_when_python_and_its_jvm_die_unless_detached(minicluster):
    """kill -9 of Python *and* its client JVM (nothing on this machine can clean up): the
    AM stops hearing from its client and ends the application; a detached one stays."""
    import os
    import time
    import glob
    import shutil
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
        assert time.monotonic() - killed_at >= 20  # the lease, not the client, ended it
        url = f"{minicluster.resourcemanager_web}/ws/v1/cluster/apps/{attached_id}"
        assert "lease" in requests.get(url, timeout=10).json()["app"]["diagnostics"]
        assert app_state(minicluster, detached_id) == "RUNNING"
    finally:
        from knit import Knit
        k = Knit(minicluster.conf_dir)
        for app_id in (attached_id, detached_id):
            k.app_id = app_id
            k.kill()
        # The killed client JVMs could not remove their log dirs.
        for d in set(glob.glob("/tmp/knit-client-*")) - log_dirs_before:
            shutil.rmtree(d, ignore_errors=True)
