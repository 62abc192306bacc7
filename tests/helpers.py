"""Small helpers the tests share: the process table, polling, the RM REST API."""
from __future__ import annotations

import glob
import os
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest
import requests
from py4j.protocol import Py4JError, get_return_value

from knit import KnitException, MiniCluster, java

T = TypeVar("T")

ON_CI = os.environ.get("CI", "").lower() == "true"

#: The users the shared embedded cluster's user may act as (Hadoop's proxy users).
PROXY_USERS = ("alice", "bob")


def require_java() -> None:
    """Fail (CI) or skip (elsewhere) unless Java and knit's built jars are there."""
    try:
        java.find_java()
        java.knit_jar()
        java.cluster_classpath()
    except KnitException as e:
        (pytest.fail if ON_CI else pytest.skip)(f"needs Java and the JVM build: {e}")


def started(cluster: MiniCluster) -> MiniCluster:
    """`cluster`, started; a cluster that will not start fails (CI) or skips the tests."""
    require_java()
    try:
        cluster.start()
    except KnitException as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the cluster did not start: {e}")
    return cluster


def py4j_error(answer: str) -> Py4JError:
    """The error py4j raises for a JVM's `answer` to a call (py4j's wire format)."""
    try:
        get_return_value(answer, None, "t", "containers")
    except Py4JError as e:
        return e
    raise AssertionError(f"py4j took {answer!r} for a success")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.5,
             explain: Callable[[], str] | None = None) -> T:
    """Poll until predicate() is truthy; return its value, or fail naming `what` and, if
    given, what `explain()` says of the state then (an embedded cluster is gone by the
    time anyone reads a CI report)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"timed out after {timeout} s waiting for {what}"
            if explain is not None:
                try:
                    message += f"; {explain()}"
                except Exception as e:  # the explanation must not hide the timeout
                    message += f"; (no explanation: {e!r})"
            raise AssertionError(message)
        time.sleep(interval)


def yarn_state(rm_web: str, app=None) -> str:
    """What YARN has: each node's state and free memory, the applications it runs or
    holds (with what they hold and what they ask), and if `app` (a Knit or an Application)
    is given its containers (state, outcome, node, diagnostics) and pending asks as knit
    knows them. For `wait_for(explain=...)`."""
    nodes = requests.get(f"{rm_web}/ws/v1/cluster/nodes", timeout=10).json()["nodes"]["node"]
    apps = (requests.get(f"{rm_web}/ws/v1/cluster/apps", params={"states": "ACCEPTED,RUNNING"},
                         timeout=10).json().get("apps") or {}).get("app", [])
    parts = [f"nodes: {[(n['id'], n['state'], n['availMemoryMB']) for n in nodes]}",
             "applications (id, state, allocated MB, reserved MB, containers, asks, diagnostics): " +
             str([(a["id"], a["state"], a.get("allocatedMB"), a.get("reservedMB"), a.get("runningContainers"),
                                      [(r.get("numContainers"), r.get("resourceName"),
                                        (r.get("capability") or {}).get("memory"))
                                       for r in a.get("resourceRequests") or []], a.get("diagnostics"))
                                     for a in apps])]
    if app is not None:
        parts.append(f"containers: {[(c.id, c.state, c.outcome, c.node, c.diagnostics) for c in app.get_containers()]}")
        parts.append(f"pending: {app.pending_containers()}")
    return "; ".join(parts)


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def pids_with_arg(fragment: str) -> list[int]:
    """Pids whose command line contains `fragment` (the process table, as `ps` reads it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace")
            except OSError:
                continue
            if fragment in cmdline and pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def children_with_arg(fragment: str) -> list[int]:
    """This process's children whose command line contains `fragment` (not those of other
    test runs on the machine)."""
    def parent(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return -1
    return [p for p in pids_with_arg(fragment) if parent(p) == os.getpid()]


def app_by_name(resourcemanager_web: str, name: str) -> dict | None:
    """The ResourceManager's report of the application called `name`, if there is one."""
    apps = requests.get(f"{resourcemanager_web}/ws/v1/cluster/apps", timeout=10).json()
    matches = [a for a in (apps.get("apps") or {}).get("app", []) if a["name"] == name]
    return matches[0] if matches else None



def cwd_of(pid: int) -> str:
    """The working directory of `pid`, or "" if it is gone or unreadable."""
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


_RM_CONTAINER_LOG = "org.apache.hadoop.yarn.server.resourcemanager.rmcontainer.RMContainerImpl"


def log_rm_container_states(minicluster) -> None:
    """Have the ResourceManager log its containers' state changes (INFO, through its
    /logLevel page) to the cluster's log, for :func:`wait_until_the_rm_sees_them_running`:
    call it before the containers start."""
    requests.get(f"{minicluster.resourcemanager_web}/logLevel",
                 params={"log": _RM_CONTAINER_LOG, "level": "INFO"}, timeout=10).raise_for_status()


def wait_until_the_rm_sees_them_running(minicluster, container_ids, timeout: float = 30) -> None:
    """Wait until the ResourceManager holds each container RUNNING, which it does once the
    container's NodeManager reported it in a heartbeat (up to a second after it started).

    Only such containers survive the death of their ApplicationMaster: YARN stops the
    others. No REST call shows that state: this reads the ResourceManager's log, which
    :func:`log_rm_container_states` must have turned on before the containers started.
    """
    def all_running() -> bool:
        text = Path(minicluster.log_path).read_text(errors="replace")
        return all(f"{c} Container Transitioned from ACQUIRED to RUNNING" in text
                   for c in container_ids)
    wait_for(all_running, timeout, f"the ResourceManager to see {sorted(container_ids)} running")


def container_pids(minicluster, container_ids) -> dict[str, set[int]]:
    """The processes of each container (found by their working directory)."""
    from knit._procfs import processes_under
    found: dict[str, set[int]] = {c: set() for c in container_ids}
    for pid in processes_under(minicluster.work_dir):
        cwd = cwd_of(pid)
        for c in container_ids:
            if cwd.endswith(c):
                found[c].add(pid)
    return found


def app_attempts(resourcemanager_web: str, app_id: str) -> list[dict]:
    """The ResourceManager's attempts of an application, oldest first."""
    answer = requests.get(f"{resourcemanager_web}/ws/v1/cluster/apps/{app_id}/appattempts",
                          timeout=10).json()
    return sorted((answer.get("appAttempts") or {}).get("appAttempt", []), key=lambda a: a["id"])


#: For clusters whose tests are not about the AM's class-data archive: no first AM on a
#: node spends 11 CPU-seconds writing one, holding its container (and the next test's
#: slot) meanwhile. An administrator's own switch (yarn.nodemanager.admin-env; see
#: docs/knit.md); the compat and field clusters, and the session's, keep archives on.
NO_CLASS_ARCHIVE = {"yarn.nodemanager.admin-env":
                    "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX,KNIT_AM_CLASS_ARCHIVE=off"}


def class_archives(mc) -> list[str]:
    """The AM class-data archives the cluster's NodeManagers hold."""
    return glob.glob(f"{mc.work_dir}/**/usercache/*/knit-cds/am-*.jsa", recursive=True)


def hdfs_status(mc, path: str, user: str | None = None) -> dict | None:
    """WebHDFS's FileStatus of `path` on a MiniCluster (as `user`, by default this one), or
    None when it does not exist."""
    import getpass
    answer = requests.get(f"{mc.webhdfs_url}{path}", params={
        "op": "GETFILESTATUS", "user.name": user or getpass.getuser()}, timeout=10)
    return answer.json()["FileStatus"] if answer.status_code == 200 else None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def app_state(mc, app_id: str) -> str:
    """The ResourceManager's state of an application (RUNNING, FINISHED...)."""
    return requests.get(f"{mc.resourcemanager_web}/ws/v1/cluster/apps/{app_id}",
                        timeout=10).json()["app"]["state"]
