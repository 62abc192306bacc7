"""Probe knit's peers (skein 0.8.2, dask-yarn 0.9) on one embedded cluster, with timings.

1. setup_peers.setup_all(): the two venvs (idempotent), the `yarn` shim, the packed env.
2. One MiniCluster (2 NodeManagers, 16384 MB each). Against it, each in a subprocess run by
   that peer's venv python, with PATH = shim + PATH, HADOOP_CONF_DIR = mc.conf_dir,
   JAVA_HOME and SKEIN_CONFIG set (setup_peers.peer_env):
   a. skein client start-up, --runs times: `import skein` and `skein.Client()` ready (the
      Java driver started and answering); process start-up is not included.
   b. skein app: one service of N=5 containers `sleep 60` (256 MiB, 1 vcore); seconds from
      submit() to N + 1 running containers in the RM REST API (/ws/v1/cluster/apps/<id>,
      polled every 50 ms, as benchmarks/_timing.py does for knit); then kill.
   c. dask-yarn: YarnCluster(deploy_mode="local", n_workers=2, environment=python://<venv
      python>): seconds to YarnCluster() returned and to 2 workers connected; shutdown.
   d. the same with environment=<venv-pack archive> (skip with --no-packed).
3. Stops the cluster whatever happened, then lists any process left behind that belongs to
   this probe (command line under the peer venv root or the cluster's work dir) and kills
   only skein driver JVMs it started (by their recorded PID).

Results: benchmarks/peers_lib/results/probe.json; child stderr logs: <root>/logs/.

Run: /work/main/.venv/bin/python benchmarks/peers_lib/probe_peers.py [--runs 3] [--no-packed]
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import setup_peers
from knit import MiniCluster

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "probe.json"


def _pids_alive(pids: list[int]) -> list[int]:
    return [p for p in pids if Path(f"/proc/{p}").exists()]


class Probe:
    def __init__(self, root: Path):
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.app_ids: list[str] = []
        self.driver_pids: list[int] = []

    def run_child(self, label: str, python: str, script: str, args: list[str],
                  env: dict, timeout: float = 420) -> dict:
        """Run a child script; collect its JSON events, return code and stderr tail."""
        log_path = self.logs / f"{label}.stderr.log"
        cmd = [python, str(HERE / script), *args]
        events: list[dict] = []
        begun = time.monotonic()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log,
                                    stdin=subprocess.DEVNULL, text=True,
                                    start_new_session=True)
            try:
                for line in proc.stdout:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    events.append(ev)
                    if ev.get("app_id"):
                        self.app_ids.append(ev["app_id"])
                    if ev.get("driver_pid"):
                        self.driver_pids.append(ev["driver_pid"])
                    if time.monotonic() - begun > timeout:
                        raise subprocess.TimeoutExpired(cmd, timeout)
                proc.wait(timeout=max(1.0, timeout - (time.monotonic() - begun)))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the child we started
                proc.wait()
                events.append({"event": "error", "message": f"timeout after {timeout} s"})
        stderr_tail = log_path.read_text(errors="replace")[-3000:]
        out = {"label": label, "returncode": proc.returncode, "events": events,
               "wall_s": time.monotonic() - begun, "stderr_log": str(log_path)}
        errors = [e for e in events if e["event"] == "error"]
        if proc.returncode != 0 or errors or not any(e["event"] == "done" for e in events):
            out["ok"] = False
            out["stderr_tail"] = stderr_tail
        else:
            out["ok"] = True
        return out

    def kill_apps(self, rm_web: str) -> None:
        """Best effort: kill (via the RM REST API) this probe's apps still not finished."""
        for app_id in self.app_ids:
            try:
                with urllib.request.urlopen(f"{rm_web}/ws/v1/cluster/apps/{app_id}",
                                            timeout=10) as r:
                    state = json.load(r)["app"]["state"]
                if state in ("FINISHED", "FAILED", "KILLED"):
                    continue
                req = urllib.request.Request(
                    f"{rm_web}/ws/v1/cluster/apps/{app_id}/state?user.name={getpass.getuser()}",
                    data=b'{"state": "KILLED"}', method="PUT",
                    headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=10).close()
                print(f"killed leftover app {app_id} (was {state})", flush=True)
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                print(f"could not check/kill {app_id}: {e}", flush=True)


def _our_processes(markers: list[str]) -> list[str]:
    """`pid cmdline` of live processes whose command line mentions one of ``markers``."""
    found = []
    me = os.getpid()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmd for m in markers):
            found.append(f"{d.name} {cmd[:200]}")
    return found


