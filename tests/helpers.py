"""Small helpers the tests share: the process table, polling, the RM REST API."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, TypeVar

import requests

T = TypeVar("T")


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
