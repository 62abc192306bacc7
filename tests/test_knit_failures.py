"""Container failures: max_restarts (node exclusion is unit-tested in RestartsSuite)."""
from __future__ import annotations

import uuid

import pytest

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
