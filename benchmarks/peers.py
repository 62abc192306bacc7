"""knit against its peers on one embedded cluster: Hadoop DistributedShell, skein, dask-yarn.

One command builds the peers' venvs (peers_lib/setup_peers.py), starts a MiniCluster
(Hadoop 3.5.0, 2 NodeManagers of 32768 MB, YARN's defaults) and measures, median of --runs
runs, the tools taking turns run by run (run 1: knit, DistributedShell, skein; run 2: ...):

A  call -> N containers running `sleep 60` (256 MB asked; YARN rounds up to 1024 MB):
   knit ``Knit(conf).start("sleep 60", num_containers=N, memory=256)``; Hadoop
   DistributedShell 3.4.2's client (the newest on Maven Central; 3.5.0 is not there);
   skein 0.8.2 ``client.submit()`` of one service of N instances.
B  call -> N Dask workers connected: ``knit.dask.YarnCluster(n_workers=N, worker_memory=
   "512 MiB", progress=False)``; dask-yarn 0.9 ``YarnCluster(deploy_mode="local",
   environment="python://<its venv python>")``; skein-dask: a `dask scheduler` plus a skein
   service of N ``python -m distributed.cli.dask_worker <address>`` (dask-yarn venv python).
C  client start-up in fresh processes, to the first answered ResourceManager call (a list
   of applications): ``import knit; ClusterClient(conf).applications()`` (knit's client JVM)
   vs ``import skein; skein.Client().get_applications()`` (skein's Java driver).
D  peak RSS (VmHWM) of each tool's ApplicationMaster JVM with 20 containers running (taken
   during A's N = 20 runs).

A and B run twice: with Hadoop 3.5.0's default asynchronous scheduling ("async"), then on a
second cluster with ``yarn.scheduler.capacity.schedule-asynchronously.enable=false``
("sync"). C runs once, on the first cluster.

Timestamps: start = time.time() just before the call, in the process making it (peer
children report theirs). End of A = the kernel's start time of the N-th earliest `sleep`
process in the app's containers (/proc/<pid>/stat starttime); end of B = the N-th
"add-worker" event in the Dask scheduler's own event log. Polling only tells when to look.

Writes benchmarks/results/peers.json, docs/benchmarks.md and docs/img/peers_*.png.
``--quick`` (CI smoke test): knit only, N = 1, one run, async only, to
benchmarks/results/peers_quick.json, no docs, no peer venvs.

Run: /path/to/knit/.venv/bin/python benchmarks/peers.py [--quick] [--runs 3]
     [--sizes-a 1 5 20 50] [--sizes-b 1 5 20] [--tools knit skein ...] [--modes async sync]
     [--measure A B C D] [--docs-only]
"""
from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

import requests

from peers_lib import procs, report, source
from peers_lib.children import Child, PeerError, kill_pid, pid_alive

import knit
from knit import Knit, MiniCluster, java
from knit._hadoop_tools import DSHELL_CLIENT, distributedshell_args, distributedshell_jar
from knit.client_jvm import get_client

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIB = HERE / "peers_lib"
RESULTS = HERE / "results"

TOOLS_A = ("knit", "distributedshell", "skein")
TOOLS_B = ("knit", "dask-yarn", "dask-yarn-worker", "skein-dask")
TOOLS_C = ("knit", "skein")
ALL_TOOLS = ("knit", "distributedshell", "skein", "dask-yarn", "dask-yarn-worker", "skein-dask")
MODES = {"async": None,
         "sync": {"yarn.scheduler.capacity.schedule-asynchronously.enable": "false"}}
MODE_TEXT = {"async": "asynchronous scheduling (Hadoop 3.5.0 default)",
             "sync": "synchronous, heartbeat-driven scheduling "
                     "(schedule-asynchronously.enable=false)"}
NODEMANAGERS = 2
NODEMANAGER_MB = 32768  # 50 containers of 1024 MB (YARN's minimum allocation) + AMs
CONTAINER_MB = 256
WORKER_MEMORY = "512 MiB"
WORKER_MB = 512
D_CONTAINERS = 20
COLD = (("A", 20), ("A", 50), ("B", 5))  # (measurement, N) of the cold runs
AM_SETTLE_S = 3.0  # containers running this long before reading the AM's VmHWM
RUN_TIMEOUT = 300.0
DS_JAR_NOTE = ("Hadoop DistributedShell 3.5.0 is not published on Maven Central; the client "
               "and ApplicationMaster are DistributedShell 3.4.2 (what knit's build resolves), "
               "run against the Hadoop 3.5.0 cluster")


