"""knit on a cluster set up as users run them: Hadoop's own daemons, HDFS as `hdfs` (its
superuser), YARN as `yarn` (so containers run as `yarn`), the stock capacity scheduler
(ApplicationMasters get 10 % of the queue), a web proxy of its own, and knit used by
`alice`, who is neither.

The daemons' users are real OS users (made here with useradd; the tests need root). alice
is `HADOOP_USER_NAME=alice` in a Python process of her own: on a cluster without Kerberos
that is who a Hadoop client is, and her client needs to read this checkout's jars.
"""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from helpers import ON_CI, require_java
from helpers import wait_for
from knit import MiniCluster
from knit._procfs import processes_under

USERS = ("hdfs", "yarn", "alice")


def ensure_os_users() -> None:
    """The daemons' users (and alice's, for her HDFS home), made if missing."""
    if os.geteuid() != 0:
        (pytest.fail if ON_CI else pytest.skip)("needs root: daemons run as other OS users")
    for name in USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", name], check=True, capture_output=True)


@pytest.fixture(scope="module")
def testbed():
    require_java()
    ensure_os_users()
    mc = MiniCluster(nodemanagers=1, daemons=True, daemon_users={"hdfs": "hdfs", "yarn": "yarn"},
                     homes=["alice"], web_proxy=True, nodemanager_memory_mb=8192)
    try:
        mc.start()
    except Exception as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the daemon test bed did not start: {e}")
    yield mc
    mc.stop()


def as_alice(mc: MiniCluster, script: str, *args: str, timeout: float = 300) -> dict:
    """Run `script` (Python; argv[1] is the conf dir, then `args`) in a process of alice's;
    it prints one JSON line last, which is returned."""
    env = dict(os.environ, HADOOP_USER_NAME="alice")
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script), mc.conf_dir, *args],
                         env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def hdfs_status(mc: MiniCluster, path: str) -> dict | None:
    answer = requests.get(f"{mc.webhdfs_url}{path}", params={"op": "GETFILESTATUS",
                                                              "user.name": "hdfs"}, timeout=10)
    return answer.json()["FileStatus"] if answer.status_code == 200 else None


def test_daemons_run_as_their_users(testbed):
    owners = {pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name for pid in testbed.pids}
    assert owners == {"hdfs", "yarn"}
    assert hdfs_status(testbed, "/user/alice")["owner"] == "alice"


def test_alice_runs_containers_that_act_as_her_on_hdfs(testbed):
    """Her staging dir is private (mode 700); the AM (an OS process of `yarn`) reads it as
    alice, and what her containers write to HDFS is hers."""
    jars = os.pathsep.join(sorted(str(p) for p in (Path(testbed.work_dir) / "jars").iterdir()))
    result = as_alice(testbed, """
        import json, sys
        from knit import Knit
        fs = '"$JAVA_HOME/bin/java" -cp "$HADOOP_CONF_DIR:$CP" org.apache.hadoop.fs.FsShell'
        with Knit(sys.argv[1]) as k:
            app = k.start(f'echo "os user $(id -un)"; echo hi | {fs} -put - /user/alice/out-$CONTAINER_ID',
                          num_containers=2, memory=256, envvars={"CP": sys.argv[2]})
            status = k.wait_for_completion(timeout=180)
            out = {c: f["stdout"] for c, f in k.logs().items() if not c.endswith("_000001")}
            staging = k.status()
        print(json.dumps({"app": app, "status": status, "stdout": out,
                          "diagnostics": staging["diagnostics"], "user": staging["user"]}))
    """, jars)
    assert result["status"] == "SUCCEEDED", result["diagnostics"]
    assert result["user"] == "alice"
    assert len(result["stdout"]) == 2
    for cid, out in result["stdout"].items():
        assert "os user yarn" in out  # the process is the NodeManager's user ...
        written = hdfs_status(testbed, f"/user/alice/out-{cid}")
        assert written is not None and written["owner"] == "alice"  # ... acting as alice
    # The NameNode's audit log: everything done under her .knit dir was done as alice.
    audit = Path(testbed.daemon_logs["namenode"]).read_text(errors="replace")
    touching = [line for line in audit.splitlines() if "src=/user/alice/.knit" in line]
    assert touching and all("ugi=alice" in line for line in touching), touching[:5]


@pytest.fixture(scope="module")
def system_python_env():
    """Containers run as `yarn`, who cannot run this Python (under root's mode-700 home):
    alice ships an environment built on the system's Python, which every node's user can
    run, with this Python's dask and distributed."""
    import dask
    import distributed
    from knit import create_env
    system_python = "/usr/bin/python3"
    if not os.access(system_python, os.X_OK):
        (pytest.fail if ON_CI else pytest.skip)("needs /usr/bin/python3 (Debian: python3-venv)")
    return create_env("knit-field", python=system_python, packages=[
        f"dask=={dask.__version__}", f"distributed=={distributed.__version__}", "cryptography"])


