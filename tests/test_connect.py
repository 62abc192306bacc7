"""Coming back to a running application from another process: `knit.connect`."""
from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import textwrap

import requests

from helpers import wait_for
from knit import Knit

ATTACH = textwrap.dedent("""
    import json, sys, time
    import knit
    conf, app_id = sys.argv[1], sys.argv[2]
    app = knit.connect(app_id, conf)
    app.add_containers(1)
    deadline = time.monotonic() + 120
    while sum(c.state == "RUNNING" for c in app.get_containers()) < 2:
        assert time.monotonic() < deadline, "no second container"
        time.sleep(0.3)
    first = sorted(c.id for c in app.get_containers() if c.state == "RUNNING")[0]
    app.remove_containers(first)
    while next(c for c in app.get_containers() if c.id == first).outcome != "RELEASED":
        assert time.monotonic() < deadline, "the removed container did not end"
        time.sleep(0.3)
    logs = app.logs()
    state = app.status().state
    app.kill()
    print(json.dumps({"state": state, "removed": first,
                      "stdout": sorted(f["stdout"] for c, f in logs.items())}))
""")


def hdfs_status(minicluster, path: str) -> dict | None:
    answer = requests.get(f"{minicluster.webhdfs_url}{path}",
                          params={"op": "GETFILESTATUS", "user.name": getpass.getuser()}, timeout=10)
    return answer.json()["FileStatus"] if answer.status_code == 200 else None


def test_another_process_attaches_scales_reads_logs_and_ends_it(minicluster):
    k = Knit(minicluster.conf_dir)
    app_id = k.start("echo started; sleep 600", num_containers=1, memory=256, detached=True)
    try:
        wait_for(lambda: any(c.state == "RUNNING" for c in k.get_containers()), 60, "a container")
        secrets = hdfs_status(minicluster, f"/user/{getpass.getuser()}/.knit/{app_id}/knit-client.json")
        assert secrets["permission"] == "600"  # in a mode-700 dir: the user's alone
        run = subprocess.run([sys.executable, "-c", ATTACH, minicluster.conf_dir, app_id],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads(run.stdout.strip().splitlines()[-1])
        assert result["state"] == "RUNNING"
        assert result["stdout"].count("started\n") >= 2  # the first and the added one
        # The other process ended it: as its owner, so SUCCEEDED.
        wait_for(lambda: k.status().state == "FINISHED", 60, "the application to finish")
        assert k.status().final_status == "SUCCEEDED"
    finally:
        k.kill()


def test_another_user_cannot_attach(minicluster):
    k = Knit(minicluster.conf_dir)
    app_id = k.start("sleep 600", num_containers=0, detached=True, keep_alive=True)
    try:
        attempt = subprocess.run(
            [sys.executable, "-c", "import knit, sys; knit.connect(sys.argv[2], sys.argv[1])",
             minicluster.conf_dir, app_id], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, HADOOP_USER_NAME="mallory"))
        assert attempt.returncode != 0
        assert "ApplicationStateError" in attempt.stderr
        assert "not a running knit application of this user" in attempt.stderr
        assert k.status().state == "RUNNING"  # untouched
    finally:
        k.kill()
