"""A cluster of several hosts on one machine, made of Linux network namespaces: the test bed
of tests/test_multihost.py.

    host              runs                                    address
    knitmh-master     NameNode, ResourceManager, web proxy    10.77.0.2
    knitmh-worker1    DataNode, NodeManager                   10.77.0.3
    knitmh-worker2    DataNode, NodeManager                   10.77.0.4
    knitmh-edge       the client (the tests' Python scripts)  10.77.0.5

Each host is a network namespace with its loopback up and one veth into a bridge, which
lives in a namespace of its own (knitmh-switch) with no address and no route: nothing
in the bed reaches anything outside it, and nothing outside reaches it. Every program
started on a host gets the host's name (a UTS namespace of its own, `unshare -u`) and the
host's hosts file (/etc/netns/<host>/hosts, which `ip netns exec` mounts over /etc/hosts),
naming every host of the bed; no DNS server is reachable.

The Hadoop daemons are knit._daemons.DaemonCluster's (one JVM each), each started on its
host through a command prefix. Their controller (this file run as a script: ``serve``)
runs on the master, where its readiness checks reach the NameNode and ResourceManager by
name, and ends the daemons when its stdin closes (so when the test process dies).

Everything is named knitmh-*: :meth:`TestBed.start` first removes what a crashed run left
(its processes, namespaces and /etc/netns dirs), and a lock keeps two beds from running at
once on one machine.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PREFIX = "knitmh-"
SWITCH = f"{PREFIX}switch"
BRIDGE = "knitmh-br"
SUBNET = "10.77.0"
MASTER, WORKER1, WORKER2, EDGE = (f"{PREFIX}{h}" for h in ("master", "worker1", "worker2", "edge"))
#: Each host's address in the bed.
ADDRESSES = {MASTER: f"{SUBNET}.2", WORKER1: f"{SUBNET}.3", WORKER2: f"{SUBNET}.4",
             EDGE: f"{SUBNET}.5"}
WORKERS = (WORKER1, WORKER2)
#: Where each daemon runs (DaemonCluster's daemon names).
PLACEMENT = {"namenode": MASTER, "resourcemanager": MASTER, "webproxy": MASTER,
             "datanode-0": WORKER1, "nodemanager-0": WORKER1,
             "datanode-1": WORKER2, "nodemanager-1": WORKER2}
NETNS_ETC = Path("/etc/netns")
LOCK = Path(tempfile.gettempdir()) / "knitmh.lock"
FIREWALL_TABLE = "knitmh_firewall"
#: Memory of each NodeManager: 4 GB, so an application of an AM and four 1 GB
#: containers cannot fit on one worker host.
NODEMANAGER_MEMORY_MB = 4096
STARTUP_TIMEOUT_S = 240

logger = logging.getLogger(__name__)


class BedError(RuntimeError):
    """The test bed could not be made."""


def _run(*cmd: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise BedError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def on_host(host: str, hosts_file: str | os.PathLike | None = None) -> list[str]:
    """A command prefix that runs a program on `host`: in its network namespace, under its
    name and with its hosts file (or `hosts_file` instead, mounted over /etc/hosts in the
    mount namespace `ip netns exec` makes for that program alone)."""
    if hosts_file is None:
        return ["ip", "netns", "exec", host, "unshare", "--uts", "sh", "-c",
                'hostname "$0" && exec "$@"', host]
    return ["ip", "netns", "exec", host, "unshare", "--uts", "sh", "-c",
            'hostname "$0" && mount --bind "$1" /etc/hosts && shift && exec "$@"', host,
            str(hosts_file)]


def hosts_file_text(own_loopback_name: str | None = None) -> str:
    """A hosts file naming every host of the bed; `own_loopback_name` is mapped to 127.0.1.1
    instead of its address, as Debian and Ubuntu write a machine's own name."""
    lines = ["127.0.0.1 localhost"]
    if own_loopback_name:
        lines.append(f"127.0.1.1 {own_loopback_name}")
    lines += [f"{ip} {name}" for name, ip in ADDRESSES.items() if name != own_loopback_name]
    return "\n".join(lines) + "\n"


def bed_namespaces() -> list[str]:
    """The network namespaces of a bed (this one's, or one a crashed run left)."""
    listed = _run("ip", "netns", "list").stdout.split("\n")
    return [line.split()[0] for line in listed if line.startswith(PREFIX)]


def _pids_in(namespace: str) -> list[int]:
    answer = _run("ip", "netns", "pids", namespace, check=False).stdout.split()
    return [int(p) for p in answer if p.isdigit()]


