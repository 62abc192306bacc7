"""Hadoop's own tools, run against a cluster: DistributedShell and `yarn logs`.

Used by the demo, the tests and the benchmarks to show what plain Hadoop does on the
embedded cluster; not part of knit's public API.
"""
from __future__ import annotations

import re

from . import java

DSHELL_CLIENT = "org.apache.hadoop.yarn.applications.distributedshell.Client"
LOGS_CLI = "org.apache.hadoop.yarn.client.cli.LogsCLI"


def distributedshell_jar() -> str:
    """Path of Hadoop's DistributedShell jar, resolved by the Maven build."""
    return next(p for p in java.cluster_classpath() if "distributedshell" in p)


def distributedshell_args(command: str, containers: int, app_name: str,
                          container_memory_mb: int = 128) -> list[str]:
    """Arguments of DistributedShell's Client running `command` in `containers` containers."""
    return ["-jar", distributedshell_jar(), "-shell_command", command,
            "-num_containers", str(containers), "-container_memory", str(container_memory_mb),
            "-master_memory", "256", "-appname", app_name]


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
