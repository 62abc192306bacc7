"""Nothing left: however an application ends, its staging dir (``~/.knit/<app id>``, which
holds its gateway's secrets) leaves HDFS, within seconds or at the user's next start, and
``knit clean`` removes what older runs left.

Every way of ending runs side by side, each from its own client process on the shared
cluster; the seconds from each end to its dir gone are printed (docs/failures.md quotes
them).
"""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import requests

from helpers import app_state, children_of, hdfs_status, pid_alive, wait_for
from knit import ClusterClient, Knit
from knit._procfs import am_jvm_pid

DONE = ("FINISHED", "FAILED", "KILLED")

# A client process: starts an application (no containers: it runs until ended, and takes
# only its AM's slot), prints its id and staging dir, then ends as `way` says.
CLIENT = textwrap.dedent("""
    import signal, sys, time
    from urllib.parse import urlparse
    from knit import ClusterClient
    conf, way = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, whatever the parent
    app = ClusterClient(conf).start("sleep 600", num_containers=0, keep_alive=True, am_attempts=1,
                                    detached=way in ("yarn-kill", "left-by-dead-am"),
                                    start_timeout=170)
    print(app.app_id, urlparse(app._staging.dir).path, flush=True)
    if way in ("exit", "exception", "next-start"):
        sys.stdin.readline()  # once the test has seen the dir
    if way == "exception":
        raise RuntimeError("the script fails after start()")
    if way in ("sigterm", "sigint", "sigkill", "am-dies", "lease"):
        time.sleep(600)
    if way == "next-start":
        app.kill()
""")

# The lease's first, as it holds its AM's slot longest (the cluster runs 4 AMs at once).
WAYS = ["lease", "am-dies", "left-by-dead-am", "sigkill", "sigterm", "sigint", "exit",
        "exception", "yarn-kill"]


class Client:
    """A client process of `way`, and what it started."""

    def __init__(self, mc, way: str) -> None:
        self.way = way
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-c", CLIENT, mc.conf_dir, way],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        self.app_id = self.staging = None
        self.jvm_log_dir = None
        self.next: Client | None = None  # the next start, for a dir no process removed
        self.launched = time.monotonic()
        self.start_seconds = float("nan")  # from launch to start() returned

    def started(self) -> None:
        line = self.proc.stdout.readline().split()
        if len(line) != 2:
            self.err.seek(0)
            raise AssertionError(f"{self.way}: the client did not start its application: "
                                 f"{self.err.read().decode(errors='replace')[-3000:]}")
        self.app_id, self.staging = line
        self.start_seconds = time.monotonic() - self.launched

    def jvms(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop_everything(self) -> None:
        """SIGKILL the client and its JVM, stopped or not; remove the log dir the JVM had no
        chance to."""
        jvms = self.jvms()
        for pid in [*jvms, self.proc.pid]:
            if pid in jvms:
                try:  # the JVM's log dir is its last argument
                    self.jvm_log_dir = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2].decode()
                except (OSError, IndexError):
                    pass
            try:
                os.kill(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.err):
            if stream is not None and not stream.closed:
                stream.close()
        if self.jvm_log_dir and self.jvm_log_dir.startswith(tempfile.gettempdir() + "/knit-client-"):
            wait_for(lambda: not any(pid_alive(p) for p in jvms), 30, "the JVM to die")
            shutil.rmtree(self.jvm_log_dir, ignore_errors=True)


def gone_within(mc, client: Client, timeout: float, since: float) -> float:
    """Seconds from `since` until the client's staging dir is gone (fails after `timeout`)."""
    wait_for(lambda: hdfs_status(mc, client.staging) is None, timeout,
             f"the staging dir of {client.app_id} ({client.way}) to go", interval=0.2,
             explain=lambda: f"{client.app_id} is {app_state(mc, client.app_id)}")
    return time.monotonic() - since


