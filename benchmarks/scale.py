"""Scale: 1,000 `sleep` containers on an 8-NodeManager embedded cluster, knit and Hadoop's
DistributedShell taking turns on the same cluster.

For each run: the tool starts N containers running `sleep 600`; reported are the time from
the start call to the N-th `sleep` process start (the kernel's own start times, read from
/proc), the time from the kill until no process of the application is left, the peak
RSS (VmHWM) of the ApplicationMaster's JVM, and when the kill returned (the application
has ended: what `gone` adds is the NodeManagers ending the processes). knit: `start()` and
`kill()`; DistributedShell: its client (`-num_containers N`) and a kill through the
ResourceManager's REST API (what `yarn application -kill` does), its client JVM started in
the run as a user's `yarn jar` is. DistributedShell is the floor here: the plainest YARN
application, one process per container, its AM launching each with NMClientAsync.

Medians of --runs runs per tool, the order rotated run by run, each run on an idle
cluster; saved to benchmarks/results/scale.json (scale_<N>.json for another --containers).
/proc is polled every second while containers start (the times come from the kernel, the
polling only tells when all exist) and every 0.5 s after a kill (`gone` is that coarse):
the 0.2 s / 0.1 s polls used before took about a quarter of a core from the NodeManagers.
`gone` counts every process of the application, its AM's container's too (the first knit
AM on a node writes its class-data archive after the application has ended, see
docs/knit.md); `containers_gone` only those of the N containers.

Goals (knit): all running within 60 s, all gone within 15 s of kill(), AM peak RSS at most
300 MiB. Every container process runs on this one 2-core machine, with the cluster's JVM.

Run: .venv/bin/python benchmarks/scale.py [--runs 3] [--containers 1000] [--nodemanagers 8]
         [--tools knit distributedshell]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import knit
from knit import Knit, MiniCluster
from knit._hadoop_tools import DSHELL_CLIENT, distributedshell_args, distributedshell_jar
from knit._procfs import am_jvm_pid, peak_rss_bytes
from knit.client_jvm import get_client
import peers
from _timing import wait_idle
from peers_lib import procs, source

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
CONTAINER_MB = 256  # YARN rounds it up to its 1024 MB minimum allocation
GOALS = {"running_s": 60.0, "gone_s": 15.0, "am_rss_mib": 300.0}
BOOT = procs.boot_epoch()
DONE = ("FINISHED", "FAILED", "KILLED")


def app_processes(mc: MiniCluster, app_id: str) -> list[tuple[int, int, str]]:
    return procs.app_processes(mc.work_dir, app_id)


def wait_sleepers(mc: MiniCluster, app_id: str, n: int) -> list[int]:
    """Pids of the app's n `sleep 600` processes (by argv: knit's NodeManager watch may run
    `sleep 5`)."""
    deadline = time.monotonic() + 300
    while True:
        sleeps = [pid for pid, _, name in app_processes(mc, app_id)
                  if name == "sleep" and procs.argv(pid) == ["sleep", "600"]]
        if len(sleeps) >= n:
            return sleeps
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(sleeps)} of {n} containers running after 300 s")
        time.sleep(1.0)


def measure(mc: MiniCluster, app_id: str, n: int, t0: float, kill) -> dict:
    """Running, AM memory, then `kill()` and the wait until no process is left."""
    try:
        sleeps = wait_sleepers(mc, app_id, n)
        running_s = max(procs.start_epoch(p, BOOT) for p in sleeps) - t0
        am = am_jvm_pid(mc.work_dir, app_id)
        am_rss = peak_rss_bytes(am) / 2**20 if am else float("nan")
    finally:
        t1 = time.monotonic()
        kill()  # returns once the ResourceManager says the application ended
        kill_s = time.monotonic() - t1
        containers_gone_s = None
        while left := app_processes(mc, app_id):
            if containers_gone_s is None and all(number == 1 for _, number, _ in left):
                containers_gone_s = time.monotonic() - t1
            time.sleep(0.5)
        gone_s = time.monotonic() - t1
    # gone: no process of the application left, its AM's container's too (the first knit
    # AM on a node writes its class-data archive after the application ended);
    # containers_gone: none of the N containers' processes left.
    return {"running_s": running_s, "gone_s": gone_s,
            "containers_gone_s": gone_s if containers_gone_s is None else containers_gone_s,
            "am_rss_mib": am_rss, "kill_returned_s": kill_s}


def run_knit(mc: MiniCluster, n: int, logs: Path) -> dict:
    k = Knit(mc.conf_dir)
    t0 = time.time()
    app_id = k.start("sleep 600", num_containers=n, memory=CONTAINER_MB, app_name="bench-scale")
    return measure(mc, app_id, n, t0, k.kill)


def run_distributedshell(mc: MiniCluster, n: int, logs: Path) -> dict:
    name = f"bench-scale-dshell-{uuid.uuid4().hex[:8]}"
    cmd, env = mc.hadoop_command(DSHELL_CLIENT, *distributedshell_args(
        "sleep 600", n, name, container_memory_mb=CONTAINER_MB))
    with open(logs / "distributedshell-client.log", "a") as out:
        t0 = time.time()
        client = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        app_id = None
        try:
            app_id = peers.app_id_by_name(mc, name)

            def kill() -> None:
                peers.kill_app(mc, app_id)
                while state(mc, app_id) not in DONE:
                    time.sleep(0.1)
            return measure(mc, app_id, n, t0, kill)
        finally:
            client.kill()
            client.wait()
            if app_id is not None:
                peers.kill_app(mc, app_id)


def state(mc: MiniCluster, app_id: str) -> str | None:
    """The application's state, or None when the ResourceManager does not answer."""
    answer = peers.rm_get_or_none(mc, f"/apps/{app_id}")
    return None if answer is None else answer["app"]["state"]


