"""Scale: 1,000 `sleep` containers on an 8-NodeManager embedded cluster.

For each run: knit starts N containers running `sleep 600`; reported are the time from
start() to the N-th `sleep` process start (the kernel's own start times, read from
/proc), the time from kill() until no process of the application is left, the peak
RSS (VmHWM) of the ApplicationMaster's JVM, and when kill() returned (the application has
ended: what `gone` adds is the NodeManagers ending the processes). Medians of --runs runs; saved to
benchmarks/results/scale.json (scale_<N>.json for another --containers).

Goals: all running within 60 s, all gone within 15 s of kill(), AM peak RSS at most 300 MiB.
Every container process runs on this one 2-core machine, with the cluster's JVM.

Run: .venv/bin/python benchmarks/scale.py [--runs 3] [--containers 1000] [--nodemanagers 8]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import knit
from knit import Knit, MiniCluster
from knit._procfs import am_jvm_pid, peak_rss_bytes
from knit.client_jvm import get_client
from peers_lib import procs, source

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
CONTAINER_MB = 256  # YARN rounds it up to its 1024 MB minimum allocation
GOALS = {"running_s": 60.0, "gone_s": 15.0, "am_rss_mib": 300.0}
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
            # `sleep 600` alone: each container also runs `sleep 5` (its NodeManager watch).
            sleeps = [pid for pid, _, name in app_processes(mc, app_id)
                      if name == "sleep" and procs.argv(pid) == ["sleep", "600"]]
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
        k.kill()  # returns once the ResourceManager says the application ended
        kill_s = time.monotonic() - t1
        while app_processes(mc, app_id):
            time.sleep(0.1)
        gone_s = time.monotonic() - t1
    return {"running_s": running_s, "gone_s": gone_s, "am_rss_mib": am_rss, "kill_returned_s": kill_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--nodemanagers", type=int, default=8)
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
    samples: list[dict] = []
    config = {"yarn.nodemanager.container-monitor.enabled": "false"} if args.no_container_monitor else {}
    with MiniCluster(nodemanagers=nodemanagers, nodemanager_memory_mb=nm_mb, config=config) as mc:
        get_client()  # the client JVM starts once per process
        for i in range(args.runs):
            samples.append(run_once(mc, n))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in samples[-1].items()),
                  flush=True)
            time.sleep(2)
    medians = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    met = {k: medians[k] <= goal for k, goal in GOALS.items()}
    result = {
        "benchmark": f"{n} sleep containers: start to all running, kill to none, AM peak RSS",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "knit_source": source.git_commit(Path(knit.__file__).resolve().parent),
        "cluster": {"nodemanagers": nodemanagers, "nodemanager_memory_mb": nm_mb,
                    "cpus": os.cpu_count(), "config": config},
        "runs": args.runs, "samples": samples, "median": medians, "goals": GOALS, "met": met,
    }
    out = RESULTS if n == 1000 else RESULTS.with_name(f"scale_{n}.json")
    if args.no_container_monitor:
        out = out.with_name(out.stem + "_no_monitor.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for k, v in medians.items():
        goal = f" (goal <= {GOALS[k]}: {'met' if met[k] else 'MISSED'})" if k in GOALS else ""
        print(f"median {k}: {v:.2f}{goal}")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