def end(mc, client: Client, all_started: threading.Semaphore) -> tuple[str, float]:
    """Ends the client's application its way; returns who removes the dir and how long it
    took from the end."""
    client.started()
    all_started.release()
    assert hdfs_status(mc, client.staging) is not None
    way, proc = client.way, client.proc
    if way in ("exit", "exception"):
        proc.stdin.close()
        ended = time.monotonic()
        assert proc.wait(timeout=120) == (0 if way == "exit" else 1)
        return "client JVM (Python exited)", gone_within(mc, client, 60, ended)
    if way in ("sigterm", "sigint", "sigkill"):
        ended = time.monotonic()
        proc.send_signal({"sigterm": signal.SIGTERM, "sigint": signal.SIGINT,
                          "sigkill": signal.SIGKILL}[way])
        return "client JVM (Python gone)", gone_within(mc, client, 60, ended)
    if way == "yarn-kill":
        assert proc.wait(timeout=120) == 0  # detached: the client is gone
        run = mc.run_hadoop_class("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                                  "application", "-kill", client.app_id)
        assert run.returncode == 0, run.stderr[-2000:]
        # From YARN's word that it is KILLED (the command waits for it).
        return "AM (as YARN kills it)", gone_within(mc, client, 30, time.monotonic())
    if way == "am-dies":
        ended = time.monotonic()
        os.kill(am_jvm_pid(mc.work_dir, client.app_id), signal.SIGKILL)
        return "client (lease thread)", gone_within(mc, client, 60, ended)
    if way == "lease":
        for pid in [proc.pid, *client.jvms()]:
            os.kill(pid, signal.SIGSTOP)
        ended = time.monotonic()
        took = gone_within(mc, client, 90, ended)
        assert app_state(mc, client.app_id) in DONE
        assert took >= 20, f"gone {took:.1f} s after the client stopped: not the lease"
        return "AM (lease expired)", took
    if way == "left-by-dead-am":
        assert proc.wait(timeout=120) == 0
        # Each client sweeps as it submits (once: a client JVM sweeps a cluster at most once
        # a minute): the dir this AM's death leaves is for the next start's sweep, not
        # theirs. The others' starts have returned, their sweeps are over.
        for _ in WAYS:
            assert all_started.acquire(timeout=240), "the other clients to start"
        os.kill(am_jvm_pid(mc.work_dir, client.app_id), signal.SIGKILL)
        wait_for(lambda: app_state(mc, client.app_id) == "FAILED", 60, f"{client.app_id} to fail")
        assert hdfs_status(mc, client.staging) is not None  # nobody left to remove it
        # It goes at this user's next start, in the background, without calling clean.
        nxt = Client(mc, "next-start")
        client.next = nxt
        nxt.started()
        took = gone_within(mc, client, 60, nxt.launched)
        nxt.proc.stdin.close()
        assert nxt.proc.wait(timeout=120) == 0
        assert hdfs_status(mc, nxt.staging) is None
        return f"next start's sweep (its start() took {nxt.start_seconds:.1f})", took
    raise AssertionError(way)


def test_however_an_application_ends_its_staging_dir_goes(minicluster):
    mc = minicluster
    clients = [Client(mc, way) for way in WAYS]
    results: dict[str, tuple[str, float]] = {}
    began = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
            all_started = threading.Semaphore(0)  # released once by each start
            futures = {c.way: pool.submit(end, mc, c, all_started) for c in clients}
            for way, f in futures.items():
                results[way] = f.result(timeout=300)
        took_all = time.monotonic() - began
        for c in clients:
            assert app_state(mc, c.app_id) in DONE, c.way
    finally:
        clients += [c.next for c in clients if c.next is not None]
        for c in clients:
            c.stop_everything()
        k = Knit(mc.conf_dir)
        for c in clients:
            if c.app_id and app_state(mc, c.app_id) not in DONE:
                k.app_id = c.app_id
                k.kill()
    print(f"\nstaging dir gone, seconds after the end (start: client launch to start() "
          f"returned; all launched at once, {took_all:.0f} s in all):")
    for c in clients[:len(WAYS)]:
        who, took = results[c.way]
        print(f"  {c.way:16} {took:6.1f}  by the {who}; start {c.start_seconds:.1f}")


def mkdir(mc, path: str, modified_ms: int | None = None) -> None:
    user = path.split("/")[2]
    r = requests.put(f"{mc.webhdfs_url}{path}", params={"op": "MKDIRS", "user.name": user},
                     timeout=10)
    r.raise_for_status()
    if modified_ms is not None:
        requests.put(f"{mc.webhdfs_url}{path}", params={
            "op": "SETTIMES", "modificationtime": modified_ms, "user.name": user},
            timeout=10).raise_for_status()


def test_knit_clean_removes_what_ended_applications_left_and_keeps_a_running_ones(minicluster):
    mc = minicluster
    cluster = ClusterClient(mc.conf_dir)
    started_on = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/info",
                              timeout=10).json()["clusterInfo"]["startedOn"]
    # The running one first: a start sweeps (in the background), and must find nothing yet.
    running = cluster.start("sleep 600", num_containers=0, keep_alive=True, detached=True)
    left = cluster.start("sleep 600", num_containers=0, keep_alive=True, detached=True, am_attempts=1)
    fakes = []
    try:
        assert running.app_id.startswith(f"application_{started_on}_")  # the RM's timestamp
        os.kill(am_jvm_pid(mc.work_dir, left.app_id), signal.SIGKILL)
        wait_for(lambda: app_state(mc, left.app_id) == "FAILED", 60, f"{left.app_id} to fail")
        home = f"/user/{cluster.user}/.knit"
        staged = {a.app_id: f"{home}/{a.app_id}" for a in (running, left)}
        assert hdfs_status(mc, staged[left.app_id]) is not None
        two_hours_ago = int(time.time() * 1000) - 2 * 3600 * 1000
        # Unknown to the RM: gone when its id is this RM's and its dir an hour old; an id
        # of another RM, a fresh dir (a submission on its way) and other content stay.
        forgotten = f"{home}/application_{started_on}_99999"
        submitting = f"{home}/application_{started_on}_99998"
        elsewhere = f"{home}/application_{started_on - 1000}_0001"
        other = f"{home}/not-an-application"
        fakes = [forgotten, submitting, elsewhere, other]
        for path in fakes:
            mkdir(mc, path, None if path == submitting else two_hours_ago)
        before = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "knit", "clean", "--hadoop-conf-dir",
                              mc.conf_dir], capture_output=True, text=True, timeout=120)
        cli_seconds = time.monotonic() - before
        assert run.returncode == 0, run.stderr[-3000:]
        lines = {line.split()[0]: line.split()[1] for line in run.stdout.splitlines()[1:]}
        assert lines[left.app_id] == "FAILED", run.stdout
        assert lines["application_%s_99999" % started_on] == "UNKNOWN", run.stdout
        assert running.app_id not in lines
        assert hdfs_status(mc, staged[left.app_id]) is None
        assert hdfs_status(mc, forgotten) is None
        for path in (staged[running.app_id], submitting, elsewhere, other):
            assert hdfs_status(mc, path) is not None, path
        assert running.status().state == "RUNNING"
        # Again, in this process (its JVM warm): the sweep alone.
        before = time.monotonic()
        assert cluster.clean() == []
        sweep_seconds = time.monotonic() - before
        print(f"\nknit clean: {cli_seconds:.2f} s (a new process and JVM); ClusterClient.clean() "
              f"with nothing to remove: {sweep_seconds:.3f} s")
    finally:
        running.kill()
        left.kill()
        for path in fakes:
            requests.delete(f"{mc.webhdfs_url}{path}", params={
                "op": "DELETE", "user.name": cluster.user}, timeout=10)


