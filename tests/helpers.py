"""Small helpers the tests share: the process table, polling, DistributedShell."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable, TypeVar

import requests

from knit import java

T = TypeVar("T")

DSHELL_CLIENT = "org.apache.hadoop.yarn.applications.distributedshell.Client"
LOGS_CLI = "org.apache.hadoop.yarn.client.cli.LogsCLI"


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll until predicate() is truthy; return its value, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


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


def distributedshell_jar() -> str:
    """Path of Hadoop's DistributedShell jar, resolved by the Maven build."""
    return next(p for p in java.classpath("cluster") if "distributedshell" in p)


def distributedshell_args(command: str, containers: int, app_name: str) -> list[str]:
    return ["-jar", distributedshell_jar(), "-shell_command", command,
            "-num_containers", str(containers), "-container_memory", "128",
            "-master_memory", "256", "-appname", app_name]


def app_by_name(resourcemanager_web: str, name: str) -> dict | None:
    """The ResourceManager's report of the application called `name`, if there is one."""
    apps = requests.get(f"{resourcemanager_web}/ws/v1/cluster/apps", timeout=10).json()
    matches = [a for a in (apps.get("apps") or {}).get("app", []) if a["name"] == name]
    return matches[0] if matches else None


def stdout_by_container(logs_cli_output: str) -> dict[str, str]:
    """Split `yarn logs -log_files stdout` output into {container id: its stdout section}."""
    sections: dict[str, str] = {}
    current = None
    for line in logs_cli_output.splitlines():
        m = re.match(r"Container: (container_\S+)", line)
        if m:
            current = m.group(1)
            sections.setdefault(current, "")
        elif current:
            sections[current] += line + "\n"
    return sections
