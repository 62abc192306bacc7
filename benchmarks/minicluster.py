"""MiniCluster cold start to ready, and the peak RSS of its JVM.

Each run starts a fresh 2-NodeManager cluster, times start() (HDFS out of safe mode, every
NodeManager RUNNING), reads the JVM's peak RSS (VmHWM) when ready and again after a
2-container DistributedShell job, then times stop(). Medians of the runs are printed and
saved to benchmarks/results/minicluster.json.

Goals on a 2-core machine: ready in at most 25 s, at most 1.5 GiB RSS with 2 NodeManagers.

Run: .venv/bin/python benchmarks/minicluster.py [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from knit import MiniCluster, java
from knit._hadoop_tools import DSHELL_CLIENT, distributedshell_args
from knit._procfs import peak_rss_bytes

GOAL_READY_S = 25.0
GOAL_RSS_GIB = 1.5
RESULTS = Path(__file__).resolve().parent / "results" / "minicluster.json"


def one_run(index: int) -> dict:
    begun = time.monotonic()
    mc = MiniCluster(nodemanagers=2).start()
    try:
        ready_s = time.monotonic() - begun
        rss_ready = peak_rss_bytes(mc.pid)
        job = mc.run_hadoop_class(
            DSHELL_CLIENT, *distributedshell_args("echo bench", 2, f"knit-bench-{index}"))
        if job.returncode != 0:
            raise RuntimeError(f"DistributedShell failed: {job.stderr[-2000:]}")
        rss_after_job = peak_rss_bytes(mc.pid)
    finally:
        stopping = time.monotonic()
        mc.stop()
        stop_s = time.monotonic() - stopping
    return {"ready_s": ready_s, "peak_rss_ready_gib": rss_ready / 2**30,
            "peak_rss_after_job_gib": rss_after_job / 2**30, "stop_s": stop_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    runs = []
    for i in range(args.runs):
        run = one_run(i)
        runs.append(run)
        print(f"run {i + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in run.items()), flush=True)

    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    java_exe, _ = java.find_java()
    java_version = subprocess.run([java_exe, "-version"], capture_output=True,
                                  text=True).stderr.splitlines()[0]
    result = {
        "benchmark": "minicluster cold start, 2 NodeManagers",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "java": java_version},
        "runs": runs,
        "median": medians,
        "goals": {"ready_s_max": GOAL_READY_S, "peak_rss_gib_max": GOAL_RSS_GIB},
        "goals_met": {
            "ready": medians["ready_s"] <= GOAL_READY_S,
            "rss": medians["peak_rss_after_job_gib"] <= GOAL_RSS_GIB,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median of {len(runs)}: ready {medians['ready_s']:.1f} s (goal <= {GOAL_READY_S}), "
          f"peak RSS {medians['peak_rss_ready_gib']:.2f} GiB at ready, "
          f"{medians['peak_rss_after_job_gib']:.2f} GiB after a job (goal <= {GOAL_RSS_GIB}), "
          f"stop {medians['stop_s']:.1f} s")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