def remove_namespaces() -> None:
    """Kill every process in a bed's namespaces, then delete them (with them go their veths
    and the bridge) and their /etc/netns dirs."""
    namespaces = bed_namespaces()
    for ns in namespaces:
        for pid in _pids_in(ns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(_pids_in(ns) for ns in namespaces) and time.monotonic() < deadline:
        time.sleep(0.2)
    for ns in namespaces:
        _run("ip", "netns", "delete", ns, check=False)
    for path in NETNS_ETC.glob(f"{PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
    left = bed_namespaces()
    if left:
        raise BedError(f"Could not delete the network namespaces {left}")


def remove_leftovers() -> None:
    """What a crashed run left: processes, namespaces, /etc/netns dirs and work dirs."""
    remove_namespaces()
    from knit._procfs import kill_processes_under
    for work in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if work.is_dir():
            kill_processes_under(str(work))
            shutil.rmtree(work, ignore_errors=True)


class TestBed:
    """Four hosts in network namespaces, and Hadoop's daemons on them.

    :meth:`start` makes everything and :meth:`stop` removes everything, also after a
    :meth:`start` that failed half-way.
    """

    __test__ = False  # not a test class, for pytest

    def __init__(self, hadoop_version: str | None = None, settings: dict[str, str] | None = None):
        from knit import java
        self.hadoop_version = hadoop_version or java.DEFAULT_HADOOP_VERSION
        self.settings = dict(settings or {})
        self.work_dir: Path | None = None
        self.addresses: dict[str, str] = {}
        self.daemon_logs: dict[str, str] = {}
        #: host:port of YARN's web proxy.
        self.web_proxy = ""
        self.setup_seconds: float | None = None
        self._controller: subprocess.Popen | None = None
        self._lock = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "TestBed":
        started = time.monotonic()
        self._lock = open(LOCK, "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise BedError(f"Another multi-host test bed runs on this machine (it holds {LOCK}).")
        try:
            remove_leftovers()
            self.work_dir = Path(tempfile.mkdtemp(prefix=PREFIX))
            self._make_network()
            self._start_cluster()
        except BaseException:
            self.stop()
            raise
        self.setup_seconds = time.monotonic() - started
        logger.info("multi-host test bed ready in %.1f s", self.setup_seconds)
        return self

    def stop(self) -> None:
        """Stop the daemons (through their controller), kill whatever still runs on the
        bed's hosts, delete the namespaces and remove the work dir. Safe to call twice."""
        controller, self._controller = self._controller, None
        try:
            if controller is not None:
                self._stop_controller(controller)
        finally:
            try:
                remove_namespaces()
            finally:
                if self.work_dir is not None:
                    from knit._procfs import kill_processes_under
                    kill_processes_under(str(self.work_dir))
                    shutil.rmtree(self.work_dir, ignore_errors=True)
                    self.work_dir = None
                if self._lock is not None:
                    LOCK.unlink(missing_ok=True)  # while held, so no other bed locks it meanwhile
                    self._lock.close()  # releases the lock
                    self._lock = None

    @staticmethod
    def _stop_controller(controller: subprocess.Popen) -> None:
        try:
            controller.stdin.close()  # the controller stops the daemons in order
            controller.wait(timeout=90)
        except (OSError, subprocess.TimeoutExpired):
            logger.warning("the bed's controller did not stop the cluster in time; killing it")
            controller.kill()
            controller.wait()

    def _make_network(self) -> None:
        _run("ip", "netns", "add", SWITCH)
        _run("ip", "-n", SWITCH, "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "-n", SWITCH, "link", "set", BRIDGE, "up")
        for host, address in ADDRESSES.items():
            _run("ip", "netns", "add", host)
            port = f"v-{host[len(PREFIX):]}"
            _run("ip", "-n", SWITCH, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                 "netns", host)
            _run("ip", "-n", SWITCH, "link", "set", port, "master", BRIDGE, "up")
            _run("ip", "-n", host, "addr", "add", f"{address}/24", "dev", "eth0")
            _run("ip", "-n", host, "link", "set", "eth0", "up")
            _run("ip", "-n", host, "link", "set", "lo", "up")
            etc = NETNS_ETC / host
            etc.mkdir(parents=True)
            (etc / "hosts").write_text(hosts_file_text())
            # No name server: every name of the bed is in its hosts file, and a lookup of
            # any other name stays on loopback.
            (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        for ns in (SWITCH, *ADDRESSES):
            default = _run("ip", "-n", ns, "route", "show", "default").stdout.strip()
            if default:
                raise BedError(f"{ns} has a default route ({default}); the bed must have none")

    def _start_cluster(self) -> None:
        from knit import java
        from helpers import NO_CLASS_ARCHIVE
        _, java_home = java.find_java()
        spec = {
            "work": str(self.work_dir / "cluster"), "conf": str(self.conf_dir),
            "hadoop_version": self.hadoop_version, "java_home": java_home,
            "settings": {**NO_CLASS_ARCHIVE, **self.settings},
            "hosts": {daemon: [host, on_host(host)] for daemon, host in PLACEMENT.items()},
        }
        (self.work_dir / "cluster").mkdir()
        spec_path = self.work_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        log = open(self.work_dir / "controller.log", "wb")
        try:
            self._controller = subprocess.Popen(
                [*on_host(MASTER), sys.executable, __file__, "serve", str(spec_path)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        ready, failed = self.work_dir / "ready.json", self.work_dir / "failed.txt"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S + 60
        while not ready.exists():
            if failed.exists() or self._controller.poll() is not None:
                time.sleep(0.5)  # the rest of its log
                raise BedError(f"The cluster did not start on the bed: "
                               f"{failed.read_text() if failed.exists() else ''}\n"
                               f"{self.controller_log()}")
            if time.monotonic() > deadline:
                raise BedError(f"The cluster was not ready in time:\n{self.controller_log()}")
            time.sleep(0.2)
        answer = json.loads(ready.read_text())
        self.addresses, self.daemon_logs = answer["addresses"], answer["logs"]
        self.web_proxy = answer["web_proxy"]

    def controller_log(self, lines: int = 60) -> str:
        try:
            text = (self.work_dir / "controller.log").read_text(errors="replace")
        except (OSError, TypeError):
            return "(no controller log)"
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ use
    @property
    def conf_dir(self) -> Path:
        """The clients' Hadoop conf dir (naming the master by its hostname)."""
        return self.work_dir / "conf"

    @property
    def resourcemanager_web(self) -> str:
        return self.addresses["resourcemanager_web"]

    @property
    def default_fs(self) -> str:
        return self.addresses["default_fs"]

    def edge_env(self, **extra: str) -> dict[str, str]:
        """The environment of a client program on the edge: this process's (PYTHONPATH
        included), with HADOOP_CONF_DIR the clients' conf dir."""
        return dict(os.environ, HADOOP_CONF_DIR=str(self.conf_dir), **extra)

    def run_on_edge(self, *cmd: str, timeout: float = 300,
                    hosts_file: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
        """Run `cmd` on the edge host, to completion; its output is returned as text."""
        return subprocess.run([*on_host(EDGE, hosts_file), *cmd], env=self.edge_env(),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def python_on_edge(self, script: str, *args: str, timeout: float = 300,
                       hosts_file: str | os.PathLike | None = None) -> dict:
        """Run a Python `script` (``sys.argv[1:]`` are `args`) on the edge host with this
        interpreter; it prints one JSON line last, which is returned."""
        done = self.run_on_edge(sys.executable, "-c", textwrap.dedent(script), *args,
                                timeout=timeout, hosts_file=hosts_file)
        if done.returncode != 0:
            raise AssertionError(f"the script on the edge failed ({done.returncode}):\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def write_hosts_file(self, name: str, text: str) -> Path:
        path = self.work_dir / name
        path.write_text(text)
        return path

    @contextlib.contextmanager
    def edge_firewall(self):
        """nftables on the edge host: new connections from the worker hosts are dropped
        (answers to the edge's own connections pass)."""
        workers = ", ".join(ADDRESSES[w] for w in WORKERS)
        rules = textwrap.dedent(f"""\
            table inet {FIREWALL_TABLE} {{
              chain input {{
                type filter hook input priority 0; policy accept;
                ip saddr {{ {workers} }} ct state new drop
              }}
            }}
            """)
        _run("ip", "netns", "exec", EDGE, "nft", "-f", "-", input=rules)
        try:
            yield
        finally:
            _run("ip", "netns", "exec", EDGE, "nft", "delete", "table", "inet", FIREWALL_TABLE,
                 check=False)


# ---------------------------------------------------------------------- the controller
def serve(spec_path: str) -> None:
    """On the master: start the daemons, write their addresses to ready.json beside the
    spec, and stop them when stdin closes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from knit._daemons import DaemonCluster, Host
    spec = json.loads(Path(spec_path).read_text())
    here = Path(spec_path).parent
    hosts = {daemon: Host(name, tuple(prefix)) for daemon, (name, prefix) in spec["hosts"].items()}
    cluster = DaemonCluster(
        Path(spec["work"]), Path(spec["conf"]), spec["hadoop_version"], spec["java_home"],
        nodemanagers=2, nodemanager_memory_mb=NODEMANAGER_MEMORY_MB, settings=spec["settings"],
        startup_timeout=STARTUP_TIMEOUT_S, web_proxy=True, hosts=hosts, datanodes=2)
    try:
        try:
            addresses = cluster.start()
        except Exception as e:
            (here / "failed.txt").write_text(str(e))
            raise
        ready = here / "ready.json.part"
        web_proxy = cluster.client_properties()["yarn.web-proxy.address"]
        ready.write_text(json.dumps({"addresses": addresses, "logs": cluster.log_paths(),
                                     "web_proxy": web_proxy}))
        ready.rename(here / "ready.json")
        sys.stdin.read()  # until the test process closes it, or dies
    finally:
        cluster.stop()


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 3:
        sys.exit("usage: multihost.py serve SPEC_JSON")
    serve(sys.argv[2])