def test_alice_runs_a_dask_cluster(testbed, system_python_env):
    pytest.importorskip("distributed")
    result = as_alice(testbed, """
        import json, sys
        from distributed import Client
        from knit.dask import YarnCluster
        with YarnCluster(n_workers=2, worker_memory="1 GiB", hadoop_conf_dir=sys.argv[1],
                         env=sys.argv[2]) as c:
            with Client(c) as client:
                client.wait_for_workers(2, timeout=180)
                total = client.submit(sum, range(100)).result()
                users = sorted(client.run(lambda: __import__("os").environ["HADOOP_USER_NAME"]).values())
        print(json.dumps({"total": total, "users": users}))
    """, system_python_env)
    assert result == {"total": 4950, "users": ["alice", "alice"]}


def test_nothing_of_alices_is_left(testbed):
    wait_for(lambda: not (set(processes_under(testbed.work_dir)) - set(testbed.pids)), 60,
             "alice's containers to end")


def test_an_application_yarn_will_not_activate_fails_with_yarns_reason(testbed):
    """The stock 10 % AM share of an 8 GB queue holds one ApplicationMaster: a second
    application waits ACCEPTED. Its start() fails in time, saying what YARN says."""
    from knit import Knit, KnitException
    first, second = Knit(testbed.conf_dir), Knit(testbed.conf_dir)
    try:
        first.start("sleep 600", num_containers=0, keep_alive=True)
        with pytest.raises(KnitException) as caught:
            second.start("echo never", start_timeout=8)
        message = str(caught.value)
        assert "did not register within 8 s" in message
        assert "AM resource limit" in message, message
        assert second.status()["state"] == "KILLED"  # nothing half-started is left
    finally:
        second.kill()
        first.kill()


def test_requests_that_do_not_fit_say_what_the_nodes_have(testbed):
    from knit import Knit
    with Knit(testbed.conf_dir) as k:
        k.start("sleep 600", num_containers=0, keep_alive=True, memory=4096)
        assert k.waiting_reason() is None
        k.add_containers(2)  # an 8 GB node, 1 GB of it the AM's: one fits, one waits
        wait_for(lambda: sum(c["state"] == "RUNNING" for c in k.get_containers()) == 1, 60,
                 "the container that fits")
        reason = k.waiting_reason()
        assert reason.startswith("waiting for containers (1 of 4096 MB and 1 vcores)"), reason
        assert "the most free on one of 1 running nodes is 3072 MB" in reason
        assert "queue default uses" in reason
        assert k.status()["waiting"] == reason


def app_processes(mc: MiniCluster) -> set[int]:
    return set(processes_under(mc.work_dir)) - set(mc.pids)


def test_a_nodemanager_killed_and_started_again_the_application_goes_on(testbed):
    """SIGKILL the NodeManager under a running application: the container processes and
    the AM live on outside YARN, and logs() says it cannot read them. Started again (no
    recovery), the NodeManager no longer knows them: they end themselves, YARN starts a new
    attempt, the client follows it and keeps its lease, and the application ends normally."""
    from knit import Knit
    with Knit(testbed.conf_dir) as k:
        k.start("sleep 20", num_containers=2, memory=256, am_attempts=2)
        wait_for(lambda: sum(c["state"] == "RUNNING" for c in k.get_containers()) == 2, 60,
                 "2 running containers")
        time.sleep(2)  # the NodeManager reports them to the ResourceManager
        before = app_processes(testbed)
        testbed.kill_nodemanager(0)
        assert before <= app_processes(testbed)  # a killed NodeManager ends nothing
        logs = k.logs()
        assert all("did not answer" in f.get("unreadable", "") for f in logs.values()), logs
        testbed.restart_nodemanager(0)
        wait_for(lambda: not (before & app_processes(testbed)), 60,
                 "the first attempt's processes to end themselves")
        assert k.wait_for_completion(timeout=180) == "SUCCEEDED", k.status()["diagnostics"]
        assert k.status()["attempt"] == 2
        ran = [c for c in k.get_containers() if c["outcome"] == "SUCCEEDED"]
        assert len(ran) == 2  # the new attempt's replacements ran to the end
    wait_for(lambda: not app_processes(testbed), 60, "no process of the application")


def test_a_remote_dask_cluster_is_one_application_and_fits_the_stock_am_share(testbed,
                                                                             system_python_env):
    """Scheduler and workers in one YARN application: one ApplicationMaster, which the
    stock 10 % share of the queue admits (two applications would wait for each other)."""
    result = as_alice(testbed, """
        import json, sys
        from distributed import Client
        from knit.dask import YarnCluster
        with YarnCluster(n_workers=2, worker_memory="1 GiB", scheduler_memory="1 GiB",
                         deploy_mode="remote", hadoop_conf_dir=sys.argv[1], env=sys.argv[2]) as c:
            with Client(c) as client:
                client.wait_for_workers(2, timeout=180)
                total = client.submit(sum, range(10)).result()
                roles = sorted(x["role"] for x in c.knit.get_containers())
            app = c.application_id
        print(json.dumps({"total": total, "roles": roles, "app": app}))
    """, system_python_env)
    assert result["total"] == 45
    assert result["roles"] == ["main", "worker", "worker"]
    apps = requests.get(f"{testbed.resourcemanager_web}/ws/v1/cluster/apps",
                        params={"user.name": "alice"}, timeout=10).json()["apps"]["app"]
    assert [a["id"] for a in apps if a["user"] == "alice" and a["startedTime"] >= 0
            and a["id"] == result["app"]] == [result["app"]]
