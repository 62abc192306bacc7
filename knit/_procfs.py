"""Reading the Linux process table: which processes live in a directory, how big a JVM got."""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def processes_under(directory: str | os.PathLike) -> list[int]:
    """Pids (other than ours) whose working directory is ``directory`` or below it.

    YARN starts every container in its own session with its working directory in the
    NodeManager's local dirs, so this finds container processes that outlived their
    NodeManager, which neither a process group nor a session would.
    """
    root = os.path.realpath(directory)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone, or not ours to read
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append(int(entry.name))
    return found


def kill_processes_under(directory: str | os.PathLike) -> list[int]:
    """SIGKILL every process :func:`processes_under` finds; return their pids."""
    pids = processes_under(directory)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if pids:
        logger.warning("Killed %d stray processes under %s: %s", len(pids), directory, pids)
        # SIGKILL is asynchronous: wait (briefly) until they are gone, so that removing
        # the directory next does not race with their last writes.
        deadline = time.monotonic() + 5
        while processes_under(directory) and time.monotonic() < deadline:
            time.sleep(0.05)
    return pids


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size of a live process (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmHWM for pid {pid}")


def process_name(pid: int) -> str:
    """The executable name of a process (``comm``: "java", "sleep"...), "" if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def am_jvm_pid(directory: str | os.PathLike, app_id: str, attempt: int = 1) -> int | None:
    """The JVM of an application's ApplicationMaster among the processes under
    ``directory`` (the embedded cluster's), found by its container's working directory."""
    marker = f"container_{app_id[len('application_'):]}_{attempt:02d}_000001"
    for pid in processes_under(directory):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.endswith(marker) and process_name(pid) == "java":
            return pid
    return None