def _get(events: list[dict], event: str, key: str):
    for e in events:
        if e["event"] == event and key in e:
            return e[key]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="skein client start-ups")
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-packed", action="store_true",
                        help="skip dask-yarn with the venv-pack archive")
    parser.add_argument("--root", type=Path, default=setup_peers.ROOT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    t = time.monotonic()
    setup = setup_peers.setup_all(args.root, pack=not args.no_packed)
    setup_s = time.monotonic() - t
    probe = Probe(args.root)
    results: dict = {"machine": {"python": platform.python_version(),
                                 "cpus": os.cpu_count()},
                     "setup": setup, "setup_s": setup_s}
    skein_py = setup["skein"]["python"]
    dy = setup["dask_yarn"]

    t = time.monotonic()
    mc = MiniCluster(nodemanagers=2, nodemanager_memory_mb=16384)
    work_dir = None
    try:
        mc.start()
        work_dir = mc.work_dir
        results["minicluster_start_s"] = time.monotonic() - t
        print(f"MiniCluster up in {results['minicluster_start_s']:.1f} s", flush=True)
        env = setup_peers.peer_env(mc.conf_dir, setup["yarn_shim"]["dir"], args.root)
        rm_web = mc.resourcemanager_web

        startups = [probe.run_child(f"skein-startup-{i}", skein_py, "_skein_child.py",
                                    ["startup"], env, timeout=180)
                    for i in range(args.runs)]
        results["skein_startup"] = startups
        print("skein start-up:", [(round(_get(r["events"], "client", "import_s") or -1, 2),
                                   round(_get(r["events"], "client", "client_s") or -1, 2))
                                  for r in startups], flush=True)

        results["skein_app"] = probe.run_child(
            "skein-app", skein_py, "_skein_child.py",
            ["app", rm_web, str(args.containers)], env)
        print("skein app:", results["skein_app"]["ok"],
              _get(results["skein_app"]["events"], "running", "running_s"), flush=True)

        results["dask_yarn_python"] = probe.run_child(
            "dask-yarn-python", dy["python"], "_dask_yarn_child.py",
            [dy["environment"], str(args.workers)], env)
        print("dask-yarn python://:", results["dask_yarn_python"]["ok"],
              _get(results["dask_yarn_python"]["events"], "workers", "workers_s"), flush=True)

        if not args.no_packed:
            results["dask_yarn_packed"] = probe.run_child(
                "dask-yarn-packed", dy["python"], "_dask_yarn_child.py",
                [dy["archive"], str(args.workers)], env)
            print("dask-yarn archive:", results["dask_yarn_packed"]["ok"],
                  _get(results["dask_yarn_packed"]["events"], "workers", "workers_s"),
                  flush=True)
    finally:
        if mc.running:
            probe.kill_apps(mc.resourcemanager_web)
        t = time.monotonic()
        mc.stop()
        results["minicluster_stop_s"] = time.monotonic() - t
        time.sleep(1)
        alive = _pids_alive(probe.driver_pids)
        for pid in alive:  # skein driver JVMs started by our children: ours to end
            os.kill(pid, signal.SIGKILL)
        results["drivers_killed_after"] = alive
        markers = [str(args.root)] + ([work_dir] if work_dir else [])
        results["leftover_processes"] = _our_processes(markers)
        print("leftover processes:", results["leftover_processes"] or "none", flush=True)

    summary = summarize(results)
    results["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"saved {args.out}")
    if not summary["all_ok"]:
        sys.exit(1)


def summarize(results: dict) -> dict:
    s: dict = {}
    ups = [r for r in results.get("skein_startup", []) if r["ok"]]
    if ups:
        imp = [_get(r["events"], "client", "import_s") for r in ups]
        cli = [_get(r["events"], "client", "client_s") for r in ups]
        s["skein_import_s_median"] = statistics.median(imp)
        s["skein_client_s_median"] = statistics.median(cli)
        s["skein_import_plus_client_s"] = [round(a + b, 3) for a, b in zip(imp, cli)]
    app = results.get("skein_app")
    if app:
        s["skein_app_ok"] = app["ok"]
        s["skein_submit_s"] = _get(app["events"], "submitted", "submit_s")
        s["skein_submit_to_all_running_s"] = _get(app["events"], "running", "running_s")
        s["skein_running_containers"] = _get(app["events"], "running", "running_containers")
        s["skein_kill_s"] = _get(app["events"], "killed", "kill_s")
    for key in ("dask_yarn_python", "dask_yarn_packed"):
        r = results.get(key)
        if r:
            s[f"{key}_ok"] = r["ok"]
            s[f"{key}_cluster_s"] = _get(r["events"], "cluster", "cluster_s")
            s[f"{key}_workers_s"] = _get(r["events"], "workers", "workers_s")
            s[f"{key}_shutdown_s"] = _get(r["events"], "done", "shutdown_s")
    s["minicluster_start_s"] = results.get("minicluster_start_s")
    oks = [r["ok"] for r in results.get("skein_startup", [])]
    oks += [results[k]["ok"] for k in ("skein_app", "dask_yarn_python", "dask_yarn_packed")
            if k in results]
    s["all_ok"] = bool(oks) and all(oks) and not results.get("leftover_processes")
    return s


if __name__ == "__main__":
    main()
