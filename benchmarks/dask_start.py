"""Dask on YARN: time to N workers connected, from YarnCluster(...) and from scale(N).

On one embedded cluster with YARN's defaults (2 NodeManagers), for N = 1, 5, 20, median
of --runs runs:
- "construct": YarnCluster(n_workers=N) until N workers are connected to the scheduler;
- "scale": on a running YarnCluster with no worker, scale(N) until N are connected;
- "remote": YarnCluster(n_workers=N, deploy_mode="remote") until N are connected (the
  scheduler starts in a container of its own first).
Workers use this Python (no packed env); TLS on, as by default. Saves benchmarks/results/dask_start.json.
Goal: 5 workers connected within 8 s of the call.

Run: .venv/bin/python benchmarks/dask_start.py [--runs 3] [--sizes 1 5 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from distributed import Client

from knit import MiniCluster
from knit.client_jvm import get_client
from knit.dask import YarnCluster

RESULTS = Path(__file__).resolve().parent / "results" / "dask_start.json"
NODEMANAGER_MB = 16384  # 20 workers of 1 GB (YARN's minimum allocation) and the AM


def connected_after(cluster: YarnCluster, n: int, t0: float) -> float:
    with Client(cluster) as client:
        client.wait_for_workers(n, timeout=300)
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    args = parser.parse_args()
    samples: dict[int, dict[str, list[float]]] = {}
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=NODEMANAGER_MB) as mc:
        get_client()  # the client JVM starts once per process
        options = dict(worker_memory="512 MiB", hadoop_conf_dir=mc.conf_dir, progress=False)
        for n in args.sizes:
            samples[n] = {"construct": [], "scale": [], "remote": []}
            for i in range(args.runs):
                t0 = time.monotonic()
                cluster = YarnCluster(n_workers=n, **options)
                samples[n]["construct"].append(connected_after(cluster, n, t0))
                cluster.close()
                cluster = YarnCluster(n_workers=0, **options)
                t0 = time.monotonic()
                cluster.scale(n)
                samples[n]["scale"].append(connected_after(cluster, n, t0))
                cluster.close()
                t0 = time.monotonic()
                cluster = YarnCluster(n_workers=n, deploy_mode="remote",
                                      scheduler_memory="1 GiB", **options)
                samples[n]["remote"].append(connected_after(cluster, n, t0))
                cluster.close()
                print(f"N={n:<3} run {i + 1}: " + ", ".join(
                    f"{k} {v[-1]:.2f} s" for k, v in samples[n].items()), flush=True)
    medians = {str(n): {k: statistics.median(v) for k, v in s.items()}
               for n, s in samples.items()}
    result = {
        "benchmark": "YarnCluster(n_workers=N) / scale(N) / remote mode to N workers connected",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster": {"nodemanagers": 2, "nodemanager_memory_mb": NODEMANAGER_MB,
                    "cpus": os.cpu_count()},
        "runs": args.runs, "samples": {str(n): s for n, s in samples.items()},
        "median": medians, "goal": "5 workers connected within 8 s",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for n, m in medians.items():
        print(f"N={n:<3} median: " + ", ".join(f"{k} {v:.2f} s" for k, v in m.items()))
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
