"""Where the time goes from ``YarnCluster(n_workers=1)`` to its first worker connected.

An embedded cluster (2 NodeManagers, YARN defaults, asynchronous scheduling); one untimed
warm-up, then --runs runs. Each run's time line, in seconds after the call:

  submitted       the ResourceManager's start time of the application
  am_jvm          the AM container's JVM process started (kernel start time, /proc)
  am_registered   the AM's log line "Registered attempt 1 ..." (its stderr, from
                  ``logs()``; the log's timestamp)
  allocated       the worker container granted (the AM's record of it)
  launched        the AM's NodeManager call to start it returned
  script          the container's first process started (localization done; kernel time)
  worker_up       the worker's log line "Start worker at" (imported, server listening)
  registered      the scheduler's "add-worker" event
  returned        YarnCluster() returned (it waits for the AM, not for workers)

Medians per step over the runs; benchmarks/results/first_worker.json. Goal: registered at
most 2.0 s.

Run: .venv/bin/python benchmarks/first_worker.py [--runs 5]
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import re
import statistics
import time
from pathlib import Path

from distributed import Client

import knit
from knit import MiniCluster
from knit.client_jvm import get_client
from knit.dask import YarnCluster
from _timing import wait_idle
from peers_lib import procs, source

RESULTS = Path(__file__).resolve().parent / "results" / "first_worker.json"
GOAL_S = 2.0
STEPS = ("submitted", "am_jvm", "am_registered", "allocated", "launched", "script",
         "worker_up", "registered", "returned")
AM_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
DASK_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - ")
log = logging.getLogger("first_worker")


def log_time(line: str, pattern: re.Pattern) -> float | None:
    """Epoch seconds of a log line's timestamp (the processes log in UTC here)."""
    m = pattern.match(line)
    if not m:
        return None
    stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def first_line(text: str, needle: str, pattern: re.Pattern) -> float | None:
    return next((log_time(ln, pattern) for ln in text.splitlines() if needle in ln), None)


def one_run(mc: MiniCluster, boot: float) -> dict:
    t0 = time.time()
    cluster = YarnCluster(n_workers=1, worker_memory="512 MiB", hadoop_conf_dir=mc.conf_dir,
                          progress=False)
    returned = time.time()
    app = cluster.knit.app
    starts: dict[int, tuple[int, float]] = {}  # pid -> (container number, kernel start)
    try:
        with Client(cluster) as client:
            deadline = time.monotonic() + 60
            while not client.scheduler_info()["workers"]:
                for pid, number, _ in procs.app_processes(mc.work_dir, app.app_id):
                    if pid not in starts:
                        try:
                            starts[pid] = (number, procs.start_epoch(pid, boot))
                        except OSError:
                            pass
                if time.monotonic() > deadline:
                    raise TimeoutError("no worker after 60 s")
                time.sleep(0.02)
            adds = sorted(ts for ts, msg in client.get_events("all")
                          if isinstance(msg, dict) and msg.get("action") == "add-worker")
            logs = app.logs()
            containers = app.get_containers()
        report = app.status()
    finally:
        cluster.close()
    (worker,) = [c for c in containers if not c.id.endswith("_000001")]
    worker_number = int(worker.id.rsplit("_", 1)[1])
    at = {
        "submitted": report.start_time / 1000,
        "am_jvm": min((s for n, s in starts.values() if n == 1), default=None),
        "am_registered": first_line(next((f["stderr"] for c, f in logs.items()
                                          if c.endswith("_000001")), ""),
                                    "Registered attempt", AM_LOG_TIME),
        "allocated": worker.allocated_at / 1000,
        "launched": (worker.launched_at or 0) / 1000 or None,
        "script": min((s for n, s in starts.values() if n == worker_number), default=None),
        "worker_up": first_line(logs[worker.id]["stderr"], "Start worker at", DASK_LOG_TIME),
        "registered": adds[0] if adds else None,
        "returned": returned,
    }
    am_log = next((f["stderr"] for c, f in logs.items() if c.endswith("_000001")), "")
    return {**{k: (None if v is None else round(v - t0, 3)) for k, v in at.items()},
            # Whether this AM's JVM mapped the node's class-data archive (knit-am.sh).
            "am_class_archive": "Classes from the class-data archive" in am_log}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("distributed").setLevel(logging.WARNING)
    logging.getLogger("knit").setLevel(logging.ERROR)  # the private-interpreter warning
    boot = procs.boot_epoch()
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=8192) as mc:
        get_client()  # once per process, as in a user's session
        one_run(mc, boot)  # warm-up: knit.jar's upload, the JIT, the page cache
        runs = []
        for i in range(args.runs):
            wait_idle(mc)  # each run on an empty cluster, as in peers.py
            runs.append(one_run(mc, boot))
            log.info("run %d: %s", i + 1, "  ".join(f"{k} {v}" for k, v in runs[-1].items()))
    medians = {k: statistics.median(r[k] for r in runs if r[k] is not None)
               for k in STEPS if any(r[k] is not None for r in runs)}
    passed = medians.get("registered", float("inf")) <= GOAL_S
    RESULTS.write_text(json.dumps({
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "knit_source": source.git_commit(Path(knit.__file__).resolve().parent),
        "runs": runs, "median_s": medians,
        "goal": {"first_worker_at_most_2_s": passed}}, indent=2) + "\n")
    previous = 0.0
    for k in STEPS:
        if k in medians:
            log.info("%-14s %6.2f s  (+%.2f)", k, medians[k], medians[k] - previous)
            previous = medians[k] if k != "returned" else previous
    log.info("goal (first worker connected <= %.1f s): %s (%.2f s); saved %s", GOAL_S,
             "PASS" if passed else "FAIL", medians.get("registered", float("nan")), RESULTS)


if __name__ == "__main__":
    main()
