"""Container and node failures: max_restarts and node exclusion."""
from __future__ import annotations

import time
import uuid

import pytest

from helpers import wait_for
from knit import Knit, KnitException


def containers(k: Knit, state: str | None = None, outcome: str | None = None) -> list[dict]:
    return [c for c in k.get_containers()
            if (state is None or c["state"] == state) and
            (outcome is None or c["outcome"] == outcome)]


def test_failing_container_is_relaunched_up_to_max_restarts(minicluster):
    with Knit(minicluster.conf_dir) as k:
        k.start("exit 3", num_containers=1, memory=256, max_restarts=2)
        assert k.wait_for_completion(timeout=120) == "FAILED"
        ended = containers(k)
        assert len(ended) == 3 and all(c["exit_status"] == 3 for c in ended)
        assert "failed" in k.status()["diagnostics"]


def test_a_replaced_failure_does_not_fail_the_application(minicluster, tmp_path):
    marker = tmp_path / f"first-{uuid.uuid4().hex}"
    # mkdir is atomic: the first container creates the marker and fails, the next succeeds.
    with Knit(minicluster.conf_dir) as k:
        k.start(f"if mkdir {marker} 2>/dev/null; then exit 4; fi; echo ok", num_containers=1,
                memory=256, max_restarts=1)
        assert k.wait_for_completion(timeout=120) == "SUCCEEDED"
        assert [c["outcome"] for c in containers(k)] == ["FAILED", "SUCCEEDED"]
        assert "were replaced" in k.status()["diagnostics"]


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_max_restarts_must_be_a_count(minicluster, bad):
    with pytest.raises(KnitException, match="max_restarts must be an integer"):
        Knit(minicluster.conf_dir).start("true", max_restarts=bad)


def test_node_where_containers_keep_failing_is_excluded(minicluster):
    """Containers fail on one NodeManager only: after 3 failures there, knit stops using
    it, and every container ends up running on the other."""
    import requests
    nodes = requests.get(f"{minicluster.resourcemanager_web}/ws/v1/cluster/nodes",
                         timeout=10).json()["nodes"]["node"]
    bad = sorted(n["id"] for n in nodes if n["state"] == "RUNNING")[0]
    bad_port = bad.rsplit(":", 1)[1]
    with Knit(minicluster.conf_dir) as k:
        # 3 containers and maybe the AM fit on one 4 GB NodeManager.
        k.start(f'[ "$NM_PORT" = {bad_port} ] && exit 5; sleep 600', num_containers=3,
                memory=256, max_restarts=20)
        # Containers on the bad node run for a moment before they exit: wait for all 3 on
        # the good one.
        wait_for(lambda: [c["node"] for c in containers(k, "RUNNING")].count(bad) == 0 and
                 len(containers(k, "RUNNING")) == 3, 120, "3 containers running on the good node")
        time.sleep(3)  # no more failures come: the bad node is no longer used
        assert len(containers(k, "RUNNING")) == 3
        failed = containers(k, outcome="FAILED")
        assert all(c["node"] == bad for c in failed)
        assert len(failed) <= 3  # excluded at the third failure: no fourth
