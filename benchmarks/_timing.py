"""Shared by the benchmarks: the ResourceManager's view of when containers run."""
from __future__ import annotations

import time

import requests

from knit import MiniCluster


def rm(mc: MiniCluster, path: str) -> dict:
    return requests.get(mc.resourcemanager_web + "/ws/v1/cluster" + path,
                        params={"user.name": "knit-bench"}, timeout=10).json()


def wait_all_running(mc: MiniCluster, name: str, n: int, t0: float, timeout: float = 300) -> float:
    """Seconds from t0 until the app called `name` has n + 1 running containers (AM too),
    polled every 50 ms."""
    while time.monotonic() - t0 < timeout:
        apps = (rm(mc, "/apps?states=RUNNING").get("apps") or {}).get("app") or []
        app = next((a for a in apps if a["name"] == name), None)
        if app and app["runningContainers"] >= n + 1:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise TimeoutError(f"{name}: {n} containers not running after {timeout} s")


def wait_idle(mc: MiniCluster) -> None:
    """Until no container runs anywhere, so each run starts from the same empty cluster."""
    while any(n["numContainers"] for n in rm(mc, "/nodes")["nodes"]["node"]):
        time.sleep(0.2)
