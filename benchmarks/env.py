"""Packed environments: create_env time and size, and what an env adds to start().

1. create_env("bench", ["dask", "distributed", "pandas"]) with the venv backend: cold
   (force=True, a fresh build; pip's own download cache stays warm after the first) and
   cached (the same call again), with the archive's size.
2. start() to all N containers RUNNING (ResourceManager view), N = 4, on one embedded
   cluster: no env; first start with the env (upload to HDFS + localization on every
   NodeManager: the env is removed from HDFS before each, so each really is a first);
   second start with the env (uploaded and localized already). Medians of --runs runs.

Saves benchmarks/results/env.json. Goal: second start at most 1.2x a start with no env.

Run: .venv/bin/python benchmarks/env.py [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from _timing import wait_all_running, wait_idle

from knit import Knit, MiniCluster, create_env
from knit.client_jvm import get_client

RESULTS = Path(__file__).resolve().parent / "results" / "env.json"
PACKAGES = ["dask", "distributed", "pandas"]
N = 4


def timed_start(mc: MiniCluster, env: str | None) -> tuple[float, int]:
    """(seconds from start() to N containers RUNNING, bytes uploaded by start())."""
    name = f"bench-env-{uuid.uuid4().hex[:8]}"
    k = Knit(mc.conf_dir)
    wait_idle(mc)
    t0 = time.monotonic()
    k.start("$PYTHON_BIN -c 'import dask, distributed, pandas; import time; time.sleep(60)'"
            if env else "sleep 60", num_containers=N, memory=512, app_name=name, env=env)
    try:
        return wait_all_running(mc, name, N, t0), k.uploaded_bytes
    finally:
        k.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="knit-bench-envs-") as cache:
        os.environ["KNIT_ENV_CACHE"] = cache
        cold, cached = [], []
        for i in range(args.runs):
            t = time.monotonic()
            archive = create_env("bench", PACKAGES, force=True)
            cold.append(time.monotonic() - t)
            print(f"create_env cold run {i + 1}: {cold[-1]:.1f} s", flush=True)
        for _ in range(args.runs):
            t = time.monotonic()
            assert create_env("bench", PACKAGES) == archive
            cached.append(time.monotonic() - t)
        size = os.path.getsize(archive)
        print(f"create_env cached: {statistics.median(cached) * 1000:.1f} ms; archive "
              f"{size / 2**20:.1f} MiB", flush=True)

        starts: dict[str, list[float]] = {"no_env": [], "env_first": [], "env_second": []}
        uploads: dict[str, list[int]] = {"env_first": [], "env_second": []}
        with MiniCluster(nodemanagers=2) as mc:
            get_client()
            timed_start(mc, None)  # warm-up: knit's own jar uploaded and localized
            for i in range(args.runs):
                Knit(mc.conf_dir).remove_env("bench")
                for kind, env in (("no_env", None), ("env_first", archive),
                                  ("env_second", archive)):
                    seconds, uploaded = timed_start(mc, env)
                    starts[kind].append(seconds)
                    if kind in uploads:
                        uploads[kind].append(uploaded)
                    print(f"run {i + 1} {kind:<11} {seconds:6.2f} s, uploaded "
                          f"{uploaded / 2**20:.1f} MiB", flush=True)
            wait_idle(mc)

    medians = {k: statistics.median(v) for k, v in starts.items()}
    ratio = medians["env_second"] / medians["no_env"]
    result = {
        "benchmark": "packed environment: create_env and start() to N containers RUNNING",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "packages": PACKAGES, "containers": N, "runs": args.runs, "cpus": os.cpu_count(),
        "create_env_s": {"cold": cold, "cold_median": statistics.median(cold),
                         "cached": cached, "cached_median": statistics.median(cached)},
        "archive_bytes": size,
        "start_s": {"samples": starts, "median": medians},
        "uploaded_bytes": uploads,
        "second_start_over_no_env": ratio,
        "goal": "second start <= 1.2x no env",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median start: no env {medians['no_env']:.2f} s, first with env "
          f"{medians['env_first']:.2f} s, second {medians['env_second']:.2f} s "
          f"(ratio to no env {ratio:.2f}, goal <= 1.2)")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