def log(msg: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- ResourceManager REST
def rm_get(mc: MiniCluster, path: str) -> dict:
    return requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster{path}", timeout=10).json()


def rm_get_or_none(mc: MiniCluster, path: str) -> dict | None:
    """rm_get, or None when the ResourceManager (busy with 1,000 containers on 2 cores)
    does not answer within 10 s: callers that poll ask again."""
    try:
        return rm_get(mc, path)
    except requests.RequestException:
        return None


def kill_app(mc: MiniCluster, app_id: str) -> None:
    """Kill ``app_id`` through the RM REST API unless it has finished."""
    state = rm_get(mc, f"/apps/{app_id}")["app"]["state"]
    if state not in ("FINISHED", "FAILED", "KILLED"):
        requests.put(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id}/state",
                     params={"user.name": getpass.getuser()}, json={"state": "KILLED"},
                     timeout=10)


def live_apps(mc: MiniCluster) -> list[dict]:
    states = "NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"
    return (rm_get(mc, f"/apps?states={states}").get("apps") or {}).get("app") or []


def kill_all_apps(mc: MiniCluster) -> list[str]:
    """Every application still alive on this benchmark's own cluster: kill it."""
    ids = [a["id"] for a in live_apps(mc)]
    for app_id in ids:
        try:
            kill_app(mc, app_id)
        except Exception as e:  # noqa: BLE001 - clean-up goes on
            log(f"could not kill {app_id}: {e}")
    return ids


