"""The knit command line, each command run as a user runs it: a process of its own."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from helpers import wait_for
from knit import Knit

APP_ID = re.compile(r"^application_\d+_\d+$")


def knit_cli(*args: str, conf: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    extra = ["--hadoop-conf-dir", conf] if conf else []
    verbose = [a for a in args if a == "-v"]
    rest = [a for a in args if a != "-v"]
    return subprocess.run([sys.executable, "-m", "knit", *verbose, *rest, *extra],
                          capture_output=True, text=True, timeout=timeout)


def ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.mark.unit
def test_version_and_help_list_every_command():
    assert re.fullmatch(r"knit \S+\n", ok(knit_cli("--version")))
    helptext = ok(knit_cli("--help"))
    for command in ("start", "ls", "status", "logs", "scale", "kill", "clean", "env", "dask", "info"):
        assert re.search(rf"^\s+{command}\s", helptext, re.M), command


def test_an_application_from_start_to_kill(minicluster):
    conf = minicluster.conf_dir
    started = ok(knit_cli("start", "echo hello from $CONTAINER_ID; sleep 600", "-n", "1",
                          "--memory", "256", "--name", "cli-app", conf=conf))
    app_id = started.strip()
    assert APP_ID.match(app_id) and started == app_id + "\n"  # its id alone on stdout
    watcher = Knit(conf)
    watcher.app_id = app_id
    try:
        listed = wait_for(lambda: next((a for a in json.loads(ok(knit_cli("ls", "--json", conf=conf)))
                                        if a["app_id"] == app_id and a["containers"] == 1), None),
                          90, "the application listed with its container")
        assert listed["name"] == "cli-app" and listed["state"] == "RUNNING"
        assert "knit" in listed["tags"]
        text = ok(knit_cli("ls", conf=conf))
        assert re.search(rf"^{app_id}\s+cli-app\s+RUNNING\s+1\s+\d+s$", text, re.M), text

        status = json.loads(ok(knit_cli("status", app_id, "--json", conf=conf)))
        assert status["report"]["state"] == "RUNNING"
        assert [c["state"] for c in status["containers"]] == ["RUNNING"]
        assert app_id in ok(knit_cli("status", app_id, conf=conf))

        assert ok(knit_cli("scale", app_id, "2", conf=conf)).strip() == \
            f"{app_id}: main containers 1 -> 2"
        wait_for(lambda: len([c for c in json.loads(ok(knit_cli("status", app_id, "--json", conf=conf)))
                              ["containers"] if c["state"] == "RUNNING"]) == 2, 90, "2 containers")
        wait_for(lambda: ok(knit_cli("logs", app_id, conf=conf)).count("hello from") == 2, 30,
                 "both containers' output")

        follow = subprocess.Popen([sys.executable, "-m", "knit", "logs", app_id, "--follow",
                                   "--hadoop-conf-dir", conf], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(5)
            assert ok(knit_cli("kill", app_id, conf=conf)).strip() == f"{app_id}: FINISHED (SUCCEEDED)"
            out, err = follow.communicate(timeout=60)
        finally:
            follow.kill()
        assert follow.returncode == 0, err[-2000:]
        assert out.count("hello from") == 2  # each line once, though read again each second
        assert app_id not in ok(knit_cli("ls", conf=conf))
        done = [a for a in json.loads(ok(knit_cli("ls", "--all", "--json", conf=conf)))
                if a["app_id"] == app_id]
        assert [(a["state"], a["final_status"]) for a in done] == [("FINISHED", "SUCCEEDED")]
    finally:
        watcher.kill()


def test_errors_are_one_line_with_an_exit_code_of_their_kind(minicluster):
    conf = minicluster.conf_dir
    missing = knit_cli("status", "application_1_0001", conf=conf)
    assert missing.returncode == 3
    assert missing.stderr.startswith("knit: error: ") and missing.stderr.count("\n") == 1
    assert "Traceback" not in missing.stderr
    verbose = knit_cli("-v", "status", "application_1_0001", conf=conf)
    assert verbose.returncode == 3 and "Traceback" in verbose.stderr
    too_big = knit_cli("start", "true", "--memory", "999999", conf=conf)
    assert too_big.returncode == 1 and "No NodeManager can hold" in too_big.stderr
    assert too_big.stderr.count("\n") == 1 and too_big.stdout == ""
    usage = knit_cli("scale", "application_1_0001", "-3", conf=conf)
    assert usage.returncode == 2
    no_conf = knit_cli("ls", conf="/nonexistent/conf")
    assert no_conf.returncode == 1 and no_conf.stderr.startswith("knit: error: ")


def test_env_commands(minicluster, tmp_path, monkeypatch):
    from test_env import make_local_package
    monkeypatch.setenv("KNIT_ENV_CACHE", str(tmp_path / "cache"))
    archive = ok(knit_cli("env", "create", "cli-env", str(make_local_package(tmp_path)))).strip()
    assert archive.endswith("cli-env.tar.gz")
    app_id = ok(knit_cli("start", "python -c 'import knit_probe_pkg'", "-n", "1", "--memory",
                         "256", "--env", archive, conf=minicluster.conf_dir)).strip()
    watcher = Knit(minicluster.conf_dir)
    watcher.app_id = app_id
    assert watcher.wait_for_completion(timeout=180) == "SUCCEEDED"
    listed = ok(knit_cli("env", "ls", conf=minicluster.conf_dir))
    assert re.search(r"^cli-env\.tar\.gz\s+[0-9a-f]{12}\s", listed, re.M), listed
    assert ok(knit_cli("env", "rm", "cli-env", conf=minicluster.conf_dir)).strip() == "removed 1"
    assert "cli-env" not in ok(knit_cli("env", "ls", conf=minicluster.conf_dir))
    assert knit_cli("env", "rm", "cli-env", conf=minicluster.conf_dir).returncode == 1


def test_a_dask_cluster_from_the_shell(minicluster):
    pytest.importorskip("distributed")
    from distributed import Client
    from knit.dask import YarnCluster
    conf = minicluster.conf_dir
    out = ok(knit_cli("dask", "start", "--workers", "1", "--worker-memory", "512 MiB",
                      "--scheduler-memory", "512 MiB", conf=conf)).splitlines()
    app_id, address = out
    assert APP_ID.match(app_id) and address.startswith("tls://")
    watcher = Knit(conf)
    watcher.app_id = app_id
    try:
        cluster = YarnCluster.from_application_id(app_id, conf, shutdown_on_close=False,
                                                  progress=False)
        with Client(cluster) as client:
            assert client.submit(lambda x: x * 2, 21).result() == 42
        cluster.close()
        assert watcher.status().state == "RUNNING"  # let go, not ended
        assert "dask" in next(a for a in Knit(conf).applications() if a["app_id"] == app_id)["tags"]
        assert ok(knit_cli("scale", app_id, "2", conf=conf)).strip() == \
            f"{app_id}: worker containers 1 -> 2"
        assert ok(knit_cli("dask", "stop", app_id, conf=conf)).strip() == f"{app_id}: stopped"
        wait_for(lambda: watcher.status().state == "FINISHED", 60, "the cluster to end")
        assert watcher.status().final_status == "SUCCEEDED"
    finally:
        watcher.kill()
