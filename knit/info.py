"""What knit would use here: its version, the Java and Hadoop of its client JVM, the
Hadoop configuration, whether the ResourceManager answers, Kerberos (``knit info``)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from . import __version__, java
from .exceptions import KnitException
from .timeouts import KLIST_S, PROBE_S


def info(hadoop_conf_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """A report of knit's set-up on this machine, as plain data; each part that cannot be
    found carries an ``error`` saying why and what to do. Starts no JVM."""
    from .client_jvm import client_setup
    from .config import HadoopConfig, rm_get
    from .kerberos import Identity, uses_kerberos
    from .routes import route_to_resourcemanager

    report: dict[str, Any] = {"knit": __version__}
    try:
        report["jar"] = str(java.knit_jar())
    except KnitException as e:
        report["jar"] = {"error": str(e)}
    try:
        setup = client_setup()
        report["java"] = {"home": setup.java_home, "version": setup.java_version}
        report["hadoop_client"] = {"version": setup.hadoop_version, "source": setup.hadoop_source,
                                   "jars": len(setup.hadoop_classpath)}
    except KnitException as e:
        report["java"] = {"error": str(e)}
    try:
        config = HadoopConfig.load(hadoop_conf_dir)
    except KnitException as e:
        report["conf_dir"] = {"error": str(e)}
        return report
    report["conf_dir"] = config.conf_dir
    kerberos = uses_kerberos(config)
    report["kerberos"] = {"enabled": kerberos}
    auth = None
    if kerberos:
        report["kerberos"]["ticket"] = _has_ticket()
        try:
            auth = Identity.from_arguments(None, None).http_auth()
        except KnitException as e:
            report["kerberos"]["error"] = str(e)
    try:
        cluster = rm_get(config, "/ws/v1/cluster/info", timeout=PROBE_S, auth=auth)["clusterInfo"]
        report["resourcemanager"] = {"answers": True, "state": cluster.get("state"),
                                     "hadoop_version": cluster.get("hadoopVersion")}
    except KnitException as e:
        report["resourcemanager"] = {"answers": False, "error": str(e)}
    try:  # what a local-mode Dask scheduler would give its workers
        report["route_to_cluster"] = route_to_resourcemanager(config)
    except KnitException as e:
        report["route_to_cluster"] = {"error": str(e)}
    return report


def _has_ticket() -> bool | None:
    """Whether the ticket cache holds a valid ticket (``klist -s``); None without klist."""
    klist = shutil.which("klist")
    if klist is None:
        return None
    return subprocess.run([klist, "-s"], capture_output=True, timeout=KLIST_S).returncode == 0


def format_info(report: dict[str, Any]) -> str:
    """The report as lines a person reads."""
    def part(value: Any) -> str:
        if isinstance(value, dict) and "error" in value:
            return f"not usable: {value['error']}"
        return str(value)

    lines = [f"knit {report['knit']}", f"jar: {part(report['jar'])}"]
    j = report.get("java", {})
    lines.append("java: " + (part(j) if "error" in j else f"{j['version']} ({j['home']})"))
    if "hadoop_client" in report:
        h = report["hadoop_client"]
        lines.append(f"hadoop client: {h['version'] or 'version unknown'} from {h['source']} "
                     f"({h['jars']} jars)")
    lines.append(f"conf dir: {part(report['conf_dir'])}")
    if "kerberos" in report:
        k = report["kerberos"]
        state = "off" if not k["enabled"] else (
            "on, " + {True: "a ticket in the cache", False: "no ticket (run kinit)",
                      None: "ticket cache unknown (no klist)"}[k["ticket"]])
        lines.append(f"kerberos: {state}" + (f"; {k['error']}" if "error" in k else ""))
    if "resourcemanager" in report:
        r = report["resourcemanager"]
        lines.append("resourcemanager: " + (
            f"answers ({r['state']}, Hadoop {r['hadoop_version']})" if r["answers"]
            else f"does not answer: {r['error']}"))
    if "route_to_cluster" in report:
        lines.append(f"this machine toward the cluster: {part(report['route_to_cluster'])} "
                     "(a local Dask scheduler's address; YarnCluster(scheduler_host=...) "
                     "chooses another)")
    return "\n".join(lines)