def wait_idle(mc: MiniCluster, timeout: float = 120) -> None:
    """Until no container runs on any NodeManager (each run starts on an empty cluster);
    after ``timeout`` kill whatever is alive and wait once more."""
    for attempt in range(2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(n["numContainers"] for n in rm_get(mc, "/nodes")["nodes"]["node"]):
                return
            time.sleep(0.2)
        log(f"cluster not idle after {timeout:.0f} s; killing {kill_all_apps(mc)}")
    raise RuntimeError("cluster still busy after killing every application")


def app_id_by_name(mc: MiniCluster, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        apps = ((rm_get_or_none(mc, "/apps") or {}).get("apps") or {}).get("app") or []
        match = [a["id"] for a in apps if a["name"] == name]
        if match:
            return match[0]
        time.sleep(0.2)
    raise TimeoutError(f"no application named {name} after {timeout:.0f} s")


# ---------------------------------------------------------------- A: sleeping containers
def wait_sleepers(mc: MiniCluster, app_id: str, n: int, boot: float,
                  timeout: float = RUN_TIMEOUT) -> list[float]:
    """Kernel start times (epoch) of the app's first n `sleep` processes, sorted. Polls
    /proc every 0.2 s only to know when n exist; the times are the kernel's."""
    seen: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.command_starts(mc.work_dir, app_id, ["sleep", "60"], boot, seen)
        if len(seen) >= n:
            return sorted(seen.values())[:n]
        state = rm_get(mc, f"/apps/{app_id}")["app"]["state"]
        if state in ("FINISHED", "FAILED", "KILLED"):
            raise RuntimeError(f"{app_id} ended ({state}) with {len(seen)}/{n} sleepers seen")
        time.sleep(0.2)
    raise TimeoutError(f"{app_id}: {len(seen)}/{n} `sleep 60` processes after {timeout:.0f} s")


def a_record(mc: MiniCluster, app_id: str, n: int, t0: float, boot: float,
             measure_am: bool) -> dict:
    """Wait for the n sleepers; the run's record, with the AM's memory if asked."""
    starts = wait_sleepers(mc, app_id, n, boot)
    rec = {"app_id": app_id, "t0": t0, "seconds": starts[-1] - t0,
           "first_s": starts[0] - t0, "starts_s": [round(s - t0, 3) for s in starts]}
    if measure_am:
        time.sleep(AM_SETTLE_S)
        rec["am"] = procs.am_memory(mc.work_dir, app_id)
    return rec


def a_knit(ctx: "Context", n: int, measure_am: bool) -> dict:
    k = Knit(ctx.mc.conf_dir)
    t0 = time.time()
    try:
        k.start("sleep 60", num_containers=n, memory=CONTAINER_MB,
                app_name=f"bench-knit-{uuid.uuid4().hex[:8]}")
        return a_record(ctx.mc, k.app_id, n, t0, ctx.boot, measure_am)
    finally:
        k.kill()


def a_distributedshell(ctx: "Context", n: int, measure_am: bool) -> dict:
    name = f"bench-dshell-{uuid.uuid4().hex[:8]}"
    cmd, env = ctx.mc.hadoop_command(DSHELL_CLIENT, *distributedshell_args(
        "sleep 60", n, name, container_memory_mb=CONTAINER_MB))
    app_id = None
    with open(ctx.logs / "distributedshell-client.log", "a") as out:
        t0 = time.time()
        client = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            app_id = app_id_by_name(ctx.mc, name)
            return a_record(ctx.mc, app_id, n, t0, ctx.boot, measure_am)
        finally:
            client.kill()
            client.wait()
            if app_id is not None:
                kill_app(ctx.mc, app_id)


def a_skein(ctx: "Context", n: int, measure_am: bool) -> dict:
    child = ctx.child("skein")
    child.send(cmd="sleep", n=n, memory=CONTAINER_MB, name=f"bench-skein-{uuid.uuid4().hex[:8]}")
    sub = child.expect({"submitted"}, 120)
    try:
        rec = a_record(ctx.mc, sub["app_id"], n, sub["t0"], ctx.boot, measure_am)
        rec["submit_s"] = sub["submit_s"]
        return rec
    finally:
        child.send(cmd="kill", app_id=sub["app_id"])
        try:
            child.expect({"killed"}, 60)
        finally:
            kill_app(ctx.mc, sub["app_id"])


# ---------------------------------------------------------------- B: Dask workers
def add_worker_record(t0: float, adds: list[float], n: int, polled: float) -> dict:
    """The run's record from the scheduler's add-worker timestamps."""
    if len(adds) >= n:
        return {"t0": t0, "seconds": adds[n - 1] - t0, "source": "scheduler add-worker event",
                "add_worker_s": [round(a - t0, 3) for a in adds], "polled_s": polled - t0}
    return {"t0": t0, "seconds": polled - t0, "polled_s": polled - t0,
            "source": f"client polling (only {len(adds)} add-worker events)"}


def b_knit(ctx: "Context", n: int) -> dict:
    from distributed import Client

    from knit.dask import YarnCluster
    t0 = time.time()
    cluster = YarnCluster(n_workers=n, worker_memory=WORKER_MEMORY,
                          hadoop_conf_dir=ctx.mc.conf_dir, progress=False)
    returned = time.time()
    try:
        with Client(cluster) as client:
            client.wait_for_workers(n, timeout=RUN_TIMEOUT)
            polled = time.time()
            adds = sorted(ts for ts, msg in client.get_events("all")
                          if isinstance(msg, dict) and msg.get("action") == "add-worker")
        rec = add_worker_record(t0, adds, n, polled)
        rec.update(app_id=cluster.application_id, returned_s=returned - t0)
        return rec
    finally:
        cluster.close()


def b_peer(ctx: "Context", n: int, **cmd) -> dict:
    child = ctx.child("dask")
    child.send(n=n, timeout=RUN_TIMEOUT, **cmd)
    seen: list = []
    try:
        res = child.expect({"result"}, RUN_TIMEOUT + 120, seen)
    finally:
        for msg in seen:  # whatever happened, nothing of it keeps running
            if msg.get("app_id"):
                kill_app(ctx.mc, msg["app_id"])
    rec = add_worker_record(res["t0"], res["add_worker"], n, res["polled"])
    rec["app_id"] = res.get("app_id")
    if "returned" in res:
        rec["returned_s"] = res["returned"] - res["t0"]
    return rec


def b_dask_yarn(ctx: "Context", n: int) -> dict:
    return b_peer(ctx, n, cmd="dask_yarn", environment=ctx.setup["dask_yarn"]["environment"],
                  memory=WORKER_MEMORY)


def b_dask_yarn_worker(ctx: "Context", n: int) -> dict:
    """dask-yarn with ``worker_class="dask.distributed.Worker"``: no Nanny, as knit's workers
    (still its CLI and dask_spec processes per container)."""
    return b_peer(ctx, n, cmd="dask_yarn", environment=ctx.setup["dask_yarn"]["environment"],
                  memory=WORKER_MEMORY, worker_class="dask.distributed.Worker")


def b_skein_dask(ctx: "Context", n: int) -> dict:
    return b_peer(ctx, n, cmd="skein_dask", python=ctx.setup["dask_yarn"]["python"],
                  memory=WORKER_MB)


# ---------------------------------------------------------------- C: client start-up
# Both clocks stop at the first answer from the ResourceManager (a list of applications),
# so both sides include creating their YARN client and one round trip; "ready_s" is
# where each client says it is up (knit: gateway; skein: driver), kept for reference.
KNIT_STARTUP = """\
import json, os, time
t0 = time.perf_counter()
import knit
t_import = time.perf_counter() - t0
from knit.client_jvm import get_client
c = get_client()
t_ready = time.perf_counter() - t0
knit.ClusterClient(os.environ["HADOOP_CONF_DIR"]).applications()
print(json.dumps({"import_s": t_import, "ready_s": t_ready,
                  "first_rm_s": time.perf_counter() - t0, "jvm_pid": c.proc.pid}), flush=True)
"""
SKEIN_STARTUP = """\
import json, time
t0 = time.perf_counter()
import skein
t_import = time.perf_counter() - t0
c = skein.Client()
t_ready = time.perf_counter() - t0
c.get_applications()
print(json.dumps({"import_s": t_import, "ready_s": t_ready,
                  "first_rm_s": time.perf_counter() - t0,
                  "jvm_pid": c._proc.pid if c._proc is not None else None}), flush=True)
c.close()
"""


def c_run(python: str, code: str, env: dict | None) -> dict:
    """One fresh process: import + client ready (measured inside it) and its wall time."""
    begun = time.monotonic()
    done = subprocess.run([python, "-c", code], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    wall = time.monotonic() - begun
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise PeerError(f"exit {done.returncode}: {done.stderr[-2000:]}")
    rec = json.loads(lines[-1])
    time.sleep(0.3)
    rec["jvm_left_killed"] = kill_pid(rec.get("jvm_pid"))
    rec.update(seconds=rec["first_rm_s"], process_wall_s=wall)
    return rec


def c_knit(ctx: "Context") -> dict:
    return c_run(sys.executable, KNIT_STARTUP, dict(os.environ, HADOOP_CONF_DIR=ctx.mc.conf_dir))


def c_skein(ctx: "Context") -> dict:
    return c_run(ctx.setup["skein"]["python"], SKEIN_STARTUP, ctx.peer_env)


# ---------------------------------------------------------------- one cluster's worth
class Context:
    """What the runs of one scheduling mode share: the cluster, peer children, paths."""

    def __init__(self, mc: MiniCluster, setup: dict, logs: Path) -> None:
        from peers_lib import setup_peers
        self.mc = mc
        self.setup = setup
        self.logs = logs
        self.boot = procs.boot_epoch()
        self.children: dict[str, Child] = {}
        self.killed_pids: list[int] = []
        self.peer_env = (setup_peers.peer_env(mc.conf_dir, setup["yarn_shim"]["dir"])
                         if "yarn_shim" in setup else None)

    def child(self, kind: str) -> Child:
        """The live skein (skein venv) or dask (dask-yarn venv) child, (re)started."""
        current = self.children.get(kind)
        if current is not None and current.proc.poll() is None:
            return current
        if current is not None:
            self.killed_pids += current.close()
        python = self.setup["skein" if kind == "skein" else "dask_yarn"]["python"]
        script = LIB / f"_bench_{kind}.py"
        log(f"starting the {kind} child ({python})")
        self.children[kind] = Child(kind, [python, str(script)], self.peer_env,
                                    self.logs / f"{kind}-child.log", tempfile.gettempdir())
        return self.children[kind]

    def prepare(self, tool: str) -> None:
        """Starts the tool's child (and its skein.Client) now, not in a timed run."""
        if tool in CHILD_OF:
            self.child(CHILD_OF[tool])

    def drop_child(self, kind: str) -> None:
        """After a failed command its state is unknown: end it; the next run starts anew."""
        child = self.children.pop(kind, None)
        if child is not None:
            self.killed_pids += child.close()

    def close(self) -> None:
        for kind in list(self.children):
            self.drop_child(kind)


A_RUNNERS = {"knit": a_knit, "distributedshell": a_distributedshell, "skein": a_skein}
B_RUNNERS = {"knit": b_knit, "dask-yarn": b_dask_yarn, "dask-yarn-worker": b_dask_yarn_worker,
             "skein-dask": b_skein_dask}
C_RUNNERS = {"knit": c_knit, "skein": c_skein}
CHILD_OF = {"skein": "skein", "dask-yarn": "dask", "dask-yarn-worker": "dask", "skein-dask": "dask"}


def guarded(ctx: Context, measurement: str, tool: str, n: int | None, run: int,
            fn, unavailable: dict) -> dict:
    """Run one measurement; an error becomes the record's "error", never a lost row."""
    rec = {"measurement": measurement, "tool": tool, "n": n, "run": run}
    if tool in unavailable:
        rec["error"] = f"not run: {unavailable[tool]}"
        return rec
    try:
        rec.update(fn())
        extra = f", AM VmHWM {rec['am']['vm_hwm_bytes'] / 2**20:.0f} MiB" if "am" in rec else ""
        log(f"{measurement} {tool:<16} N={n} run {run}: {rec['seconds']:.2f} s{extra}")
    except Exception as e:  # noqa: BLE001 - recorded; the benchmark goes on
        rec["error"] = f"{type(e).__name__}: {e}"[-3000:]
        rec["traceback"] = traceback.format_exc()[-3000:]
        log(f"{measurement} {tool} N={n} run {run}: FAILED {rec['error'][:300]}")
        if tool in CHILD_OF:
            ctx.drop_child(CHILD_OF[tool])
        try:
            kill_all_apps(ctx.mc)
        except Exception:  # noqa: BLE001
            pass
    return rec


def warm_up(ctx: Context, args, unavailable: dict, out: dict) -> None:
    """Untimed N = 1 runs of every tool on the fresh cluster (first uploads to HDFS, JIT,
    page cache), recorded under "warmup" and left out of the statistics."""
    out["warmup"] = []
    for _ in range(args.warmup):
        if "A" in args.measure or "D" in args.measure:
            for tool in (t for t in TOOLS_A if t in args.tools):
                wait_idle(ctx.mc)
                out["warmup"].append(guarded(ctx, "A-warmup", tool, 1, 0,
                                             lambda: A_RUNNERS[tool](ctx, 1, False), unavailable))
        if "B" in args.measure:
            for tool in (t for t in TOOLS_B if t in args.tools):
                wait_idle(ctx.mc)
                out["warmup"].append(guarded(ctx, "B-warmup", tool, 1, 0,
                                             lambda: B_RUNNERS[tool](ctx, 1), unavailable))


def rotated(tools: list[str], run: int) -> list[str]:
    """The tools in run `run`'s order (1-based): each round starts one tool later, so that
    no tool always goes first (onto the idlest cluster) or last."""
    k = (run - 1) % len(tools) if tools else 0
    return tools[k:] + tools[:k]


@contextlib.contextmanager
def mode_cluster(mode: str, setup: dict, logs: Path, out: dict, results: dict):
    """A fresh MiniCluster with this scheduling mode and a Context on it; at the end every
    app and peer process of it is killed and what is left is recorded in ``out``."""
    t = time.monotonic()
    mc = MiniCluster(nodemanagers=NODEMANAGERS, nodemanager_memory_mb=NODEMANAGER_MB,
                     config=MODES[mode])
    ctx = None
    try:
        mc.start()
        info = rm_get(mc, "/info")["clusterInfo"]
        out["minicluster"] = {"start_s": time.monotonic() - t, "config": MODES[mode] or {},
                              "hadoop_version": info.get("hadoopVersion"),
                              "resourcemanager_version": info.get("resourceManagerVersion")}
        results["versions"]["hadoop_cluster"] = info.get("hadoopVersion")
        ctx = Context(mc, setup, logs)
        get_client()  # knit's client JVM: started once per process, as in a user's session
        yield ctx
    finally:
        if ctx is not None:
            ctx.close()
            out["peer_pids_killed"] = ctx.killed_pids
        if mc.running:
            out["apps_killed_at_end"] = kill_all_apps(mc)
        work_dir = mc.work_dir
        mc.stop()
        out["leftovers"] = leftover_processes([str(LIB), str(setup.get("root", ""))]
                                              + ([work_dir] if work_dir else []))


def run_mode(mode: str, args, setup: dict, unavailable: dict, logs: Path,
             results: dict) -> None:
    """One MiniCluster with this scheduling mode: A (with D), B, and C if still to do."""
    log(f"mode {mode}: starting a MiniCluster ({MODE_TEXT[mode]})")
    out = results["modes"].setdefault(mode, {"A": [], "B": []})
    try:
        with mode_cluster(mode, setup, logs, out, results) as ctx:
            run_on(ctx, args, unavailable, out, results)
    except Exception as e:  # noqa: BLE001 - e.g. the cluster did not start: recorded
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc()[-3000:]
        log(f"mode {mode} failed: {out['error']}")


def run_on(ctx: Context, args, unavailable: dict, out: dict, results: dict) -> None:
    mc = ctx.mc
    warm_up(ctx, args, unavailable, out)
    d_n = D_CONTAINERS if D_CONTAINERS in args.sizes_a else max(args.sizes_a, default=0)
    if "A" in args.measure or "D" in args.measure:
        tools = [t for t in TOOLS_A if t in args.tools]
        for n in args.sizes_a:
            for run in range(1, args.runs + 1):
                for tool in rotated(tools, run):
                    wait_idle(mc)
                    measure_am = "D" in args.measure and n == d_n
                    rec = guarded(ctx, "A", tool, n, run,
                                  lambda: A_RUNNERS[tool](ctx, n, measure_am), unavailable)
                    rec["am_wanted"] = measure_am
                    out["A"].append(rec)
    if "B" in args.measure:
        tools = [t for t in TOOLS_B if t in args.tools]
        for n in args.sizes_b:
            for run in range(1, args.runs + 1):
                for tool in rotated(tools, run):
                    wait_idle(mc)
                    out["B"].append(guarded(ctx, "B", tool, n, run,
                                            lambda: B_RUNNERS[tool](ctx, n), unavailable))
    if "C" in args.measure and not results["C"]:
        tools = [t for t in TOOLS_C if t in args.tools]
        for run in range(1, args.runs_c + 1):
            for tool in rotated(tools, run):
                results["C"].append(guarded(ctx, "C", tool, None, run,
                                            lambda: C_RUNNERS[tool](ctx), unavailable))


def run_cold(args, setup: dict, unavailable: dict, logs: Path, results: dict) -> None:
    """Each tool's first application on a cluster of its own, nothing cached there (no jar
    or env in HDFS, empty NodeManager caches, cold daemon JVMs): one run per tool and size
    of COLD, in the first scheduling mode. The clients are up before the clock (as in the
    warm runs); their own start is C."""
    mode = args.modes[0]
    runners = {"A": lambda ctx, tool, n: A_RUNNERS[tool](ctx, n, False),
               "B": lambda ctx, tool, n: B_RUNNERS[tool](ctx, n)}
    tools_of = {"A": TOOLS_A, "B": TOOLS_B}
    for measurement, n in COLD:
        if measurement not in args.measure:
            continue
        for tool in (t for t in tools_of[measurement] if t in args.tools):
            out: dict = {"mode": mode}
            try:
                with mode_cluster(mode, setup, logs, out, results) as ctx:
                    ctx.prepare(tool)
                    rec = guarded(ctx, f"{measurement}-cold", tool, n, 1,
                                  lambda: runners[measurement](ctx, tool, n), unavailable)
            except Exception as e:  # noqa: BLE001 - recorded; the benchmark goes on
                rec = {"tool": tool, "n": n, "run": 1,
                       "error": f"cluster: {type(e).__name__}: {e}"[-3000:]}
            rec.update(measurement=measurement, cluster=out)
            results["cold"].append(rec)


def leftover_processes(markers: list[str]) -> list[str]:
    """`pid command` of live processes whose command line mentions one of ``markers``."""
    markers = [m for m in markers if m]
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmd for m in markers) and pid_alive(int(d.name)):
            found.append(f"{d.name} {cmd[:200]}")
    return found


# ---------------------------------------------------------------- floors
FLOOR_SIZES = (1, 5, 20)
WORKER_IMPORT = "import distributed.cli.dask_worker"


def worker_import_floor(python: str, runs: int = 3) -> dict:
    """Seconds for N processes importing what a Dask worker imports, all at once, on this
    machine (no cluster running): every tool's N workers do at least this much work on
    these cores. Median of `runs` per N."""
    out = {}
    for n in FLOOR_SIZES:
        times = []
        for _ in range(runs):
            t0 = time.monotonic()
            ps = [subprocess.Popen([python, "-c", WORKER_IMPORT]) for _ in range(n)]
            if any(p.wait() != 0 for p in ps):
                raise RuntimeError(f"{python} -c {WORKER_IMPORT!r} failed")
            times.append(time.monotonic() - t0)
        out[str(n)] = statistics.median(times)
    return out


def measure_floors(setup: dict) -> dict:
    """The import floor with knit's venv and, where built, dask-yarn's (skein + dask worker
    runs that venv's python too)."""
    floors = {"knit_venv": worker_import_floor(sys.executable)}
    if "dask_yarn" in setup:
        floors["dask_yarn_venv"] = worker_import_floor(setup["dask_yarn"]["python"])
    return floors


# ---------------------------------------------------------------- setup, versions
def setup_peer_venvs(tools: list[str], logs: Path) -> tuple[dict, dict]:
    """Build what the chosen peers need; returns (setup, {tool: reason it cannot run})."""
    from peers_lib import setup_peers
    setup: dict = {"root": str(setup_peers.ROOT)}
    unavailable: dict = {}
    needs = {"skein": ["skein"], "dask_yarn": ["dask-yarn", "dask-yarn-worker", "skein-dask"]}
    wanted = [k for k, ts in needs.items() if any(t in tools for t in ts)]
    if not wanted:
        return setup, unavailable
    try:
        setup["yarn_shim"] = setup_peers.make_yarn_shim()
        setup["java_home"] = setup_peers.find_java_home()
    except Exception as e:  # noqa: BLE001
        for k in wanted:
            for t in needs[k]:
                unavailable[t] = f"yarn shim: {type(e).__name__}: {e}"
        return setup, unavailable
    for key, fn in (("skein", setup_peers.setup_skein), ("dask_yarn", setup_peers.setup_dask_yarn)):
        if key not in wanted:
            continue
        try:
            setup[key] = fn()
        except Exception as e:  # noqa: BLE001 - the rows stay, with the reason
            for t in needs[key]:
                unavailable[t] = f"venv setup failed: {type(e).__name__}: {e}"
            log(f"{key} venv: {e}")
    return setup, unavailable


def _relative(path: Path) -> str:
    """A path as the results record it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO)) or "."
    except ValueError:
        return str(path)


def git_sha(path: Path) -> dict:
    return {"path": _relative(path), **source.git_commit(path)}


def machine_facts() -> dict:
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal:")), "0")
    model = next((ln.split(":", 1)[1].strip() for ln in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor())
    java_exe, java_home = java.find_java()
    jv = subprocess.run([java_exe, "-version"], capture_output=True, text=True).stderr
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": int(mem) / 2**20,
            "kernel": platform.release(), "os": platform.platform(),
            "python": platform.python_version(), "java": jv.strip().splitlines()[0],
            "java_home": java_home, "loadavg_at_start": os.getloadavg(),
            "clk_tck": procs.CLK_TCK}


def versions(setup: dict) -> dict:
    import importlib.metadata as md
    knit_src = Path(knit.__file__).resolve().parent.parent
    v = {"knit": knit.__version__, "knit_source": git_sha(knit_src),
         "benchmark_source": git_sha(REPO),
         "knit_venv": {p: md.version(p) for p in ("distributed", "dask", "py4j")},
         "distributedshell_jar": Path(distributedshell_jar()).name,
         "distributedshell_note": DS_JAR_NOTE}
    for key in ("skein", "dask_yarn"):
        if key in setup:
            v[f"{key}_venv"] = setup[key]["versions"]
    return v


# ---------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="knit only, N=1, one run, async only (CI smoke test)")
    p.add_argument("--runs", type=int, default=3, help="runs per tool and N (median)")
    p.add_argument("--runs-c", type=int, default=5, help="fresh processes per tool for C")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed N=1 runs per tool on each new cluster, before A and B "
                        "(recorded, not counted; default 1, 0 with --quick)")
    p.add_argument("--no-cold", dest="cold", action="store_false",
                   help="skip the cold runs (a fresh cluster per tool and size of COLD)")
    p.add_argument("--sizes-a", type=int, nargs="+", default=[1, 5, 20, 50])
    p.add_argument("--sizes-b", type=int, nargs="+", default=[1, 5, 20])
    p.add_argument("--tools", nargs="+", choices=ALL_TOOLS, default=list(ALL_TOOLS))
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    p.add_argument("--measure", nargs="+", choices=list("ABCD"), default=list("ABCD"))
    p.add_argument("--out", type=Path, help="JSON results (default benchmarks/results/"
                   "peers.json, peers_quick.json with --quick)")
    p.add_argument("--docs", type=Path, default=None,
                   help="where to write benchmarks.md and img/ (default docs/; "
                        "none with --quick unless given)")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the peers' and children's logs (a temporary dir, else removed)")
    p.add_argument("--docs-only", action="store_true",
                   help="regenerate the docs from --out's JSON without measuring")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.runs_c, args.sizes_a, args.sizes_b = 1, 1, [1], [1]
        args.tools, args.modes, args.warmup, args.cold = ["knit"], ["async"], 0, False
    args.out = args.out or RESULTS / ("peers_quick.json" if args.quick else "peers.json")
    if args.docs is None and not args.quick:
        args.docs = REPO / "docs"
    return args


def machine_neutral(text: str) -> str:
    """`text` without this machine's paths: the checkout's are repo-relative, Python's
    standard library is `<stdlib>`, the temporary dir `<tmp>` (results are committed)."""
    for path, name in ((f"{REPO}/", ""), (f"{os.path.dirname(os.__file__)}/", "<stdlib>/"),
                       (f"{tempfile.gettempdir()}/", "<tmp>/")):
        text = text.replace(path, name)
    return text


def save(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(machine_neutral(json.dumps(results, indent=2, default=str)) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import distributed  # noqa: F401 - configures its loggers on import; quiet them after
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if args.docs is not None:
        report.require_matplotlib()
    if args.docs_only:
        results = json.loads(args.out.read_text())
        results["goals"] = report.goals(results)  # the current goals' text and form
        report.write_docs(results, args.docs)
        log(f"wrote {args.docs / 'benchmarks.md'}")
        return 0
    logs = Path(tempfile.mkdtemp(prefix="knit-peers-logs-"))
    begun = time.monotonic()
    setup, unavailable = setup_peer_venvs(args.tools, logs)
    results: dict = {
        "benchmark": "knit vs Hadoop DistributedShell, skein, dask-yarn (benchmarks/peers.py)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": [Path(sys.executable).name, *sys.argv],
        "quick": args.quick,
        "config": {"runs": args.runs, "runs_c": args.runs_c, "warmup": args.warmup, "sizes_a": args.sizes_a,
                   "sizes_b": args.sizes_b, "tools": args.tools, "modes": args.modes,
                   "measure": args.measure, "cold": args.cold and list(COLD), "nodemanagers": NODEMANAGERS,
                   "nodemanager_memory_mb": NODEMANAGER_MB, "container_memory_mb": CONTAINER_MB,
                   "worker_memory": WORKER_MEMORY, "d_containers": D_CONTAINERS,
                   "am_settle_s": AM_SETTLE_S},
        "machine": machine_facts(), "versions": versions(setup),
        "timing": report.TIMING_NOTES, "unavailable": unavailable,
        "clock": {"boot_epoch": procs.boot_epoch(), "proc_stat_btime": procs.btime()},
        "logs": str(logs), "out": _relative(args.out), "modes": {}, "C": [], "cold": [],
    }
    try:
        if "B" in args.measure and not args.quick:
            results["floors"] = {"worker_import_s": measure_floors(setup),
                                 "what": f"N processes running `python -c '{WORKER_IMPORT}'` at "
                                         "once, no cluster running; median of 3"}
            log(f"worker import floor: {results['floors']['worker_import_s']}")
        for mode in args.modes:
            run_mode(mode, args, setup, unavailable, logs, results)
            save(results, args.out)
        if args.cold:
            run_cold(args, setup, unavailable, logs, results)
    finally:
        results["wall_s"] = time.monotonic() - begun
        results["summary"] = report.summarize(results)
        results["goals"] = report.goals(results)
        results["leftover_processes"] = leftover_processes(
            [str(LIB), setup.get("root", "")])
        save(results, args.out)
        if not args.keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
    log(f"saved {args.out} ({results['wall_s']:.0f} s)")
    print(report.text_summary(results))
    if args.docs is not None:
        report.write_docs(results, args.docs)
        log(f"wrote {args.docs / 'benchmarks.md'} and {args.docs / 'img'}/peers_*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
