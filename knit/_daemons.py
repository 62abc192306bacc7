"""A pseudo-distributed Hadoop cluster: each daemon in its own JVM, from its own main class.

NameNode, DataNode, ResourceManager and NodeManagers run as on a real cluster (``hdfs
namenode``, ``yarn nodemanager``...), each reading a conf dir of its own, with the stock
capacity scheduler. Separate JVMs keep Hadoop's web apps apart (in one JVM they share
Guice's static filter pipeline, YARN-7747, which the embedded cluster has to mend), and
are closer to what users run. :class:`knit.MiniCluster` uses this for ``daemons=True``
(the default for Hadoop before 3.5).

Every daemon is started through ``knit.minicluster.DaemonMain``, which ends it when its
stdin reaches EOF: if this Python process dies, so does the cluster.

By default every daemon runs on this machine as ``localhost``. A daemon can run on another
host instead (:class:`Host`: the name it binds and advertises, and the command prefix that
runs a program there); the test suite puts hosts in Linux network namespaces
(tests/multihost.py).
"""
from __future__ import annotations

import logging
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import xml.sax.saxutils
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import requests

from . import java
from .config import acting_user
from .exceptions import InvalidArgumentError, MiniClusterError

logger = logging.getLogger(__name__)

_DAEMON_MAIN = "knit.minicluster.DaemonMain"
_LOG4J = "-Dlog4j.configuration=knit-minicluster-log4j.properties"
# A test cluster's JVMs compile with C1 alone: on 2 cores C2's compiler threads made a
# daemon cluster take 25 s to start, 14 s without them, and a test cluster never runs
# long enough for C2's faster code to pay that back. Its containers and AMs are untouched.
QUICK_JIT = "-XX:TieredStopAtLevel=1"
NAMENODE = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE = "org.apache.hadoop.hdfs.server.datanode.DataNode"
RESOURCEMANAGER = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NODEMANAGER = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
WEB_PROXY = "org.apache.hadoop.yarn.server.webproxy.WebAppProxyServer"
#: ResourceManager HA's leader election and state store (resourcemanagers=2): ZooKeeper's
#: standalone server, from the zookeeper jar already on Hadoop's classpath.
ZOOKEEPER = "org.apache.zookeeper.server.ZooKeeperServerMain"
#: The ResourceManager ids under HA, by index.
RM_IDS = ("rm0", "rm1")
#: yarn.resourcemanager.cluster-id of a test bed with HA (names its state in ZooKeeper).
HA_CLUSTER_ID = "knit-minicluster"
#: The ResourceManager's ports, by the keys of DaemonCluster.ports (one RM: as they are;
#: under HA each gets a suffix per RM, "rm_web-1") and the key of each address.
RM_PORT_KEYS = {"rm": "yarn.resourcemanager.address",
                "rm_scheduler": "yarn.resourcemanager.scheduler.address",
                "rm_tracker": "yarn.resourcemanager.resource-tracker.address",
                "rm_admin": "yarn.resourcemanager.admin.address",
                "rm_web": "yarn.resourcemanager.webapp.address"}
KDC = "knit.minicluster.KdcMain"
HDFS_DIRS = "knit.minicluster.HdfsDirs"
# The ResourceManager logs each NodeManager it registers (knit-minicluster-log4j.properties).
_REGISTERED = re.compile(r"registered with capability: .*assigned nodeId (\S+)")

#: Hadoop's shipped etc/hadoop/capacity-scheduler.xml, key for key: one queue, and
#: ApplicationMasters may use 10 % of it.
STOCK_CAPACITY_SCHEDULER = {
    "yarn.scheduler.capacity.maximum-applications": "10000",
    "yarn.scheduler.capacity.maximum-am-resource-percent": "0.1",
    "yarn.scheduler.capacity.resource-calculator":
        "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator",
    "yarn.scheduler.capacity.root.queues": "default",
    "yarn.scheduler.capacity.root.default.capacity": "100",
    "yarn.scheduler.capacity.root.default.user-limit-factor": "1",
    "yarn.scheduler.capacity.root.default.maximum-capacity": "100",
    "yarn.scheduler.capacity.root.default.state": "RUNNING",
    "yarn.scheduler.capacity.root.default.acl_submit_applications": "*",
    "yarn.scheduler.capacity.root.default.acl_administer_queue": "*",
    "yarn.scheduler.capacity.root.default.acl_application_max_priority": "*",
    "yarn.scheduler.capacity.root.default.maximum-application-lifetime": "-1",
    "yarn.scheduler.capacity.root.default.default-application-lifetime": "-1",
    "yarn.scheduler.capacity.node-locality-delay": "40",
    "yarn.scheduler.capacity.rack-locality-additional-delay": "-1",
    "yarn.scheduler.capacity.queue-mappings": "",
    "yarn.scheduler.capacity.queue-mappings-override.enable": "false",
    "yarn.scheduler.capacity.per-node-heartbeat.maximum-offswitch-assignments": "1",
}


