"""The kernel's view of YARN containers on this machine: which processes belong to which
container, when the kernel started them, how big the ApplicationMaster got.

Every MiniCluster container runs here, with its working directory
``<mc.work_dir>/.../appcache/<application id>/<container id>``; knit's
``_procfs.processes_under`` lists the processes whose cwd is under the cluster's work dir.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from knit._procfs import peak_rss_bytes, processes_under

CLK_TCK = os.sysconf("SC_CLK_TCK")


def boot_epoch() -> float:
    """Epoch seconds of the boot, to the microsecond.

    ``btime`` in /proc/stat is whole seconds, too coarse for start times; /proc/<pid>/stat's
    starttime counts CLOCK_BOOTTIME ticks, so boot = now - CLOCK_BOOTTIME (median of 5).
    """
    samples = sorted(time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) for _ in range(5))
    return samples[2]


def btime() -> int:
    """``btime`` from /proc/stat (whole seconds), recorded as a cross-check."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise ValueError("no btime in /proc/stat")


def start_epoch(pid: int, boot: float) -> float:
    """When the kernel started ``pid`` (field 22 of /proc/<pid>/stat), in epoch seconds;
    resolution 1/CLK_TCK (10 ms)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and ')'
    return boot + int(fields[19]) / CLK_TCK


def container_pattern(app_id: str) -> re.Pattern:
    """Matches the container ids of ``app_id`` in a path; group 1 is the container number."""
    cluster_ts, app_num = app_id.split("_")[1:3]
    return re.compile(rf"container_(?:e\d+_)?{cluster_ts}_{app_num}_\d+_(\d+)(?:/|$)")


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def app_processes(work_dir: str, app_id: str) -> list[tuple[int, int, str]]:
    """(pid, container number, command name) of the live processes in ``app_id``'s
    containers (container 1 is the ApplicationMaster)."""
    pattern = container_pattern(app_id)
    found = []
    for pid in processes_under(work_dir):
        try:
            m = pattern.search(os.readlink(f"/proc/{pid}/cwd"))
            if m:
                found.append((pid, int(m.group(1)), _comm(pid)))
        except OSError:  # exited meanwhile
            continue
    return found


def argv(pid: int) -> list[str]:
    """A process's arguments (empty once it has exited)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
    except OSError:
        return []


def command_starts(work_dir: str, app_id: str, command: list[str], boot: float,
                   seen: dict[int, float]) -> dict[int, float]:
    """Add to ``seen`` {pid: kernel start epoch} the processes running exactly ``command``
    (its argv) in the app's worker containers (not the AM's); returns ``seen``. The whole
    argv, not the name: knit's NodeManager watch may run `sleep 5` (where its idle-pipe
    wait fails), which must not count as the user's `sleep 60`."""
    for pid, number, name in app_processes(work_dir, app_id):
        if number > 1 and name == command[0] and pid not in seen and argv(pid) == command:
            try:
                seen[pid] = start_epoch(pid, boot)
            except OSError:
                continue
    return seen


def am_java(work_dir: str, app_id: str) -> int | None:
    """Pid of the ApplicationMaster's JVM (a ``java`` process in container 1), if any."""
    for pid, number, name in app_processes(work_dir, app_id):
        if number == 1 and name == "java":
            return pid
    return None


def am_memory(work_dir: str, app_id: str) -> dict:
    """{"pid", "vm_hwm_bytes", "vm_rss_bytes"} of the app's AM JVM."""
    pid = am_java(work_dir, app_id)
    if pid is None:
        raise RuntimeError(f"no java process in {app_id}'s AM container")
    rss = None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return {"pid": pid, "vm_hwm_bytes": peak_rss_bytes(pid), "vm_rss_bytes": rss}
