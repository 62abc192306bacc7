"""The embedded cluster is real: HDFS stores, YARN runs containers, logs are aggregated."""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from helpers import app_by_name, wait_for
from knit import Knit
from knit._hadoop_tools import (DSHELL_CLIENT, LOGS_CLI, distributedshell_args,
                                stdout_by_container)


def site_values(conf_dir: str, name: str) -> dict[str, str]:
    root = ET.parse(Path(conf_dir) / name).getroot()
    return {p.findtext("name"): p.findtext("value") for p in root.iter("property")}


def test_conf_dir_has_client_configuration(minicluster):
    core = site_values(minicluster.conf_dir, "core-site.xml")
    yarn = site_values(minicluster.conf_dir, "yarn-site.xml")
    hdfs = site_values(minicluster.conf_dir, "hdfs-site.xml")
    assert core["fs.defaultFS"] == minicluster.default_fs.rstrip("/")
    assert yarn["yarn.resourcemanager.address"] == minicluster.resourcemanager_address
    assert minicluster.resourcemanager_web.endswith(yarn["yarn.resourcemanager.webapp.address"])
    assert "dfs.namenode.http-address" in hdfs
    # Containers find Hadoop through yarn.application.classpath, conf dir first.
    classpath = yarn["yarn.application.classpath"].split(",")
    assert classpath[0] == minicluster.conf_dir
    assert any("hadoop-yarn-client" in entry for entry in classpath)
    assert not any(entry.endswith("knit.jar") for entry in classpath)
    assert yarn["yarn.log-aggregation-enable"] == "true"
    assert yarn["yarn.nodemanager.vmem-check-enabled"] == "false"
    # YARN's timing defaults are kept: no heartbeat or scheduler override is written.
    assert "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms" not in yarn
    assert "yarn.resourcemanager.scheduler.class" not in yarn


def test_resourcemanager_rest_lists_every_nodemanager(minicluster):
    base = minicluster.resourcemanager_web + "/ws/v1/cluster"
    nodes = requests.get(base + "/nodes", timeout=10).json()["nodes"]["node"]
    assert len(nodes) == 2
    assert {n["state"] for n in nodes} == {"RUNNING"}
    assert len({n["id"] for n in nodes}) == 2
    scheduler = requests.get(base + "/scheduler", timeout=10).json()
    assert scheduler["scheduler"]["schedulerInfo"]["type"] == "capacityScheduler"


def _container_ids(text: str) -> set[str]:
    return set(re.findall(r"container_[0-9_e]+", text))


def test_resourcemanager_and_each_nodemanager_serve_their_own_web_pages(minicluster, tmp_path):
    """In one JVM every Hadoop web app used the Guice pipeline of the last one started (a
    NodeManager's, YARN-7747): the ResourceManager's pages answered 404, so did the proxy's
    page of a finished application. Now each server has its own, REST APIs unchanged."""
    web = minicluster.resourcemanager_web
    done = tmp_path / "done"  # the containers run on this machine: a file ends them
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start(f"while [ ! -e {done} ]; do sleep 0.2; done", num_containers=1,
                         memory=256)
        wait_for(lambda: [c for c in k.get_containers() if c.state == "RUNNING"], 120,
                 "a RUNNING container")
        # 3.5.0's /cluster renders the "About" page (YARN-11842); both are the RM's own.
        cluster = requests.get(f"{web}/cluster", timeout=30)
        assert cluster.status_code == 200 and "ResourceManager" in cluster.text, cluster.text[:500]
        apps = requests.get(f"{web}/cluster/apps", timeout=30)
        assert apps.status_code == 200 and "All Applications" in apps.text
        page = requests.get(f"{web}/cluster/app/{app_id}", timeout=30)
        assert page.status_code == 200 and f"Application {app_id}" in page.text

        # Each NodeManager's HTML lists its own containers (those its REST API reports),
        # not the last NodeManager's.
        nodes = requests.get(f"{web}/ws/v1/cluster/nodes", timeout=10).json()["nodes"]["node"]
        listed = []
        for node in nodes:
            nm = f"http://{node['nodeHTTPAddress']}"
            rest = requests.get(f"{nm}/ws/v1/node/containers", timeout=10)
            assert rest.status_code == 200
            own = {c["id"] for c in ((rest.json()["containers"] or {}).get("container") or [])}
            html = requests.get(f"{nm}/node/allContainers", timeout=30)
            assert html.status_code == 200 and _container_ids(html.text) == own, node["id"]
            listed.append(own)
        assert len(set().union(*listed)) == 2  # the AM's and the command's

        done.touch()
        assert k.wait_for_completion(timeout=120) == "SUCCEEDED"
    app = requests.get(f"{web}/ws/v1/cluster/apps/{app_id}", timeout=10).json()["app"]
    assert app["state"] == "FINISHED"
    # A finished application's tracking URL: the proxy sends to the RM's page of it.
    tracked = requests.get(app["trackingUrl"], timeout=30)
    assert tracked.status_code == 200 and tracked.url == f"{web}/cluster/app/{app_id}"
    assert f"Application {app_id}" in tracked.text


