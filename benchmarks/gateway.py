"""A Dask cluster through dask-gateway (knit's backend) against YarnCluster directly: time
to 5 workers connected.

One embedded cluster (2 NodeManagers of 8 GiB; this OS user may act as `alice`) and one
dask-gateway-server 2026.3 with knit.gateway.KnitBackend (a subprocess,
knit._gateway_process.GatewayProcess; a sqlite database with db_encrypt_keys, as the tests
and docs/gateway.md configure it, its other settings dask-gateway's defaults). Paths,
taking turns run by run (the order rotates each round), one untimed warm-up of each:

- "gateway": as alice, ``gateway.new_cluster()``, ``cluster.scale(5)``, then
  ``cluster.get_client()`` waits for 5 workers. Split: new_cluster returned (the gateway
  reports the cluster running: its scheduler has registered through the preload),
  scheduler reachable (the client connected through the gateway's proxy), 5 connected.
- "remote": ``YarnCluster(n_workers=5, deploy_mode="remote")``: the scheduler in a
  container too, the like-for-like comparison. Split: YarnCluster returned (scheduler up,
  workers asked for), client connected, 5 connected.
- "local": ``YarnCluster(n_workers=5)``, the scheduler in this process.

All with workers of 1 GiB, 1 vcore, 1 thread, a 1 GiB scheduler container, TLS, this
Python (no packed env). After each run the cluster is shut down and the next run waits
until YARN reports the application ended and no container runs. Each run also records,
untimed, YARN's own time line (the ResourceManager's submit and AM launch times, the
AM's allocation and launch times of the scheduler's and the workers' containers) and,
for the gateway, its log's times of the worker starts, to say where the time goes.

Saves benchmarks/results/gateway.json. Goal: gateway at most 1.5x remote (medians).

Run: .venv/bin/python benchmarks/gateway.py [--runs 3] [--paths gateway remote local]
     [--no-worker-dashboard]   (an experiment; saves gateway_no_worker_dashboard.json)
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import logging
import os
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from distributed import Client

from knit import ClusterClient, MiniCluster
from knit._gateway_process import GatewayProcess, free_port
from knit.cli_gateway import gateway_config
from knit.client_jvm import get_client
from knit.dask import YarnCluster
from knit.names import MAIN_ROLE
from _timing import rm, wait_idle

RESULTS = Path(__file__).resolve().parent / "results" / "gateway.json"
VARIANT = RESULTS.with_name("gateway_no_worker_dashboard.json")
N = 5
GOAL_RATIO = 1.5
USER = "alice"
NODEMANAGERS = 2
NODEMANAGER_MB = 8192  # room for 2 x (AM + scheduler + 5 workers of 1 GiB)
PATHS = ("gateway", "remote", "local")
ENDED = ("FINISHED", "KILLED", "FAILED")
TIMEOUT_S = 300
# dask-gateway-server's log lines: "[I 2026-12-08 01:23:45.678 DaskGateway] ..."
GATEWAY_LOG_TIME = re.compile(r"^\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \w+\] ")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The gateway's own steps (its log), each of one cluster or one of its workers.
GATEWAY_EVENTS = {
    "gw_cluster_submitting": r"Submitting cluster (\S+)\.\.\.",   # do_start_cluster called
    "gw_cluster_submitted": r"Cluster (\S+) submitted",           # knit's start() returned
    "gw_cluster_running": r"Cluster (\S+) is running",            # the preload registered
    "gw_worker_submitting": r"Submitting worker (\S+)\.\.\.",     # do_start_worker called
    "gw_worker_submitted": r"Worker (\S+) submitted",             # (the role) + add_containers
    "gw_worker_running": r"Worker (\S+) is running",              # the scheduler's heartbeat
    "gw_worker_failed_submit": r"Failed to submit worker (\S+)",
}
log = logging.getLogger("gateway_bench")


def app_named(mc: MiniCluster, name: str) -> dict:
    """The ResourceManager's report of the newest application called `name`."""
    apps = (rm(mc, "/apps").get("apps") or {}).get("app") or []
    found = sorted((a for a in apps if a["name"] == name), key=lambda a: a["startedTime"])
    if not found:
        raise RuntimeError(f"no YARN application called {name}")
    return found[-1]


