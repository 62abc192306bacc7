"""knit on several hosts: a master (NameNode, ResourceManager, web proxy), two worker hosts
(DataNode + NodeManager each) and an edge host for the client, each a Linux network
namespace with a name and hosts file of its own (tests/multihost.py). Client code runs on
the edge: each test runs a Python script or the CLI there.

Needs root and `ip`, `unshare` and `nft`; under CI=true their absence fails the tests.
"""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import ON_CI, require_java
from multihost import EDGE, WORKERS, TestBed


def require_namespaces() -> None:
    """Fail (CI) or skip (elsewhere) unless this process can make network namespaces."""
    missing = [tool for tool in ("ip", "unshare", "nft") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = "needs root" if os.geteuid() != 0 else f"needs {', '.join(missing)}"
        (pytest.fail if ON_CI else pytest.skip)(
            f"the multi-host test bed {why} (network namespaces; Debian: iproute2, "
            "util-linux, nftables)")


@pytest.fixture(scope="module")
def bed():
    require_java()
    require_namespaces()
    testbed = TestBed()
    try:
        testbed.start()
    except Exception as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the multi-host test bed did not start: {e}")
    print(f"multi-host test bed ready in {testbed.setup_seconds:.1f} s")
    yield testbed
    testbed.stop()


def node_host(node_id: str) -> str:
    return node_id.rsplit(":", 1)[0]


def test_containers_spread_over_both_worker_hosts(bed):
    """Four 1 GB containers and the AM do not fit on one 4 GB NodeManager: YARN places them
    on both worker hosts, and each container runs under its host's name."""
    result = bed.python_on_edge("""
        import json, socket, time
        from knit import Knit
        with Knit() as k:
            k.start("hostname; exec sleep 600", num_containers=4, memory=1024, app_name="mh-spread")
            deadline = time.monotonic() + 180
            while sum(c.state == "RUNNING" for c in k.get_containers()) < 4:
                assert time.monotonic() < deadline, k.get_containers()
                time.sleep(0.5)
            containers = {c.id: c.node for c in k.get_containers()}
            deadline = time.monotonic() + 60
            while True:  # each container's stdout, once its first line is there
                out = {c: f["stdout"].strip() for c, f in k.logs().items() if c in containers}
                if all(out.get(c) for c in containers) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        print(json.dumps({"client": socket.gethostname(), "nodes": containers, "stdout": out}))
    """)
    assert result["client"] == EDGE
    hosts = {cid: node_host(node) for cid, node in result["nodes"].items()}
    assert len(hosts) == 4
    assert set(hosts.values()) == set(WORKERS), hosts
    for cid, host in hosts.items():
        assert result["stdout"][cid] == host  # the container runs on its node, under its name

