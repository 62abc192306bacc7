"""Run by probe_peers.py with the dask-yarn venv's python (not importable from knit's venv).

    python _dask_yarn_child.py ENVIRONMENT N_WORKERS

YarnCluster(deploy_mode="local", n_workers=N, environment=ENVIRONMENT): the scheduler runs
in this process (bound to 127.0.0.1), the workers in YARN containers. Waits for N workers,
runs one task, shuts down. ENVIRONMENT is "python:///path/to/python" (shared filesystem)
or a venv-pack archive.

Prints one JSON object per line on stdout; the last has "event": "done".
"""
import json
import sys
import time
import warnings

T0 = time.monotonic()


def emit(event, **kw):
    print(json.dumps(dict(event=event, **kw)), flush=True)


def main():
    environment, n = sys.argv[1], int(sys.argv[2])
    warnings.simplefilter("ignore")  # dask-yarn 0.9 on distributed 2023.9: FutureWarnings
    import dask_yarn
    import distributed
    emit("import", import_s=time.monotonic() - T0, dask_yarn=dask_yarn.__version__,
         distributed=distributed.__version__)
    t = time.monotonic()
    cluster = dask_yarn.YarnCluster(
        environment=environment, deploy_mode="local", n_workers=n, worker_vcores=1,
        worker_memory="1 GiB", name="dask-yarn-probe", host="127.0.0.1",
        dashboard_address="127.0.0.1:0")
    emit("cluster", app_id=cluster.app_id, scheduler=cluster.scheduler_address,
         cluster_s=time.monotonic() - t)
    try:
        # Client(cluster) fails with distributed 2023.9.2: YarnCluster has no `.status`
        # (AttributeError in Client.__init__); connecting by address works.
        client = distributed.Client(cluster.scheduler_address)
        try:
            client.wait_for_workers(n, timeout=300)
            emit("workers", n=len(client.scheduler_info()["workers"]),
                 workers_s=time.monotonic() - t)
            assert client.submit(lambda x: x + 1, 1).result() == 2
        finally:
            client.close()
    finally:
        t = time.monotonic()
        cluster.shutdown()
        emit("done", shutdown_s=time.monotonic() - t)
        # YarnCluster.__del__ at interpreter exit calls shutdown() again on a stopped loop
        # and prints a RuntimeError traceback; its finalizer has already run, so skip it.
        cluster.__class__.__del__ = lambda self: None


if __name__ == "__main__":
    main()