def wait_ended(mc: MiniCluster, app_id: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while rm(mc, f"/apps/{app_id}")["app"]["state"] not in ENDED:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{app_id} did not end within {TIMEOUT_S} s")
        time.sleep(0.2)
    wait_idle(mc)


def yarn_timeline(report: dict, containers: list, w0: float) -> dict[str, float]:
    """YARN's time line of one run, in seconds after the call (w0, epoch seconds)."""
    at = {"submitted": report["startedTime"] / 1000 - w0}
    if report.get("launchTime"):
        at["am_launched"] = report["launchTime"] / 1000 - w0
    # The workers' roles: "worker" (remote YarnCluster and the gateway), the
    # main role in local mode (no scheduler container); else the main role is the scheduler.
    workers = [c for c in containers if c.role.startswith("worker")]
    scheduler = [c for c in containers if c.role == MAIN_ROLE]
    if not workers:
        workers, scheduler = scheduler, []
    for what, group in (("scheduler", scheduler), ("workers", workers)):
        allocated = sorted(c.allocated_at / 1000 - w0 for c in group)
        launched = sorted(c.launched_at / 1000 - w0 for c in group if c.launched_at)
        if allocated:
            at[f"{what}_first_allocated"], at[f"{what}_last_allocated"] = allocated[0], allocated[-1]
        if launched:
            at[f"{what}_first_launched"], at[f"{what}_last_launched"] = launched[0], launched[-1]
    return at


def gateway_log_times(log_path: Path, cluster: str, w0: float) -> dict[str, float]:
    """The gateway's log (dask-gateway's db_base messages) about one cluster and its
    workers, in seconds after the call: first and last of each event."""
    workers: set[str] = set()
    seen: dict[str, list[float]] = {}
    for line in ANSI.sub("", log_path.read_text(errors="replace")).splitlines():
        m = GATEWAY_LOG_TIME.match(line)
        if not m:
            continue
        stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
        t = stamp.astimezone().timestamp() - w0  # the gateway logs local time
        text = line[m.end():]
        created = re.match(rf"Created worker (\S+) for cluster {cluster}", text)
        if created:
            workers.add(created.group(1))
        for event, pattern in GATEWAY_EVENTS.items():
            found = re.fullmatch(pattern, text)
            if found and (found.group(1) == cluster or found.group(1) in workers):
                seen.setdefault(event, []).append(t)
    at = {}
    for event, times in seen.items():
        if event.startswith("gw_worker"):
            at[event + "_first"], at[event + "_last"] = min(times), max(times)
        else:
            at[event] = min(times)
    return at


def run_gateway(mc: MiniCluster, server: GatewayProcess, password: str) -> dict:
    from dask_gateway import BasicAuth, Gateway
    gateway = Gateway(server.address, proxy_address=f"gateway://127.0.0.1:{server.port}",
                      auth=BasicAuth(USER, password))
    try:
        w0, t0 = time.time(), time.monotonic()
        cluster = gateway.new_cluster()
        returned = time.monotonic() - t0
        cluster.scale(N)
        client = cluster.get_client()
        reachable = time.monotonic() - t0
        client.wait_for_workers(N, timeout=TIMEOUT_S)
        connected = time.monotonic() - t0
        # Untimed: YARN's view of the run, through the application's own handle.
        report = app_named(mc, f"dask-gateway-{cluster.name}")
        app = ClusterClient(mc.conf_dir, proxy_user=USER).connect(report["id"])
        containers = app.get_containers()
        app.detach()
        client.close()
        cluster.shutdown()
        wait_ended(mc, report["id"])
        from_log = gateway_log_times(server.log, cluster.name, w0)
        if "gw_worker_failed_submit_first" in from_log:  # a retried worker: not comparable
            raise RuntimeError(f"the gateway failed to start a worker:\n{server.tail()}")
        return {"returned": returned, "scheduler_reachable": reachable, "connected": connected,
                "app_id": report["id"], "load": os.getloadavg()[0],
                "timeline": {**yarn_timeline(report, containers, w0), **from_log}}
    finally:
        gateway.close()


def run_yarn(mc: MiniCluster, mode: str) -> dict:
    w0, t0 = time.time(), time.monotonic()
    cluster = YarnCluster(n_workers=N, deploy_mode=mode, worker_memory="1 GiB",
                          worker_vcores=1, scheduler_memory="1 GiB", scheduler_vcores=1,
                          hadoop_conf_dir=mc.conf_dir, progress=False)
    returned = time.monotonic() - t0
    client = Client(cluster)
    reachable = time.monotonic() - t0
    client.wait_for_workers(N, timeout=TIMEOUT_S)
    connected = time.monotonic() - t0
    app_id = cluster.application_id
    containers = cluster.knit.get_containers()
    report = rm(mc, f"/apps/{app_id}")["app"]
    client.close()
    cluster.close()
    wait_ended(mc, app_id)
    return {"returned": returned, "scheduler_reachable": reachable, "connected": connected,
            "app_id": app_id, "load": os.getloadavg()[0],
            "timeline": yarn_timeline(report, containers, w0)}


def medians(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs)
           for k in ("returned", "scheduler_reachable", "connected")}
    steps = {k for r in runs for k in r["timeline"]}
    out["timeline"] = {k: statistics.median(r["timeline"][k] for r in runs if k in r["timeline"])
                       for k in sorted(steps, key=lambda k: statistics.median(
                           r["timeline"][k] for r in runs if k in r["timeline"]))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--no-worker-dashboard", action="store_true",
                        help="An experiment: the gateway's workers without their dashboard "
                             "(worker_cmd + --no-dashboard), as YarnCluster starts them; "
                             f"saved to {VARIANT.name}.")
    args = parser.parse_args()
    paths = tuple(p for p in PATHS if p in args.paths)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("distributed").setLevel(logging.WARNING)  # the local scheduler's
    load_at_start = os.getloadavg()
    samples: dict[str, list[dict]] = {p: [] for p in paths}
    with MiniCluster(nodemanagers=NODEMANAGERS, nodemanager_memory_mb=NODEMANAGER_MB,
                     proxy_users=(USER,)) as mc, \
            tempfile.TemporaryDirectory(prefix="knit-gateway-bench-") as work:
        get_client()  # the client JVM starts once per process
        password = secrets.token_urlsafe(16)
        port = free_port()
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()  # a Fernet key
        config = gateway_config(mc.conf_dir, port, free_port(), password) + f"""
c.KnitBackend.db_url = "sqlite:///{work}/gateway.sqlite"
c.KnitBackend.db_encrypt_keys = [{key!r}]
c.KnitClusterConfig.scheduler_cores = 1
c.KnitClusterConfig.worker_cores = 1
c.KnitClusterConfig.worker_threads = 1
"""
        if args.no_worker_dashboard:
            from knit.gateway import KnitClusterConfig
            config += (f"c.KnitClusterConfig.worker_cmd = "
                       f"{KnitClusterConfig().worker_cmd + ['--no-dashboard']!r}\n")
        server = GatewayProcess(Path(work), config, port)
        server.start()
        try:
            run = {"gateway": lambda: run_gateway(mc, server, password),
                   "remote": lambda: run_yarn(mc, "remote"),
                   "local": lambda: run_yarn(mc, "local")}
            for path in paths:
                run[path]()
                log.info("warm-up %s done", path)
            for i in range(args.runs):
                for path in paths[i % len(paths):] + paths[:i % len(paths)]:
                    samples[path].append(run[path]())
                    s = samples[path][-1]
                    log.info("run %d %-7s returned %.2f s, reachable %.2f s, %d connected "
                             "%.2f s (load %.2f)", i + 1, path, s["returned"],
                             s["scheduler_reachable"], N, s["connected"], s["load"])
        except BaseException:
            log.error("The gateway's log:\n%s", server.tail(200))
            raise
        finally:
            server.stop()
    median = {p: medians(s) for p, s in samples.items()}
    ratio = (median["gateway"]["connected"] / median["remote"]["connected"]
             if {"gateway", "remote"} <= set(median) else None)
    to_local = (median["gateway"]["connected"] / median["local"]["connected"]
                if {"gateway", "local"} <= set(median) else None)
    result = {
        "benchmark": f"gateway.new_cluster() + scale({N}) against YarnCluster(n_workers={N}), "
                     f"to {N} workers connected",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster": {"nodemanagers": NODEMANAGERS, "nodemanager_memory_mb": NODEMANAGER_MB,
                    "cpus": os.cpu_count()},
        "gateway": {"database": "sqlite with db_encrypt_keys",
                    "periods": "dask-gateway's defaults",
                    "worker_dashboard": not args.no_worker_dashboard},
        "load_average_at_start": load_at_start,
        "runs": args.runs, "samples": samples, "median": median,
        "ratio_gateway_to_remote": ratio,
        "ratio_gateway_to_local": to_local,
        "goal": f"gateway at most {GOAL_RATIO}x remote YarnCluster",
        "pass": None if ratio is None else ratio <= GOAL_RATIO,
    }
    out = VARIANT if args.no_worker_dashboard else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for p, m in median.items():
        print(f"{p:<8} median: returned {m['returned']:.2f} s, reachable "
              f"{m['scheduler_reachable']:.2f} s, {N} connected {m['connected']:.2f} s")
        print("         " + ", ".join(f"{k} {v:.2f}" for k, v in m["timeline"].items()))
    if ratio is not None:
        print(f"gateway / remote = {ratio:.2f} ({'PASS' if result['pass'] else 'FAIL'}, "
              f"goal {GOAL_RATIO}x)")
    if to_local is not None:
        print(f"gateway / local = {to_local:.2f}")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