RUNNERS = {"knit": run_knit, "distributedshell": run_distributedshell}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--nodemanagers", type=int, default=8)
    parser.add_argument("--tools", nargs="+", choices=sorted(RUNNERS), default=list(RUNNERS))
    parser.add_argument("--no-container-monitor", action="store_true",
                        help="NodeManagers without their container monitor: each scans all of "
                             "/proc for each of its containers every 3 s, and here 8 of them "
                             "share one machine's /proc")
    args = parser.parse_args()
    n = args.containers
    nodemanagers = args.nodemanagers
    # Room on every node for its share of n containers of 1 GB plus the AM (whichever node
    # it lands on); they only sleep, so the memory is never used.
    nm_mb = (-(-n // nodemanagers) + 1) * 1024
    samples: dict[str, list[dict]] = {tool: [] for tool in args.tools}
    config = {"yarn.nodemanager.container-monitor.enabled": "false"} if args.no_container_monitor else {}
    logs = Path(tempfile.mkdtemp(prefix="knit-scale-logs-"))
    load_at_start = os.getloadavg()
    with MiniCluster(nodemanagers=nodemanagers, nodemanager_memory_mb=nm_mb, config=config) as mc:
        get_client()  # the client JVM starts once per process
        for i in range(args.runs):
            order = args.tools[i % len(args.tools):] + args.tools[:i % len(args.tools)]
            for tool in order:
                wait_idle(mc)
                samples[tool].append(RUNNERS[tool](mc, n, logs))
                print(f"run {i + 1} {tool}: " + ", ".join(f"{k} {v:.2f}" for k, v in samples[tool][-1].items()),
                      flush=True)
    medians = {tool: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
               for tool, runs in samples.items()}
    met = {k: medians["knit"][k] <= goal for k, goal in GOALS.items()} if "knit" in medians else {}
    result = {
        "benchmark": f"{n} sleep containers: start to all running, kill to none, AM peak RSS",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "knit_source": source.git_commit(Path(knit.__file__).resolve().parent),
        "cluster": {"nodemanagers": nodemanagers, "nodemanager_memory_mb": nm_mb,
                    "cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg(), "config": config},
        "distributedshell": {"jar": Path(distributedshell_jar()).name, "note": peers.DS_JAR_NOTE},
        "polling": {"running_s": 1.0, "gone_s": 0.5},
        "runs": args.runs, "samples": samples, "median": medians, "goals": GOALS, "met": met,
        "client_logs": str(logs),
    }
    out = RESULTS if n == 1000 else RESULTS.with_name(f"scale_{n}.json")
    if args.no_container_monitor:
        out = out.with_name(out.stem + "_no_monitor.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for tool, m in medians.items():
        for k, v in m.items():
            goal = f" (goal <= {GOALS[k]}: {'met' if met[k] else 'MISSED'})" \
                if tool == "knit" and k in GOALS else ""
            print(f"median {tool} {k}: {v:.2f}{goal}")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
