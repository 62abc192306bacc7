"""Start latency: from start() to all N containers RUNNING, knit vs Hadoop's DistributedShell.

Both run on one embedded cluster with YARN's defaults (2 NodeManagers, heartbeat 1 s,
capacity scheduler), N `sleep 60` containers, taking turns. "RUNNING" is the
ResourceManager's view: the application's runningContainers (AM included) reaching N + 1,
polled every 50 ms through the RM REST API. knit's client JVM is already up (it is started
once per process); its start time is measured on its own, in fresh Python processes.

Prints a table and saves benchmarks/results/start_latency.json: medians of --runs runs
and the ratio knit / DistributedShell. Goal: at most 0.8 at N = 20; client JVM under 2 s.

With --sync, the capacity scheduler schedules on NodeManager heartbeats (as Hadoop 3.4
and older do by default) instead of 3.5.0's default asynchronous scheduling (YARN-7327);
results then go to start_latency_sync.json.

Run: .venv/bin/python benchmarks/start_latency.py [--runs 3] [--sizes 1 5 20] [--sync]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from _timing import rm, wait_all_running, wait_idle

from knit import Knit, MiniCluster
from knit.client_jvm import get_client
from knit._hadoop_tools import DSHELL_CLIENT, distributedshell_args

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SYNC = {"yarn.scheduler.capacity.schedule-asynchronously.enable": "false"}
CONTAINER_MB = 256  # YARN rounds it up to its 1024 MB minimum allocation
# 20 containers of 1 GB need more than MiniCluster's default 4 GB per NodeManager; they
# only sleep, so the memory is never used.
NODEMANAGER_MB = 16384


def app_id_by_name(mc: MiniCluster, name: str) -> str:
    apps = (rm(mc, "/apps").get("apps") or {}).get("app") or []
    return next(a["id"] for a in apps if a["name"] == name)


def run_knit(mc: MiniCluster, n: int) -> float:
    name = f"bench-knit-{uuid.uuid4().hex[:8]}"
    k = Knit(mc.conf_dir)
    t0 = time.monotonic()
    k.start("sleep 60", num_containers=n, memory=CONTAINER_MB, app_name=name)
    try:
        return wait_all_running(mc, name, n, t0)
    finally:
        k.kill()


def run_dshell(mc: MiniCluster, n: int) -> float:
    name = f"bench-dshell-{uuid.uuid4().hex[:8]}"
    cmd, env = mc.hadoop_command(DSHELL_CLIENT, *distributedshell_args(
        "sleep 60", n, name, container_memory_mb=CONTAINER_MB))
    t0 = time.monotonic()
    client = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_all_running(mc, name, n, t0)
    finally:
        client.kill()
        client.wait()
        requests.put(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id_by_name(mc, name)}/state",
                     params={"user.name": os.environ.get("USER", "root")},
                     json={"state": "KILLED"}, timeout=10)


def client_jvm_start_seconds(runs: int) -> list[float]:
    probe = ("import time; from knit.client_jvm import get_client; t = time.monotonic(); "
             "get_client(); print(time.monotonic() - t)")
    return [float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--sync", action="store_true",
                        help="heartbeat-driven scheduling instead of 3.5.0's asynchronous one")
    args = parser.parse_args()
    results = RESULTS_DIR / ("start_latency_sync.json" if args.sync else "start_latency.json")

    jvm = client_jvm_start_seconds(args.runs)
    print(f"client JVM start: median {statistics.median(jvm):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in jvm)})", flush=True)
    samples: dict[int, dict[str, list[float]]] = {}
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=NODEMANAGER_MB,
                     config=SYNC if args.sync else None) as mc:
        get_client()  # warm: started once per process
        for n in args.sizes:
            samples[n] = {"knit": [], "distributedshell": []}
            for i in range(args.runs):
                # Alternate who goes first, so neither always meets a freshly idle cluster.
                order = [("knit", run_knit), ("distributedshell", run_dshell)]
                for tool, run in (order if i % 2 == 0 else order[::-1]):
                    wait_idle(mc)
                    seconds = run(mc, n)
                    samples[n][tool].append(seconds)
                    print(f"N={n:<3} run {i + 1} {tool:<17} {seconds:6.2f} s", flush=True)
            wait_idle(mc)

    summary = {}
    print("\n  N   knit (s)   DistributedShell (s)   ratio")
    for n, by_tool in samples.items():
        k, d = statistics.median(by_tool["knit"]), statistics.median(by_tool["distributedshell"])
        summary[str(n)] = {"knit_median_s": k, "distributedshell_median_s": d, "ratio": k / d}
        print(f"{n:3}   {k:8.2f}   {d:20.2f}   {k / d:5.2f}")
    result = {
        "benchmark": "start() to all N containers RUNNING (ResourceManager view)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster": {"nodemanagers": 2, "nodemanager_memory_mb": NODEMANAGER_MB,
                    "scheduling": "synchronous (heartbeat-driven)" if args.sync
                    else "asynchronous (Hadoop 3.5.0 default)",
                    "cpus": os.cpu_count()},
        "runs": args.runs,
        "client_jvm_start_s": {"samples": jvm, "median": statistics.median(jvm), "goal_max": 2.0},
        "samples": {str(n): v for n, v in samples.items()},
        "median": summary,
        "goal": "knit / DistributedShell <= 0.8 at N = 20",
    }
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {results}")


if __name__ == "__main__":
    main()