_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out by itself (to connect() and bind(0))."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A TCP port nothing listens on now, for a daemon that binds it seconds later.

    It is taken below the kernel's ephemeral range: a port from bind(0) is free now but
    can be given to any outgoing connection before the daemon binds it (a NameNode's RPC
    port once went to one during the format, and its start failed with "Address already
    in use"). Ports above the floor are only used where the kernel has no such range.
    """
    floor = _ephemeral_floor()
    for _ in range(200):
        if floor > 12000:
            port = random.randrange(10000, floor)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise MiniClusterError("Found no free TCP port for the cluster's daemons")


def write_site(path: Path, properties: dict[str, str]) -> None:
    """A Hadoop configuration file holding `properties`."""
    esc = xml.sax.saxutils.escape
    body = "".join(f"  <property><name>{esc(k)}</name><value>{esc(v)}</value></property>\n"
                   for k, v in sorted(properties.items()))
    path.write_text(f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n')


def site_file_for(key: str) -> str:
    """Which site file a key belongs in."""
    if key.startswith("yarn.scheduler.capacity."):
        return "capacity-scheduler.xml"
    if key.startswith("yarn."):
        return "yarn-site.xml"
    if key.startswith("dfs."):
        return "hdfs-site.xml"
    return "core-site.xml"


def server_only(key: str) -> bool:
    """Keys a client's conf dir never gets: daemons' keytabs, local dirs, HTTP auth."""
    return (key.endswith((".keytab", ".keytab.file")) or key.startswith("hadoop.http.")
            or key == "fs.AbstractFileSystem.file.impl")


@dataclass(frozen=True)
class Host:
    """A machine daemons run on."""

    #: The name a daemon binds to and advertises to clients and the other daemons.
    name: str = "localhost"
    #: A command prefix that runs a program on that machine (with its environment and
    #: stdin): for example ``ip netns exec NS ...``. Empty: this machine.
    prefix: tuple[str, ...] = ()


#: Where a daemon runs unless told otherwise.
LOCAL = Host()


@dataclass
class Daemon:
    """One Hadoop daemon JVM."""

    name: str
    main_class: str
    conf_dir: Path
    log_path: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    #: Settings of this daemon alone (the ResourceManager's web UI, on a secure cluster).
    own_settings: dict[str, str] = field(default_factory=dict)
    #: A task that ends by itself (making HDFS dirs), not a daemon that serves.
    one_shot: bool = False
    #: The OS user it runs as (None: the user running this process).
    user: str | None = None
    proc: subprocess.Popen | None = None
    _log: object = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(deque(f, maxlen=lines))
        except OSError:
            return "(no log)"


class DaemonCluster:
    """NameNode, DataNode, ResourceManager and `nodemanagers` NodeManagers of Hadoop
    `hadoop_version`, each its own JVM on `java_home`, under `work_dir`.

    The clients' conf dir (`client_conf_dir`) gets the addresses and what every client
    needs; each daemon reads a conf dir of its own, with its local dirs and ports.

    `hosts` maps daemon names (``namenode``, ``datanode``, ``resourcemanager``,
    ``nodemanager-0``, ``webproxy``...; with ``datanodes`` > 1 ``datanode-0``...) to the
    :class:`Host` each runs on; a daemon it does not name runs here as ``localhost``.

    ``resourcemanagers=2`` is ResourceManager HA: ``resourcemanager-0`` and
    ``resourcemanager-1`` (rm-ids ``rm0``, ``rm1``) with automatic failover, elected through
    a ZooKeeper server (daemon ``zookeeper``, on localhost, its data under the work dir).
    The readiness checks reach the NameNode's and the ResourceManager's web ports by the
    names of their hosts, so this process must be on their network.
    """

    def __init__(self, work_dir: Path, client_conf_dir: Path, hadoop_version: str,
                 java_home: str, nodemanagers: int, nodemanager_memory_mb: int,
                 settings: dict[str, str], startup_timeout: float, heap_mb: int = 384,
                 kerberos: bool = False, users: dict[str, str] | None = None,
                 web_proxy: bool = False, homes: tuple[str, ...] = (),
                 hosts: dict[str, Host] | None = None, datanodes: int = 1,
                 resourcemanagers: int = 1) -> None:
        self.work = work_dir
        #: The NameNode's name dir (dfs.namenode.name.dir): formatted once it holds a VERSION.
        self.name_dir = work_dir / "hdfs-name"
        self.client_conf_dir = client_conf_dir
        self.version = hadoop_version
        self.java_home = java_home
        self.java_exe = java.java_of_home(java_home)
        self.nodemanagers = nodemanagers
        self.nm_memory_mb = nodemanager_memory_mb
        self.settings = settings
        self.timeout = startup_timeout
        self.heap_mb = heap_mb
        self.kerberos = kerberos
        #: OS users the daemons run as: {"hdfs": ..., "yarn": ...} (None: this process's).
        self.users = dict(users or {})
        self.web_proxy = web_proxy
        #: Users whose HDFS home is made (besides the one of whoever runs this).
        self.homes = homes
        self.hosts = dict(hosts or {})
        if self.hosts and (kerberos or self.users):
            # The KDC and the dirs of other OS users assume one machine (and a prefix run
            # as another user could not enter a namespace).
            raise InvalidArgumentError("Daemons on other hosts need kerberos=False and no users.")
        self.datanodes = datanodes
        if resourcemanagers not in (1, len(RM_IDS)):
            raise InvalidArgumentError(f"resourcemanagers must be 1 or {len(RM_IDS)} (HA), "
                                       f"got {resourcemanagers!r}")
        if resourcemanagers > 1 and (kerberos or self.users):
            # ZooKeeper would need SASL, and its data dir the YARN user's.
            raise InvalidArgumentError("resourcemanagers=2 needs kerberos=False and no daemon_users.")
        self.resourcemanagers = resourcemanagers
        #: On a secure cluster: what the KDC wrote (krb5_conf, principal, keytab, ...).
        self.realm: dict[str, str] = {}
        self._rm_web_settings: dict[str, str] = {}
        self.daemons: dict[str, Daemon] = {}
        self.cluster_jars = java.cluster_classpath(hadoop_version)
        self.knit_jar = str(java.knit_jar())
        self.ports = {k: free_port() for k in ("nn_rpc", "nn_http", *self._rm_port_keys(), "proxy")}
        p = self.ports
        nn = self.host_of("namenode").name
        self.addresses = {
            "default_fs": f"hdfs://{nn}:{p['nn_rpc']}",
            "webhdfs": f"http://{nn}:{p['nn_http']}/webhdfs/v1",
            # Under HA: the first ResourceManager's (MiniCluster asks which is active).
            "resourcemanager": self.rm_addresses()[0],
            "resourcemanager_web": self.rm_web_urls()[0],
            "namenode_web": f"http://{nn}:{p['nn_http']}",
        }

    # ------------------------------------------------------------------ ResourceManagers
    def rm_names(self) -> list[str]:
        """The ResourceManagers' daemon names: ``resourcemanager``, or under HA
        ``resourcemanager-0``, ``resourcemanager-1``."""
        if self.resourcemanagers == 1:
            return ["resourcemanager"]
        return [f"resourcemanager-{i}" for i in range(self.resourcemanagers)]

    def _rm_port_keys(self) -> list[str]:
        if self.resourcemanagers == 1:
            return list(RM_PORT_KEYS)
        return [f"{k}-{i}" for i in range(self.resourcemanagers) for k in RM_PORT_KEYS] + ["zk"]

    def _rm_port(self, kind: str, index: int) -> int:
        return self.ports[kind if self.resourcemanagers == 1 else f"{kind}-{index}"]

    def rm_addresses(self) -> list[str]:
        """Each ResourceManager's client RPC address (``host:port``), by index."""
        return [f"{self.host_of(n).name}:{self._rm_port('rm', i)}" for i, n in enumerate(self.rm_names())]

    def rm_web_urls(self) -> list[str]:
        """Each ResourceManager's web base URL, by index."""
        return [f"http://{self.host_of(n).name}:{self._rm_port('rm_web', i)}"
                for i, n in enumerate(self.rm_names())]

    def rm_ha_states(self) -> list[str]:
        """Each ResourceManager's ``haState`` (``ACTIVE``, ``STANDBY``...; ``DOWN`` when its
        REST API does not answer), by index."""
        states = []
        for url in self.rm_web_urls():
            try:
                info = requests.get(f"{url}/ws/v1/cluster/info", timeout=10).json()
                states.append(info["clusterInfo"]["haState"])
            except (requests.RequestException, ValueError, KeyError):
                states.append("DOWN")
        return states

    def active_rm(self) -> int | None:
        """The index of the ACTIVE ResourceManager, or None while none is."""
        states = self.rm_ha_states()
        return states.index("ACTIVE") if "ACTIVE" in states else None

    def _rm_properties(self) -> dict[str, str]:
        """Where the ResourceManager is, or under HA where each is, the election and the
        ids (each ResourceManager's own yarn.resourcemanager.ha.id is in its own conf)."""
        names = self.rm_names()
        if self.resourcemanagers == 1:
            rm = self.host_of(names[0]).name
            return {"yarn.resourcemanager.hostname": rm,
                    **{key: f"{rm}:{self._rm_port(kind, 0)}" for kind, key in RM_PORT_KEYS.items()}}
        props = {
            "yarn.resourcemanager.ha.enabled": "true",
            "yarn.resourcemanager.ha.rm-ids": ",".join(RM_IDS),
            "yarn.resourcemanager.cluster-id": HA_CLUSTER_ID,
            # ZKRMStateStore reads Hadoop 3's common key; the leader elector
            # (ActiveStandbyElectorBasedElectorService, Hadoop 3.3 to 3.5) YARN's own.
            "hadoop.zk.address": f"localhost:{self.ports['zk']}",
            "yarn.resourcemanager.zk-address": f"localhost:{self.ports['zk']}",
        }
        for i, (name, rm_id) in enumerate(zip(names, RM_IDS)):
            host = self.host_of(name).name
            props[f"yarn.resourcemanager.hostname.{rm_id}"] = host
            props.update({f"{key}.{rm_id}": f"{host}:{self._rm_port(kind, i)}"
                          for kind, key in RM_PORT_KEYS.items()})
        return props

    def host_of(self, daemon: str) -> Host:
        """The host daemon `daemon` runs on."""
        return self.hosts.get(daemon, LOCAL)

    def datanode_names(self) -> list[str]:
        return ["datanode"] if self.datanodes == 1 else [f"datanode-{i}" for i in range(self.datanodes)]

    def _data_dir(self, datanode: str) -> Path:
        """A DataNode's storage dir (dfs.datanode.data.dir)."""
        return self.work / ("hdfs-data" if datanode == "datanode" else f"hdfs-data-{datanode}")

    # ------------------------------------------------------------------ configuration
    def client_properties(self) -> dict[str, str]:
        """What every client and daemon reads: where the daemons are, and the cluster's
        few departures from Hadoop's defaults (each for a one-machine reason)."""
        p = self.ports
        nn = self.host_of("namenode").name
        classpath = [str(self.client_conf_dir), *self.cluster_jars]
        props = {
            "fs.defaultFS": self.addresses["default_fs"],
            "dfs.namenode.rpc-address": f"{nn}:{p['nn_rpc']}",
            "dfs.namenode.http-address": f"{nn}:{p['nn_http']}",
            "dfs.replication": "1",  # one DataNode (by default)
            **self._rm_properties(),
            # Containers find Hadoop where a real cluster puts it. No tarball here: the
            # jars Maven resolved for this version, after the clients' conf dir.
            "yarn.application.classpath": ",".join(classpath),
            # Logs of finished containers are kept in HDFS, as on most clusters.
            "yarn.log-aggregation-enable": "true",
            "yarn.nodemanager.remote-app-log-dir": "/tmp/logs",
        }
        if self.web_proxy:  # a proxy server of its own, not the one inside the ResourceManager
            props["yarn.web-proxy.address"] = f"{self.host_of('webproxy').name}:{p['proxy']}"
        props.update({k: v for k, v in self.settings.items() if not server_only(k)})
        return props

    def _server_properties(self, local: Path, host: str = "localhost") -> dict[str, str]:
        props = self.client_properties()
        props.update({
            "hadoop.tmp.dir": str(local / "tmp"),
            "dfs.namenode.name.dir": str(self.name_dir),
            "dfs.datanode.data.dir": str(self.work / "hdfs-data"),
            # The ResourceManager's node-attribute store (default /tmp/hadoop-yarn-<user>).
            "yarn.node-attribute.fs-store.root-dir": f"file://{local / 'node-attribute'}",
            "dfs.datanode.address": f"{host}:0",
            "dfs.datanode.http.address": f"{host}:0",
            "dfs.datanode.ipc.address": f"{host}:0",
            "dfs.datanode.hostname": host,
            # Developer disks are often over the 90 % at which a NodeManager calls itself
            # unhealthy.
            "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage":
                "99.5",
            # JVMs and Python reserve far more address space than they use: on one machine
            # the virtual-memory check only produces false kills.
            "yarn.nodemanager.vmem-check-enabled": "false",
            "yarn.nodemanager.resource.memory-mb": str(self.nm_memory_mb),
            "yarn.nodemanager.hostname": host,
            "yarn.nodemanager.local-dirs": str(local / "nm-local"),
            "yarn.nodemanager.log-dirs": str(local / "nm-logs"),
            # Without libhadoop.so (no Maven artifact has it) localization forks `chmod`
            # per file; knit's NioLocalFs sets permissions through java.nio instead.
            "fs.AbstractFileSystem.file.impl": "knit.minicluster.NioLocalFs",
        })
        props.update(self.settings)
        return props

    def _write_conf(self, name: str, own: dict[str, str]) -> Path:
        """A daemon's own conf dir (its local dirs, the shared addresses)."""
        local = self.work / name
        conf = local / "conf"
        conf.mkdir(parents=True)
        files: dict[str, dict[str, str]] = {
            "core-site.xml": {}, "hdfs-site.xml": {}, "yarn-site.xml": {},
            "capacity-scheduler.xml": dict(STOCK_CAPACITY_SCHEDULER)}
        for key, value in {**self._server_properties(local, self.host_of(name).name),
                           **own}.items():
            files[site_file_for(key)][key] = value
        for file_name, props in files.items():
            write_site(conf / file_name, props)
        return conf

    def _write_client_conf(self) -> None:
        self.client_conf_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, dict[str, str]] = {"core-site.xml": {}, "hdfs-site.xml": {},
                                            "yarn-site.xml": {}}
        for key, value in self.client_properties().items():
            if site_file_for(key) in files:
                files[site_file_for(key)][key] = value
        for file_name, props in files.items():
            write_site(self.client_conf_dir / file_name, props)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> dict[str, str]:
        """Format HDFS, start every daemon, and return the cluster's addresses once HDFS is
        out of safe mode and every NodeManager is RUNNING."""
        deadline = time.monotonic() + self.timeout
        (self.work / "tmp").mkdir(exist_ok=True)
        started = time.monotonic()
        if self.users:
            self._prepare_for_other_users()
        if self.kerberos:
            self._start_kdc(deadline)
        self._write_client_conf()
        # Everything starts at once: the NameNode formats HDFS first (in its own JVM, see
        # _spawn), and the DataNode and YARN wait for it by themselves.
        self._spawn(self._daemon("namenode", NAMENODE))
        for name in self.datanode_names():
            own = {} if name == "datanode" else {"dfs.datanode.data.dir": str(self._data_dir(name))}
            self._spawn(self._daemon(name, DATANODE, own_settings=own))
        if self.resourcemanagers > 1:
            self._spawn(self._zookeeper())
        for name, rm_id in zip(self.rm_names(), RM_IDS):
            own = {} if self.resourcemanagers == 1 else {"yarn.resourcemanager.ha.id": rm_id}
            self._spawn(self._daemon(name, RESOURCEMANAGER,
                                     own_settings={**self._rm_web_settings, **own}))
        for i in range(self.nodemanagers):
            # Fixed ports, as on a real cluster: a NodeManager started again is the same node
            # to the ResourceManager (which then ends the containers it no longer runs).
            host = self.host_of(f"nodemanager-{i}").name
            ports = {key: f"{host}:{free_port()}" for key in (
                "yarn.nodemanager.address", "yarn.nodemanager.webapp.address",
                "yarn.nodemanager.localizer.address")}
            self._spawn(self._daemon(f"nodemanager-{i}", NODEMANAGER, env={
                # Containers inherit both (they are on YARN's env whitelist): the Java they
                # run on, and the clients' configuration.
                "JAVA_HOME": self.java_home, "HADOOP_CONF_DIR": str(self.client_conf_dir)},
                own_settings=ports))
        if self.web_proxy:
            self._spawn(self._daemon("webproxy", WEB_PROXY))
        live = "a live DataNode" if self.datanodes == 1 else f"{self.datanodes} live DataNodes"
        self._wait(deadline, f"HDFS to leave safe mode with {live}", self._hdfs_ready)
        self._hdfs_dirs()
        active = "an active ResourceManager with " if self.resourcemanagers > 1 else ""
        self._wait(deadline, f"{active}{self.nodemanagers} NodeManagers to be RUNNING",
                   self._yarn_ready)
        logger.info("Hadoop %s daemons ready in %.1f s", self.version, time.monotonic() - started)
        return dict(self.addresses)

    def _zookeeper(self) -> Daemon:
        """A standalone ZooKeeper server on localhost, its data under the work dir."""
        zk_dir = self.work / "zookeeper-data"
        zk_dir.mkdir()
        cfg = self.work / "zookeeper.cfg"
        cfg.write_text("\n".join([
            "tickTime=2000", f"dataDir={zk_dir}", f"clientPort={self.ports['zk']}",
            "clientPortAddress=localhost",
            # ZooKeeper sets the system property zookeeper.<key> of each key it does not
            # know: its admin web server (Jetty, port 8080 by default) stays off.
            "admin.enableServer=false", ""]))
        return self._daemon("zookeeper", ZOOKEEPER, str(cfg))

    def _prepare_for_other_users(self) -> None:
        """Daemons that run as other OS users need to read the jars, which live in this
        user's Maven repository (often under a mode-700 home): they get hard links (else
        copies) in the work dir. HDFS's storage dirs belong to the HDFS user."""
        self.work.chmod(0o755)
        shared = self.work / "jars"
        shared.mkdir()
        placed = []
        for i, jar in enumerate([self.knit_jar, *self.cluster_jars]):
            target = shared / f"{i:03d}-{os.path.basename(jar)}"
            try:
                os.link(jar, target)
            except OSError:  # another file system
                shutil.copyfile(jar, target)
            target.chmod(0o644)
            placed.append(str(target))
        self.knit_jar, self.cluster_jars = placed[0], placed[1:]
        for path in (self.name_dir, *map(self._data_dir, self.datanode_names())):
            path.mkdir()
            _chown_tree(path, self.users.get("hdfs"))

    def _user_of(self, main_class: str) -> str | None:
        """The OS user a daemon runs as: HDFS's for HDFS daemons, YARN's for YARN's."""
        if main_class in (NAMENODE, DATANODE, HDFS_DIRS):
            return self.users.get("hdfs")
        if main_class in (RESOURCEMANAGER, NODEMANAGER, WEB_PROXY, ZOOKEEPER):
            return self.users.get("yarn")
        return None

    def _start_kdc(self, deadline: float) -> None:
        """A KDC in its own JVM; its principals, keytabs and the secure settings (defined
        by knit.minicluster.SecureRealm) then go into every daemon's configuration."""
        kdc_dir = self.work / "kdc"
        self._spawn(self._daemon("kdc", KDC, str(kdc_dir)))
        ready = kdc_dir / "ready"
        self._wait(deadline, "the KDC", ready.exists)
        self.realm = _properties(ready)
        self.settings = {**_properties(kdc_dir / "secure-site.properties"), **self.settings}
        self._rm_web_settings = _properties(kdc_dir / "resourcemanager-web.properties")
        self.addresses.update(krb5_conf=self.realm["krb5_conf"],
                              principal=self.realm["principal"], keytab=self.realm["keytab"])

    def _daemon(self, name: str, main_class: str, *args: str,
                env: dict[str, str] | None = None,
                own_settings: dict[str, str] | None = None, one_shot: bool = False) -> Daemon:
        conf = self._write_conf(name, own_settings or {})
        (conf.parent / "tmp").mkdir()
        daemon = Daemon(name, main_class, conf, self.work / "logs" / f"{name}.log", args,
                        env or {}, own_settings or {}, one_shot, self._user_of(main_class))
        _chown_tree(conf.parent, daemon.user)
        self.daemons[name] = daemon
        return daemon

    def _spawn(self, daemon: Daemon) -> Daemon:
        daemon.log_path.parent.mkdir(exist_ok=True)
        # On another host: its prefix runs the JVM there (stdin, env and cwd pass through).
        cmd = [*self.host_of(daemon.name).prefix,
               self.java_exe, f"-Xmx{self.heap_mb}m", "-XX:+UseSerialGC", QUICK_JIT,
               f"-Djava.io.tmpdir={daemon.conf_dir.parent / 'tmp'}",
               f"-Dhadoop.log.dir={self.work / 'logs'}",
               f"-Dyarn.log.dir={self.work / 'logs'}", *java.jvm_compat_options(), _LOG4J,
               *self._krb5_options(), _DAEMON_MAIN, *self._format_first(daemon), daemon.main_class,
               *daemon.args]
        # The classpath goes in CLASSPATH, which every Java reads (Java 8 has no @argfiles).
        jars = [str(daemon.conf_dir), self.knit_jar, *self.cluster_jars]
        env = dict(os.environ, CLASSPATH=os.pathsep.join(jars), JAVA_HOME=self.java_home,
                   HADOOP_CONF_DIR=str(daemon.conf_dir))
        env.pop("HADOOP_USER_NAME", None)  # a daemon is who it runs as
        env.update(daemon.env)
        if daemon.user:
            account = pwd.getpwnam(daemon.user)
            env.update(USER=daemon.user, LOGNAME=daemon.user, HOME=account.pw_dir)
        daemon._log = open(daemon.log_path, "ab")
        daemon.proc = subprocess.Popen(
            cmd, cwd=daemon.conf_dir.parent, env=env, stdin=subprocess.PIPE, stdout=daemon._log,
            stderr=subprocess.STDOUT, start_new_session=True, user=daemon.user,
            group=pwd.getpwnam(daemon.user).pw_gid if daemon.user else None,
            extra_groups=[] if daemon.user else None)
        return daemon

    def _format_first(self, daemon: Daemon) -> list[str]:
        """DaemonMain's flag to format HDFS first: for the NameNode of a new cluster (not
        one started again)."""
        new = not (self.name_dir / "current" / "VERSION").exists()
        return ["--format-namenode"] if daemon.main_class == NAMENODE and new else []

    def _krb5_options(self) -> list[str]:
        """Java finds the realm's KDC through java.security.krb5.conf."""
        return [f"-Djava.security.krb5.conf={self.realm['krb5_conf']}"] if self.realm else []

    def _await_exit(self, daemon: Daemon, deadline: float) -> None:
        try:
            code = daemon.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise MiniClusterError(f"{daemon.name} did not finish in time:\n{daemon.log_tail()}")
        if code != 0:
            raise MiniClusterError(f"{daemon.name} failed with exit code {code}:\n{daemon.log_tail()}")

    def _wait(self, deadline: float, what: str, ready) -> None:
        while True:
            for d in self.daemons.values():
                if not d.one_shot and d.proc is not None and d.proc.poll() is not None:
                    raise MiniClusterError(f"The {d.name} JVM exited with code "
                                           f"{d.proc.returncode} during start-up. Last lines of "
                                           f"its log ({d.log_path}):\n{d.log_tail()}")
            try:
                if ready():
                    return
            except (requests.RequestException, ValueError, KeyError, IndexError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise MiniClusterError(f"Timed out after {self.timeout:.0f} s waiting for {what}.")
            time.sleep(0.2)

    def _hdfs_ready(self) -> bool:
        bean = requests.get(f"{self.addresses['namenode_web']}/jmx",
                            params={"qry": "Hadoop:service=NameNode,name=FSNamesystemState"},
                            timeout=5).json()["beans"][0]
        return bean["FSState"] == "Operational" and bean["NumLiveDataNodes"] >= self.datanodes

    def _yarn_ready(self) -> bool:
        if self.kerberos:  # the REST API needs SPNEGO: count registrations in the RM's log
            log = self.daemons["resourcemanager"].log_path.read_text(errors="replace")
            return len(set(_REGISTERED.findall(log))) >= self.nodemanagers
        return self.running_nodes() == self.nodemanagers

    def running_nodes(self) -> int:
        """NodeManagers the (active) ResourceManager counts RUNNING; 0 under HA while none
        is active."""
        index = 0 if self.resourcemanagers == 1 else self.active_rm()
        if index is None:
            return 0
        nodes = requests.get(f"{self.rm_web_urls()[index]}/ws/v1/cluster/nodes",
                             params={"states": "RUNNING"}, timeout=5).json()
        return len((nodes.get("nodes") or {}).get("node") or [])

    def _hdfs_dirs(self) -> None:
        """What an administrator makes on a new cluster: a world-writable /tmp (YARN's
        aggregated logs go under it) and the users' homes."""
        users = dict.fromkeys([acting_user(), *self.homes])
        dirs = (("/tmp", "1777", None), *((f"/user/{u}", "755", u) for u in users))
        if self.kerberos:  # as the HDFS superuser: the NameNode's principal
            spec = [":".join(x for x in d if x) for d in dirs]
            done = self._spawn(self._daemon("hdfs-dirs", HDFS_DIRS, self.realm["service_principal"],
                                            self.realm["service_keytab"], *spec, one_shot=True))
            self._await_exit(done, time.monotonic() + 120)
            return
        for path, mode, owner in dirs:
            base = f"{self.addresses['webhdfs']}{path}"
            superuser = {"user.name": self.users.get("hdfs") or _login_name()}
            requests.put(base, params={"op": "MKDIRS", **superuser}, timeout=30).raise_for_status()
            requests.put(base, params={"op": "SETPERMISSION", "permission": mode, **superuser},
                         timeout=30).raise_for_status()
            if owner:
                requests.put(base, params={"op": "SETOWNER", "owner": owner, **superuser},
                             timeout=30).raise_for_status()

    def stop(self) -> None:
        """Stop the NodeManagers (which stop their containers), then the ResourceManager(s),
        then HDFS (and ZooKeeper). Safe to call more than once."""
        rank = {NODEMANAGER: 0, RESOURCEMANAGER: 1, KDC: 3}
        order = sorted(self.daemons.values(), key=lambda d: rank.get(d.main_class, 2))
        for d in order:
            self._stop_daemon(d)

    def _stop_daemon(self, d: Daemon, timeout: float = 30) -> None:
        if d.running():
            try:
                d.proc.stdin.close()  # DaemonMain exits; the daemon's shutdown hooks run
                d.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                logger.warning("%s did not stop on EOF; killing it", d.name)
                d.proc.kill()
                d.proc.wait()
        if d._log is not None:
            d._log.close()
            d._log = None

    def nodemanager_names(self) -> list[str]:
        return [f"nodemanager-{i}" for i in range(self.nodemanagers)]

    def kill_daemon(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a daemon's JVM (a crash, with SIGKILL) and wait for it to exit."""
        d = self._named(name)
        if d.running():
            d.proc.send_signal(sig)
            d.proc.wait(timeout=60)
        self._stop_daemon(d)

    def restart_daemon(self, name: str) -> None:
        """Start a stopped daemon again, with the same conf dir and local dirs."""
        d = self._named(name)
        if d.running():
            raise InvalidArgumentError(f"{name} is running; stop it first.")
        self._spawn(d)

    def _named(self, name: str) -> Daemon:
        if name not in self.daemons:
            raise InvalidArgumentError(f"No daemon {name!r}; there are {sorted(self.daemons)}.")
        return self.daemons[name]

    def log_paths(self) -> dict[str, str]:
        return {name: str(d.log_path) for name, d in self.daemons.items()}

    def serving(self) -> list[Daemon]:
        """The daemons that serve (all but the one-shot tasks)."""
        return [d for d in self.daemons.values() if not d.one_shot]

    def pids(self) -> list[int]:
        return [d.proc.pid for d in self.serving() if d.running()]


def _properties(path: Path) -> dict[str, str]:
    """key=value lines (as knit.minicluster.KdcMain writes them)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def _chown_tree(root: Path, user: str | None) -> None:
    """Give `root` and everything under it to `user` (nothing to do for None)."""
    if not user:
        return
    account = pwd.getpwnam(user)
    for path in [root, *root.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def _login_name() -> str:
    return pwd.getpwuid(os.getuid()).pw_name
