"""What Kerberos costs: knit on a Kerberized embedded cluster against a plain one.

Two clusters of one NodeManager each, one after the other: `MiniCluster()` and
`MiniCluster(kerberos=True)`. On each, for N containers running `sleep 60`:

- `knit_s`: `Knit()` (on the Kerberized cluster: the login, from a ticket cache or keytab,
  with the client JVM already up);
- `start_s`: `start()` until it returns (staged, delegation tokens obtained, submitted,
  AM registered);
- `running_s`: from `start()` until knit reports all N containers RUNNING.

Medians of --runs runs, and the ratio to the plain cluster measured in the same run.
Saved to benchmarks/results/kerberos.json.

Run: .venv/bin/python benchmarks/kerberos.py [--runs 3] [--sizes 1 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from knit import Knit, MiniCluster

RESULTS = Path(__file__).resolve().parent / "results" / "kerberos.json"
CONTAINER_MB = 256
NODEMANAGER_MB = 8192


def run_once(mc: MiniCluster, n: int, login: dict) -> dict:
    t0 = time.monotonic()
    k = Knit(mc.conf_dir, **login)
    t1 = time.monotonic()
    k.start("sleep 60", num_containers=n, memory=CONTAINER_MB, app_name="bench-kerberos")
    t2 = time.monotonic()
    try:
        while sum(c["state"] == "RUNNING" for c in k.get_containers()) < n:
            if time.monotonic() - t1 > 300:
                raise TimeoutError(f"{n} containers not running after 300 s")
            time.sleep(0.05)
        t3 = time.monotonic()
    finally:
        k.kill()
    time.sleep(2)  # the containers go before the next run
    return {"knit_s": t1 - t0, "start_s": t2 - t1, "running_s": t3 - t1}


def measure(mc: MiniCluster, sizes: list[int], runs: int, login: dict) -> dict:
    Knit(mc.conf_dir, **login)  # warm: the identity's client JVM starts once per process
    out = {}
    for n in sizes:
        samples = [run_once(mc, n, login) for _ in range(runs)]
        out[str(n)] = {k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]}
        print(f"  N={n}: {out[str(n)]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()

    results: dict = {"runs": args.runs, "cpus": os.cpu_count()}
    print("plain cluster", flush=True)
    with MiniCluster(nodemanagers=1, nodemanager_memory_mb=NODEMANAGER_MB) as mc:
        results["simple"] = measure(mc, args.sizes, args.runs, {})
    with MiniCluster(nodemanagers=1, nodemanager_memory_mb=NODEMANAGER_MB, kerberos=True) as mc, \
            tempfile.TemporaryDirectory(prefix="knit-bench-krb5-") as cache_dir:
        os.environ.update(KRB5_CONFIG=mc.krb5_conf, KRB5CCNAME=f"FILE:{cache_dir}/ccache")
        subprocess.run(["kinit", "-kt", mc.keytab, mc.principal], check=True)
        print("Kerberized cluster, ticket cache", flush=True)
        results["kerberos_ticket_cache"] = measure(mc, args.sizes, args.runs, {})
        print("Kerberized cluster, keytab", flush=True)
        results["kerberos_keytab"] = measure(mc, args.sizes, args.runs,
                                             {"principal": mc.principal, "keytab": mc.keytab})
    for mode in ("kerberos_ticket_cache", "kerberos_keytab"):
        results[f"{mode}_over_simple"] = {
            n: {k: round(v / results["simple"][n][k], 2) for k, v in row.items()}
            for n, row in results[mode].items()}
        print(f"{mode} / simple: {results[f'{mode}_over_simple']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
