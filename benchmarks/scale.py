"""Scale: 200 `sleep` containers on a 4-NodeManager embedded cluster.

For each run: knit starts 200 containers running `sleep 600`; reported are the time from
start() to the 200th `sleep` process start (the kernel's own start times, read from
/proc), the time from kill() until no process of the application is left, and the peak
RSS (VmHWM) of the ApplicationMaster's JVM. Medians of --runs runs; saved to
benchmarks/results/scale.json.

Goals: all running within 30 s, all gone within 10 s of kill(), AM under 400 MiB.

Run: .venv/bin/python benchmarks/scale.py [--runs 3] [--containers 200]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from knit import Knit, MiniCluster
from knit._procfs import am_jvm_pid, peak_rss_bytes
from knit.client_jvm import get_client
from peers_lib import procs

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
NODEMANAGERS = 4
CONTAINER_MB = 256  # YARN rounds it up to its 1024 MB minimum allocation
GOALS = {"running_s": 30.0, "gone_s": 10.0, "am_rss_mib": 400.0}
BOOT = procs.boot_epoch()


def app_processes(mc: MiniCluster, app_id: str) -> list[tuple[int, int, str]]:
    return procs.app_processes(mc.work_dir, app_id)


def run_once(mc: MiniCluster, n: int) -> dict:
    k = Knit(mc.conf_dir)
    t0 = time.time()
    app_id = k.start("sleep 600", num_containers=n, memory=CONTAINER_MB, app_name="bench-scale")
    try:
        deadline = time.monotonic() + 300
        while True:
            sleeps = [pid for pid, _, name in app_processes(mc, app_id) if name == "sleep"]
            if len(sleeps) >= n:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(sleeps)} of {n} containers running after 300 s")
            time.sleep(0.2)
        running_s = max(procs.start_epoch(p, BOOT) for p in sleeps) - t0
        am = am_jvm_pid(mc.work_dir, app_id)
        am_rss = peak_rss_bytes(am) / 2**20 if am else float("nan")
    finally:
        t1 = time.monotonic()
        k.kill()
        while app_processes(mc, app_id):
            time.sleep(0.1)
        gone_s = time.monotonic() - t1
    return {"running_s": running_s, "gone_s": gone_s, "am_rss_mib": am_rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--containers", type=int, default=200)
    args = parser.parse_args()
    n = args.containers
    # Room on every node for its share of n containers of 1 GB plus the AM (whichever node
    # it lands on); they only sleep, so the memory is never used.
    nm_mb = (-(-n // NODEMANAGERS) + 1) * 1024
    samples: list[dict] = []
    with MiniCluster(nodemanagers=NODEMANAGERS, nodemanager_memory_mb=nm_mb) as mc:
        get_client()  # the client JVM starts once per process
        for i in range(args.runs):
            samples.append(run_once(mc, n))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in samples[-1].items()),
                  flush=True)
            time.sleep(2)
    medians = {k: statistics.median(s[k] for s in samples) for k in GOALS}
    met = {k: medians[k] <= goal for k, goal in GOALS.items()}
    result = {
        "benchmark": f"{n} sleep containers: start to all running, kill to none, AM peak RSS",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster": {"nodemanagers": NODEMANAGERS, "nodemanager_memory_mb": nm_mb,
                    "cpus": os.cpu_count()},
        "runs": args.runs, "samples": samples, "median": medians, "goals": GOALS, "met": met,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for k, v in medians.items():
        print(f"median {k}: {v:.2f} (goal <= {GOALS[k]}: {'met' if met[k] else 'MISSED'})")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
