"""Run by benchmarks/peers.py with the dask-yarn venv's python (dask-yarn 0.9, distributed
2023.9.2, skein 0.8.2): Dask clusters on YARN the two peer ways, on command.

One JSON object a line on stdin, one a line on stdout. A warm ``skein.Client()`` (its Java
driver) is started once, as knit's client JVM is in the measuring process.

    {"cmd": "dask_yarn", "n": N, "environment": "python://...", "memory": "512 MiB",
     "timeout": S[, "worker_class": "dask.distributed.Worker"]}
        dask_yarn.YarnCluster(deploy_mode="local", n_workers=N, ...), the scheduler in this
        process; waits for N workers, reads the scheduler's event log, shuts down.
    {"cmd": "skein_dask", "n": N, "python": PY, "memory": MB, "timeout": S}
        a `dask scheduler` process started here (before the clock: a user of this way
        starts it once), then a skein application with one service of N instances running
        `PY -m distributed.cli.dask_worker <address> --no-nanny --no-dashboard` (as knit's
        workers); waits, reads the event log, kills the application, stops the scheduler.
    {"cmd": "quit"}

Answers: {"event": "app", "app_id": ...} as soon as the application exists, then
{"event": "result", "t0": <time.time() just before the call>, "add_worker": [scheduler
timestamps of the "add-worker" events], "polled": <time.time() when wait_for_workers
returned>, ...} or {"event": "error", "message": ...}.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

warnings.simplefilter("ignore")  # dask-yarn 0.9 on distributed 2023.9: FutureWarnings


def emit(event, **kw):
    print(json.dumps(dict(event=event, **kw)), flush=True)


def add_worker_times(client):
    """Timestamps (scheduler clock, epoch seconds) of the scheduler's add-worker events."""
    events = client.get_events("all")
    return sorted(ts for ts, msg in events
                  if isinstance(msg, dict) and msg.get("action") == "add-worker")


def wait_and_read(address, n, timeout):
    """Wait for n workers at `address`; return (time.time() then, add-worker timestamps)."""
    import distributed
    with distributed.Client(address, timeout=60) as client:
        client.wait_for_workers(n, timeout=timeout)
        polled = time.time()
        return polled, add_worker_times(client)


def run_dask_yarn(skein_client, cmd):
    import dask_yarn
    t0 = time.time()
    cluster = dask_yarn.YarnCluster(
        environment=cmd["environment"], deploy_mode="local", n_workers=cmd["n"],
        worker_vcores=1, worker_memory=cmd["memory"], name="bench-dask-yarn",
        **({"worker_class": cmd["worker_class"]} if cmd.get("worker_class") else {}),
        host="127.0.0.1", dashboard_address="127.0.0.1:0", skein_client=skein_client)
    returned = time.time()
    emit("app", app_id=cluster.app_id)
    try:
        # Client(cluster) fails with distributed 2023.9.2 (YarnCluster has no .status);
        # connecting by address works.
        polled, adds = wait_and_read(cluster.scheduler_address, cmd["n"], cmd["timeout"])
    finally:
        cluster.shutdown()
        # Its __del__ would call shutdown() again on a stopped loop at exit.
        cluster.__class__.__del__ = lambda self: None
    emit("result", t0=t0, returned=returned, polled=polled, add_worker=adds,
         app_id=cluster.app_id)


def start_scheduler(tmp):
    """A `dask scheduler` child on 127.0.0.1; returns (process, address)."""
    sched_file = os.path.join(tmp, "scheduler.json")
    log = open(os.path.join(tmp, "scheduler.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", sched_file],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(sched_file):
            try:
                with open(sched_file) as f:
                    return proc, json.load(f)["address"]
            except ValueError:  # being written
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("dask scheduler did not start: " + open(log.name).read()[-2000:])


def run_skein_dask(skein_client, cmd):
    import skein
    n = cmd["n"]
    with tempfile.TemporaryDirectory(prefix="bench-skein-dask-") as tmp:
        begun = time.time()
        sched, address = start_scheduler(tmp)
        scheduler_s = time.time() - begun
        t0 = time.time()
        app_id = None
        try:
            script = (f"exec {cmd['python']} -m distributed.cli.dask_worker {address} "
                      f"--nthreads 1 --memory-limit {cmd['memory']}MiB --no-nanny --no-dashboard")
            spec = skein.ApplicationSpec(name="bench-skein-dask", services={
                "dask.worker": skein.Service(
                    instances=n, resources=skein.Resources(memory=cmd["memory"], vcores=1),
                    script=script)})
            app_id = skein_client.submit(spec)
            emit("app", app_id=app_id)
            polled, adds = wait_and_read(address, n, cmd["timeout"])
        finally:
            if app_id is not None:
                skein_client.kill_application(app_id)
            sched.terminate()
            try:
                sched.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sched.kill()
                sched.wait()
    emit("result", t0=t0, polled=polled, add_worker=adds, app_id=app_id, scheduler=address,
         scheduler_start_s=scheduler_s)


def main():
    import distributed
    import skein
    client = skein.Client()
    try:
        emit("ready", driver_pid=client._proc.pid if client._proc is not None else None,
             skein=skein.__version__, distributed=distributed.__version__)
        for line in sys.stdin:
            if not line.strip():
                continue
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            try:
                {"dask_yarn": run_dask_yarn, "skein_dask": run_skein_dask}[cmd["cmd"]](client, cmd)
            except Exception:  # noqa: BLE001 - report and serve the next command
                emit("error", message=traceback.format_exc()[-3000:])
    finally:
        client.close()
        emit("done")


if __name__ == "__main__":
    main()
