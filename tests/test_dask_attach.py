"""A Dask cluster that outlives the process that started it, and another process that
attaches to it (`YarnCluster.from_application_id`), computes, scales and ends it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("distributed")

from distributed import Client  # noqa: E402

from helpers import cwd_of, wait_for  # noqa: E402
from knit import Knit, KnitException  # noqa: E402
from knit._procfs import processes_under  # noqa: E402
from knit.dask import YarnCluster  # noqa: E402

START = textwrap.dedent("""
    import json, sys
    from distributed import Client
    from knit.dask import YarnCluster
    cluster = YarnCluster(n_workers=1, worker_memory="512 MiB", deploy_mode="remote",
                          scheduler_memory="512 MiB", shutdown_on_close=False,
                          worker_restarts=3, hadoop_conf_dir=sys.argv[1], progress=False)
    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        assert client.submit(lambda x: x + 1, 1).result() == 2
    cluster.close()
    print(json.dumps({"app_id": cluster.application_id, "address": cluster.scheduler_address}))
""")


def test_a_cluster_left_running_is_attached_to_scaled_and_ended(minicluster):
    run = subprocess.run([sys.executable, "-c", START, minicluster.conf_dir],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    started = json.loads(run.stdout.strip().splitlines()[-1])
    app_id = started["app_id"]
    watcher = Knit(minicluster.conf_dir)
    watcher.app_id = app_id
    try:
        # Its process has exited; it runs on, with no lease to keep.
        assert watcher.status().state == "RUNNING"
        cluster = YarnCluster.from_application_id(app_id, minicluster.conf_dir, progress=False)
        assert cluster.scheduler_address == started["address"]
        assert cluster.scheduler_address.startswith("tls://")  # found the TLS credentials
        staged = json.loads(cluster.knit.app.read_staged_file("knit-app.json"))
        assert staged["spec"]["lease_ms"] == 0
        # The workers' restarts are the running cluster's, which its AM counts.
        assert cluster.worker_restarts == 3 and cluster.restarts_left == 3
        with pytest.raises(KnitException, match="worker_restarts"):
            YarnCluster(application_id=app_id, hadoop_conf_dir=minicluster.conf_dir,
                        worker_restarts=1)
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=60)
            assert sum(client.gather(client.map(lambda x: x * x, range(10)))) == 285
            cluster.scale(2)
            client.wait_for_workers(2, timeout=120)
            workers = {c.id for c in cluster.knit.get_containers()
                       if c.role == "worker" and c.state == "RUNNING"}
            assert {w["name"] for w in client.scheduler_info()["workers"].values()} == workers
        cluster.close()
        wait_for(lambda: watcher.status().state == "FINISHED", 60, "the cluster to end")
        assert watcher.status().final_status == "SUCCEEDED"  # ended by its owner
        suffix = app_id[len("application_"):]
        wait_for(lambda: not [p for p in processes_under(minicluster.work_dir)
                              if suffix in cwd_of(p)], 30, "no process of the cluster left")
    finally:
        watcher.kill()


def test_attaching_to_an_application_that_is_no_dask_cluster_leaves_it_alone(minicluster):
    k = Knit(minicluster.conf_dir)
    app_id = k.start("sleep 600", num_containers=0, keep_alive=True)
    try:
        with pytest.raises(KnitException, match="not a remote-mode knit Dask cluster"):
            YarnCluster.from_application_id(app_id, minicluster.conf_dir)
        assert k.status().state == "RUNNING"
    finally:
        k.kill()