def test_file_written_by_hadoop_client_reads_back_through_webhdfs(minicluster, tmp_path):
    payload = f"knit {uuid.uuid4()}\n" * 1000
    local = tmp_path / "payload.txt"
    local.write_text(payload)
    target = f"/user/knit-test/{uuid.uuid4().hex}.txt"
    put = minicluster.run_hadoop_class("org.apache.hadoop.fs.FsShell", "-put", "-p",
                                       str(local), target)
    # FsShell does not create missing parents for -put; make them first if needed.
    if put.returncode != 0:
        mkdir = minicluster.run_hadoop_class("org.apache.hadoop.fs.FsShell", "-mkdir", "-p",
                                             str(Path(target).parent))
        assert mkdir.returncode == 0, mkdir.stderr
        put = minicluster.run_hadoop_class("org.apache.hadoop.fs.FsShell", "-put",
                                           str(local), target)
    assert put.returncode == 0, put.stderr
    url = f"{minicluster.webhdfs_url}{target}"
    got = requests.get(url, params={"op": "OPEN", "user.name": "knit-test"}, timeout=30)
    assert got.status_code == 200, got.text
    assert got.text == payload
    status = requests.get(url, params={"op": "GETFILESTATUS"}, timeout=10).json()
    assert status["FileStatus"]["length"] == len(payload.encode())


def test_distributedshell_runs_in_two_containers_with_aggregated_logs(minicluster):
    # The shell computes the marker, so only a container's stdout can hold it.
    token = uuid.uuid4().hex[:12]
    command = f"echo knit-marker-{token}-$((6*7))"
    marker = f"knit-marker-{token}-42"
    app_name = f"knit-test-{token}"
    run = minicluster.run_hadoop_class(
        DSHELL_CLIENT, *distributedshell_args(command, 2, app_name), timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    app = app_by_name(minicluster.resourcemanager_web, app_name)
    assert (app["state"], app["finalStatus"]) == ("FINISHED", "SUCCEEDED")
    app_id = app["id"]

    def containers_with_marker():
        logs = minicluster.run_hadoop_class(LOGS_CLI, "-applicationId", app_id,
                                            "-log_files", "stdout", timeout=60)
        holding = {c for c, out in stdout_by_container(logs.stdout).items() if marker in out}
        return holding if len(holding) == 2 else None

    # Aggregation finishes a few seconds after the application does.
    containers = wait_for(containers_with_marker, 60, "the marker in 2 containers' logs")
    assert all(c.startswith("container_" + app_id[len("application_"):]) for c in containers)


@pytest.mark.unit
def test_daemon_ports_are_outside_the_kernels_ephemeral_range_and_never_repeat():
    """A port the kernel can give an outgoing connection before the daemon binds it made a
    NameNode fail with "Address already in use" in CI: daemon ports come from below."""
    from knit._daemons import _ephemeral_floor, free_port
    floor = _ephemeral_floor()
    assert floor > 12000, "this Linux has an ephemeral port range (ip_local_port_range)"
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(10000 <= p < floor for p in ports)
