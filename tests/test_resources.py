"""YARN resource types (GPUs) and what a user is told when YARN does not allocate: on an
embedded cluster of one 4 GB NodeManager that offers 2 GPUs (scheduling only: no device)."""
from __future__ import annotations

import pytest
import requests

from helpers import NO_CLASS_ARCHIVE, wait_for
from knit import ClusterCapacityError, InvalidArgumentError, Knit, MiniCluster

GPU_CONFIG = {
    "yarn.resource-types": "yarn.io/gpu",
    "yarn.nodemanager.resource-type.yarn.io/gpu": "2",
    # The default calculator counts memory alone; GPUs must count in placement.
    "yarn.scheduler.capacity.resource-calculator":
        "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator",
}


@pytest.fixture(scope="module")
def gpu_cluster():
    with MiniCluster(nodemanagers=1, nodemanager_memory_mb=4096,
                     config={**GPU_CONFIG, **NO_CLASS_ARCHIVE}) as mc:
        yield mc


def rm_container_gpus(mc, app_id: str) -> list[int]:
    """GPUs of the application's running containers, as the ResourceManager accounts them
    (its ApplicationMaster's left out)."""
    attempts = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id}/appattempts",
                            timeout=10).json()["appAttempts"]["appAttempt"]
    attempt = attempts[-1]["appAttemptId"]
    found = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id}/appattempts/"
                         f"{attempt}/containers", timeout=10).json().get("container") or []
    gpus = []
    for c in found:
        if c["containerId"].endswith("_000001"):
            continue
        info = (c.get("allocatedResources") or {}).get("entry") or []
        gpus.append(next((int(e["value"]) for e in info if e["key"] == "yarn.io/gpu"), 0))
    return gpus


def test_containers_get_the_gpus_asked_for(gpu_cluster):
    with Knit(gpu_cluster.conf_dir) as k:
        k.start("sleep 600", num_containers=2, memory=256, gpus=1)
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 2, 60,
                 "2 containers with a GPU each")
        nodes = requests.get(f"{gpu_cluster.resourcemanager_web}/ws/v1/cluster/nodes",
                             timeout=10).json()["nodes"]["node"]
        used = {r["name"]: r["value"] for r in nodes[0]["usedResource"]["resourceInformations"]
                ["resourceInformation"]}
        assert used["yarn.io/gpu"] == 2
        # A third would need a GPU the node does not have: it waits.
        k.add_containers(1)
        wait_for(lambda: k.pending_containers() == 1, 30, "the third ask to be pending")
        assert sum(c.state == "RUNNING" for c in k.get_containers()) == 2


def test_resources_spelling_and_bad_counts(gpu_cluster):
    with Knit(gpu_cluster.conf_dir) as k:
        with pytest.raises(ClusterCapacityError, match="No NodeManager has 3 yarn.io/gpu"):
            k.start("true", resources={"yarn.io/gpu": 3})
        with pytest.raises(ClusterCapacityError, match="no resource type 'yarn.io/fpga'"):
            k.start("true", resources={"yarn.io/fpga": 1})
        with pytest.raises(InvalidArgumentError, match="disagree"):
            k.start("true", gpus=1, resources={"yarn.io/gpu": 2})
        with pytest.raises(InvalidArgumentError, match="memory and vcores have arguments"):
            k.start("true", resources={"memory-mb": 2})
        assert k.app is None  # nothing was submitted


def test_a_cluster_without_gpus_refuses_before_submitting(minicluster):
    k = Knit(minicluster.conf_dir)
    with pytest.raises(ClusterCapacityError, match="no resource type 'yarn.io/gpu'"):
        k.start("true", gpus=1)
    assert k.app is None


def test_dask_workers_with_gpus(gpu_cluster):
    pytest.importorskip("distributed")
    from distributed import Client
    from knit.dask import YarnCluster
    with YarnCluster(n_workers=2, worker_memory="512 MiB", worker_gpus=1,
                     worker_options={"--resources": "GPU=1"},
                     hadoop_conf_dir=gpu_cluster.conf_dir, progress=False) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        assert sorted(rm_container_gpus(gpu_cluster, cluster.application_id)) == [1, 1]
        assert client.submit(lambda: 1, resources={"GPU": 1}).result() == 1


def test_workers_yarn_will_not_allocate_are_explained(gpu_cluster):
    """Six 1 GiB workers on one 4 GB NodeManager (the AM takes 1 GB): three come, and
    the timeout says why, in the ResourceManager's terms."""
    pytest.importorskip("distributed")
    from distributed.deploy.cluster import WorkerStartTimeoutError
    from knit.dask import YarnCluster
    with YarnCluster(n_workers=6, worker_memory="1 GiB", hadoop_conf_dir=gpu_cluster.conf_dir,
                     progress=False) as cluster:
        with pytest.raises(WorkerStartTimeoutError) as caught:
            cluster.wait_for_workers(6, timeout=15)
        message = str(caught.value)
        assert "Only 3/6 workers arrived" in message
        assert "waiting for containers (3 of 1024 MB and 1 vcores)" in message
        assert "the most free on one of 1 running nodes is 0 MB" in message
        assert "queue default uses" in message
        assert "waiting for containers" in (cluster.knit.status().waiting or "")
