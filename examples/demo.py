"""knit end to end on the embedded cluster: start HDFS + YARN, run a command in 3 YARN
containers through knit's ApplicationMaster, print what each container said, tear it all
down.

Run: bash scripts/demo.sh
"""
from __future__ import annotations

import logging
import sys
import time

from knit import Knit, MiniCluster

log = logging.getLogger("knit.demo")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    began = time.monotonic()
    with MiniCluster(nodemanagers=2) as mc:
        log.info("cluster ready in %.1f s; HADOOP_CONF_DIR=%s", time.monotonic() - began,
                 mc.conf_dir)
        log.info("ResourceManager: %s", mc.resourcemanager_web)
        with Knit(mc.conf_dir) as k:
            started = time.monotonic()
            app_id = k.start('echo "hello from $CONTAINER_ID on $(hostname)"',
                             num_containers=3, memory=256, app_name="knit-demo")
            log.info("%s started in %.1f s", app_id, time.monotonic() - started)
            final = k.wait_for_completion(timeout=120)
            log.info("%s finished: %s", app_id, final)
            for c in k.get_containers():
                log.info("%s on %s: exit %s (%s)", c["id"], c["node"], c["exit_status"],
                         c["outcome"])
            said = {c: f["stdout"].strip() for c, f in k.logs().items() if f.get("stdout")}
            for container, line in sorted(said.items()):
                print(f"{container}: {line}")
        ok = final == "SUCCEEDED" and len(said) == 3
    log.info("cluster stopped; total %.1f s", time.monotonic() - began)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
