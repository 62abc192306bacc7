"""knit end to end on the embedded cluster: start HDFS + YARN, run a command in YARN
containers, read what each container printed from the aggregated logs, tear it all down.

Until `knit.Knit` lands, the containers are launched with Hadoop's own DistributedShell.
Run: bash scripts/demo.sh
"""
from __future__ import annotations

import logging
import sys
import time
import uuid

import requests

from knit import MiniCluster
from knit._hadoop_tools import (DSHELL_CLIENT, LOGS_CLI, distributedshell_args,
                                stdout_by_container)

log = logging.getLogger("knit.demo")
CONTAINERS = 3


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    started = time.monotonic()
    with MiniCluster(nodemanagers=2) as mc:
        log.info("cluster ready in %.1f s; HADOOP_CONF_DIR=%s", time.monotonic() - started,
                 mc.conf_dir)
        log.info("ResourceManager: %s", mc.resourcemanager_web)
        app_name = f"knit-demo-{uuid.uuid4().hex[:8]}"
        # No quotes: DistributedShell wraps the command in double quotes of its own.
        command = "echo hello from $CONTAINER_ID on $(hostname)"
        run = mc.run_hadoop_class(DSHELL_CLIENT,
                                  *distributedshell_args(command, CONTAINERS, app_name))
        if run.returncode != 0:
            log.error("DistributedShell failed:\n%s", run.stderr[-3000:])
            return 1
        apps = requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps", timeout=10).json()
        app = next(a for a in apps["apps"]["app"] if a["name"] == app_name)
        log.info("%s finished: %s", app["id"], app["finalStatus"])

        said: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while len(said) < CONTAINERS and time.monotonic() < deadline:
            time.sleep(1)  # logs are aggregated to HDFS a moment after the app ends
            logs = mc.run_hadoop_class(LOGS_CLI, "-applicationId", app["id"],
                                       "-log_files", "stdout")
            said = {c: out for c, out in stdout_by_container(logs.stdout).items()
                    if "hello from" in out}
        for container, out in sorted(said.items()):
            line = next(line for line in out.splitlines() if "hello from" in line)
            print(f"{container}: {line}")
        if len(said) != CONTAINERS:
            log.error("expected %d containers' greetings, found %d", CONTAINERS, len(said))
            return 1
    log.info("cluster stopped; total %.1f s", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