def safemode(mc, action: str) -> None:
    run = mc.run_hadoop_class("org.apache.hadoop.hdfs.tools.DFSAdmin", "-safemode", action)
    assert run.returncode == 0 and "Safe mode is " in run.stdout, run.stdout + run.stderr[-2000:]


def am_log(mc, app_id: str) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(mc.work_dir).glob(
        f"**/{app_id}/container_*_000001/stderr"))


def test_safe_mode_delays_the_staging_dirs_removal_and_the_target_record_not_the_end(minicluster):
    """HDFS in safe mode (a NameNode restarting): the AM's record of the containers asked
    for waits for it to end rather than being dropped; kill() ends the application without
    an error, and its staging dir goes once HDFS leaves safe mode."""
    mc = minicluster
    cluster = ClusterClient(mc.conf_dir)
    app = cluster.start("sleep 600", num_containers=0, keep_alive=True, memory=256)
    staging = f"/user/{cluster.user}/.knit/{app.app_id}"
    target = f"{staging}/target"
    in_safe_mode = False
    try:
        safemode(mc, "enter")
        in_safe_mode = True
        app.add_containers(1)
        # The AM tried to record the new count (and waits, or gave up: before the fix).
        wait_for(lambda: any(said in am_log(mc, app.app_id) for said in (
            "HDFS is in safe mode: the target of", "Cannot record the target of")), 60,
            "the AM to find HDFS in safe mode")
        safemode(mc, "leave")
        in_safe_mode = False

        def recorded() -> str:
            r = requests.get(f"{mc.webhdfs_url}{target}",
                             params={"op": "OPEN", "user.name": cluster.user}, timeout=10)
            return r.text if r.status_code == 200 else ""
        assert wait_for(recorded, 30, "the target record") == "main=1\n"

        safemode(mc, "enter")
        in_safe_mode = True
        app.kill()  # no SafeModeException: the application has ended
        assert app.status().state in DONE
        assert hdfs_status(mc, staging) is not None  # HDFS refused: it waits
        safemode(mc, "leave")
        in_safe_mode = False
        left = time.monotonic()
        wait_for(lambda: hdfs_status(mc, staging) is None, 30, "the staging dir to go after safe mode")
        print(f"\nstaging dir gone {time.monotonic() - left:.1f} s after HDFS left safe mode")
    finally:
        if in_safe_mode:
            safemode(mc, "leave")
        app.kill()
