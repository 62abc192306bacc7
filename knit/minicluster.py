"""``MiniCluster``: a real HDFS + YARN cluster in one child JVM, for demos and tests."""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Sequence

import requests

from . import java
from ._daemons import QUICK_JIT, DaemonCluster
from ._procfs import kill_processes_under
from .config import acting_user
from .exceptions import (ApplicationStateError, ConfigurationError, InvalidArgumentError,
                         KnitException, MiniClusterError)
from .validation import check_user_name

logger = logging.getLogger(__name__)

_MAIN_CLASS = "knit.minicluster.MiniClusterMain"
_LOG4J = "-Dlog4j.configuration=knit-minicluster-log4j.properties"


def _checked_daemon_users(users: dict[str, str] | None, daemons: bool) -> dict[str, str]:
    """{"hdfs": user, "yarn": user}, checked: existing OS users, and root to become them."""
    if not users:
        return {}
    if not daemons:
        raise InvalidArgumentError("daemon_users needs daemons=True.")
    if not isinstance(users, dict) or not set(users) <= {"hdfs", "yarn"}:
        raise InvalidArgumentError(f"daemon_users maps 'hdfs' and 'yarn' to OS users, got {users!r}")
    import pwd
    for role, name in users.items():
        try:
            account = pwd.getpwnam(name)
        except (KeyError, TypeError):
            raise InvalidArgumentError(f"daemon_users[{role!r}]: there is no OS user {name!r}; "
                                       f"make one (useradd --system {name}).") from None
        if account.pw_uid != os.geteuid() and os.geteuid() != 0:
            raise InvalidArgumentError(f"Running daemons as {name} needs root.")
    return dict(users)


class MiniCluster:
    """A real Hadoop cluster on this machine: NameNode + DataNode and ResourceManager +
    NodeManagers, either from Hadoop's own MiniDFSCluster and MiniYARNCluster in one child
    JVM (the default for Hadoop 3.5), or as Hadoop's own daemons, each its own JVM from its
    main class (``daemons=True``, the default before 3.5), like a pseudo-distributed
    cluster with the stock capacity scheduler.

    YARN's defaults are kept (NodeManager heartbeat 1000 ms, capacity scheduler), so
    timings mean what they would on a real cluster. Containers run as real processes on
    this machine and find Hadoop through ``yarn.application.classpath``. Log aggregation
    (to HDFS ``/tmp/logs``), the ResourceManager REST API and WebHDFS are on.

    Parameters
    ----------
    nodemanagers : int
        Number of NodeManagers (all on this host).
    conf_dir : str or path, optional
        Where to write core-site.xml, hdfs-site.xml and yarn-site.xml for clients. By
        default a directory inside the cluster's temporary work dir, removed by
        :meth:`stop`; a directory given here is kept.
    nodemanager_memory_mb : int
        Memory each NodeManager offers to containers.
    startup_timeout : float
        Seconds to wait for the cluster to be ready.
    java_heap_mb : int
        Maximum heap of the cluster JVM.
    config : dict of str, optional
        Hadoop settings applied on top of everything else, e.g.
        ``{"yarn.scheduler.capacity.schedule-asynchronously.enable": "false"}``.
    hadoop_version : str
        The Hadoop line to run: ``"3.3.6"``, ``"3.4.2"`` or ``"3.5.0"`` (the default), to
        test against the version a cluster runs.
    java_home : str or path, optional
        The Java the cluster runs on (and so its containers: the ApplicationMaster and
        every command get it as ``JAVA_HOME``). By default ``$JAVA_HOME``, else ``java``
        on PATH. Hadoop 3.5 needs Java 17; older lines run on 8 and newer.
    daemons : bool, optional
        Run each daemon in its own JVM from its own main class (see above), reading its own
        conf dir, with Hadoop's stock capacity-scheduler.xml (ApplicationMasters may use
        10 % of the queue). By default True for Hadoop before 3.5, and False for 3.5: the
        lines are tested so. (In one JVM, Hadoop alone breaks the ResourceManager's web UI,
        and before 3.5 its REST API, YARN-7747; the embedded cluster mends that.)
    daemon_users : dict, optional
        With daemons: the OS users HDFS's and YARN's daemons run as, e.g. ``{"hdfs": "hdfs",
        "yarn": "yarn"}`` (needs root; the users must exist). HDFS's user is then its
        superuser, and containers run as YARN's, as on most clusters without Kerberos.
    homes : list of str
        HDFS home dirs to make, ``/user/<name>`` owned by that user, besides the one of the
        user running this (``$HADOOP_USER_NAME`` if set).
    proxy_users : list of str
        Users whom the user running this may act as through Hadoop's proxy users
        (``hadoop.proxyuser.<this user>.hosts`` and ``.users``), with their HDFS homes: a
        service's test bed (``ClusterClient(proxy_user=...)``, :mod:`knit.gateway`).
    web_proxy : bool
        With daemons: run YARN's web proxy as a daemon of its own
        (``yarn.web-proxy.address``), not inside the ResourceManager.
    resourcemanagers : int
        With daemons: 1 (the default), or 2 for ResourceManager HA: daemons
        ``resourcemanager-0`` and ``resourcemanager-1`` (rm-ids ``rm0``, ``rm1``) with
        automatic failover, elected through an embedded ZooKeeper server (daemon
        ``zookeeper``); the clients' conf dir names both. Choose the state store with
        `config` (``ZKRMStateStore`` is the production choice under HA). Not with
        `kerberos` or `daemon_users`.
    kerberos : bool
        Secure the cluster: a KDC (Hadoop's MiniKdc) in the same JVM, Kerberos RPC for HDFS
        and YARN, block access tokens, and SPNEGO on the ResourceManager's REST API. A
        principal named after the OS user and its keytab are made for clients:
        :attr:`principal`, :attr:`keytab`, and :attr:`krb5_conf` (point ``KRB5_CONFIG`` at
        it). Delegation token lifetimes can be shortened through `config`
        (``dfs.namenode.delegation.token.max-lifetime``, ms).
    ticket_lifetime : int, optional
        With `kerberos` (not `daemons`): the KDC's longest ticket lifetime in seconds, to
        test how logins renew themselves.

    Examples
    --------
    >>> with MiniCluster(nodemanagers=2) as mc:                   # doctest: +SKIP
    ...     print(mc.conf_dir, mc.resourcemanager_web)

    The JVM stops when :meth:`stop` is called, when the ``with`` block ends, and when the
    Python process that started it exits, however it exits: it watches its stdin.
    """

    def __init__(
        self,
        nodemanagers: int = 2,
        conf_dir: str | os.PathLike | None = None,
        nodemanager_memory_mb: int = 4096,
        startup_timeout: float = 120.0,
        java_heap_mb: int = 768,
        config: dict[str, str] | None = None,
        kerberos: bool = False,
        hadoop_version: str = java.DEFAULT_HADOOP_VERSION,
        java_home: str | os.PathLike | None = None,
        daemons: bool | None = None,
        daemon_users: dict[str, str] | None = None,
        homes: Sequence[str] = (),
        proxy_users: Sequence[str] = (),
        web_proxy: bool = False,
        ticket_lifetime: int | None = None,
        resourcemanagers: int = 1,
    ) -> None:
        for name, value, low in (("nodemanagers", nodemanagers, 1),
                                 ("nodemanager_memory_mb", nodemanager_memory_mb, 256),
                                 ("java_heap_mb", java_heap_mb, 256)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InvalidArgumentError(f"{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(kerberos, bool):
            raise InvalidArgumentError(f"kerberos must be True or False, got {kerberos!r}")
        self.kerberos = kerberos
        if not startup_timeout > 0:
            raise InvalidArgumentError(f"startup_timeout must be positive, got {startup_timeout!r}")
        self.nodemanagers = nodemanagers
        self.nodemanager_memory_mb = nodemanager_memory_mb
        self.startup_timeout = float(startup_timeout)
        self.java_heap_mb = java_heap_mb
        self._requested_conf_dir = conf_dir
        self.config = dict(config or {})
        for key, value in self.config.items():
            if not isinstance(key, str) or not isinstance(value, str) or not key or "=" in key:
                raise InvalidArgumentError(f"config must map Hadoop keys to strings; bad entry {key!r}")
        self.hadoop_version = java.check_hadoop_version(hadoop_version)
        if daemons is None:  # the lines before 3.5 are tested as daemons (docs/clusters.md)
            daemons = not java.version_at_least(self.hadoop_version, (3, 5))
        if not isinstance(daemons, bool):
            raise InvalidArgumentError(f"daemons must be True, False or None, got {daemons!r}")
        self.daemons = daemons
        self.daemon_users = _checked_daemon_users(daemon_users, daemons)
        for what, names in (("homes", homes), ("proxy_users", proxy_users)):
            if isinstance(names, str) or not isinstance(names, (list, tuple)):
                raise InvalidArgumentError(f"{what} must be a list of user names, got {names!r}")
            for name in names:
                check_user_name(name, what)
        self.proxy_users = tuple(proxy_users)
        if ticket_lifetime is not None and (not kerberos or daemons or isinstance(
                ticket_lifetime, bool) or not isinstance(ticket_lifetime, int) or ticket_lifetime < 1):
            raise InvalidArgumentError("ticket_lifetime needs kerberos=True and daemons=False, "
                                       f"and is a number of seconds >= 1; got {ticket_lifetime!r}")
        self.ticket_lifetime = ticket_lifetime
        if self.proxy_users:
            service = acting_user()
            self.config = {f"hadoop.proxyuser.{service}.hosts": "*",
                           f"hadoop.proxyuser.{service}.users": ",".join(self.proxy_users),
                           **self.config}
        self.homes = tuple(dict.fromkeys([*homes, *self.proxy_users]))
        if web_proxy and not daemons:
            raise InvalidArgumentError("web_proxy=True needs daemons=True.")
        self.web_proxy = bool(web_proxy)
        if resourcemanagers not in (1, 2) or isinstance(resourcemanagers, bool):
            raise InvalidArgumentError(f"resourcemanagers must be 1 or 2 (HA), got {resourcemanagers!r}")
        if resourcemanagers > 1 and (not daemons or kerberos or self.daemon_users):
            raise InvalidArgumentError("resourcemanagers=2 needs daemons=True, kerberos=False "
                                       "and no daemon_users.")
        self.resourcemanagers = resourcemanagers
        self._java_home = None if java_home is None else os.fspath(java_home)
        self.conf_dir: str | None = None
        self._backend: DaemonCluster | None = None
        self._stops = 0  # stop_nodemanager calls, naming their answer files
        self.work_dir: str | None = None
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self._addresses: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "MiniCluster":
        """Start the cluster; return once HDFS has left safe mode and every NodeManager
        is RUNNING.

        Raises
        ------
        KnitException
            If the conf dir cannot be written, Java or knit's jars are missing, or the JVM
            dies or times out during start-up (the message carries its log's tail). Nothing
            is left running in any of these cases.
        """
        if self._proc is not None:
            raise ApplicationStateError("This MiniCluster is already started; stop() it first.")
        java_exe, java_home = self._java()
        jars = [str(java.knit_jar()), *java.cluster_classpath(self.hadoop_version)]
        self.work_dir = tempfile.mkdtemp(prefix="knit-minicluster-")  # mode 700
        atexit.register(self.stop)
        try:
            self.conf_dir = self._prepare_conf_dir()
            if self.daemons:
                self._backend = DaemonCluster(
                    Path(self.work_dir), Path(self.conf_dir), self.hadoop_version, java_home,
                    self.nodemanagers, self.nodemanager_memory_mb, self.config,
                    self.startup_timeout, kerberos=self.kerberos, users=self.daemon_users,
                    web_proxy=self.web_proxy, homes=self.homes,
                    resourcemanagers=self.resourcemanagers)
                self._addresses = self._backend.start()
            else:
                self._launch(java_exe, java_home, jars)
                self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("MiniCluster ready: conf dir %s, ResourceManager %s",
                    self.conf_dir, self.resourcemanager_web)
        return self

    def stop(self) -> None:
        """Stop the cluster and remove its work dir; leaves no JVM or container behind.

        Safe to call more than once.
        """
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()  # the JVM stops the cluster and exits on EOF
                # A clean stop takes a few seconds; Hadoop's own stop has been seen to
                # hang (once, in a full CI run), and a killed JVM loses nothing here.
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                logger.warning("MiniCluster JVM %d did not stop on EOF; killing it", proc.pid)
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.work_dir is not None:
            # Containers whose NodeManager died without ending them still live here.
            kill_processes_under(self.work_dir)
            shutil.rmtree(self.work_dir, ignore_errors=True)
            if os.path.exists(self.work_dir):  # a file appeared while removing: once more
                kill_processes_under(self.work_dir)
                shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
        self._addresses = {}
        atexit.unregister(self.stop)

    def __enter__(self) -> "MiniCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses
    @property
    def running(self) -> bool:
        """True while the cluster JVM (with daemons: every daemon's JVM) is alive."""
        if self._backend is not None:
            return all(d.running() for d in self._backend.serving())
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the cluster JVM (with daemons: the ResourceManager's; under HA the
        active one's, else the first running one's)."""
        if self._backend is not None:
            rm = self._backend.daemons.get(self._rm_name(self._current_rm()))
            return rm.proc.pid if rm is not None and rm.running() else None
        return self._proc.pid if self._proc is not None else None

    @property
    def pids(self) -> list[int]:
        """Process ids of every JVM of the cluster."""
        if self._backend is not None:
            return self._backend.pids()
        return [self._proc.pid] if self.running else []

    @property
    def java_home(self) -> str:
        """The Java the cluster and its containers run on."""
        return self._java()[1]

    @property
    def resourcemanager_web(self) -> str:
        """Base URL of the ResourceManager's web UI (``.../cluster``) and REST API
        (``.../ws/v1/cluster``). Under HA: the active ResourceManager's at the time of the
        call, or the first's while none is active (each is in
        :attr:`resourcemanager_web_urls`)."""
        self._address("resourcemanager_web")  # started?
        return self.resourcemanager_web_urls[self._current_rm()]

    @property
    def resourcemanager_address(self) -> str:
        """``host:port`` of the ResourceManager's client RPC. Under HA: the active one's,
        as :attr:`resourcemanager_web`."""
        address = self._address("resourcemanager")
        if self._backend is None:
            return address
        return self._backend.rm_addresses()[self._current_rm()]

    @property
    def resourcemanager_web_urls(self) -> list[str]:
        """Each ResourceManager's web base URL, by index (one without HA)."""
        if self._backend is None:
            return [self._address("resourcemanager_web")]
        return self._backend.rm_web_urls()

    def active_resourcemanager(self) -> int:
        """The index of the ACTIVE ResourceManager, as each answers at
        ``/ws/v1/cluster/info`` (``haState``); 0 without HA.

        Raises
        ------
        MiniClusterError
            Under HA, when no ResourceManager is active (the states are in the message).
        """
        self._address("resourcemanager_web")
        if self.resourcemanagers == 1:
            return 0
        active = self._backend.active_rm()
        if active is None:
            raise MiniClusterError(f"No ResourceManager is active: {self._backend.rm_ha_states()}")
        return active

    def _current_rm(self) -> int:
        """The active ResourceManager's index, else the first running one's, else 0."""
        if self._backend is None or self.resourcemanagers == 1:
            return 0
        active = self._backend.active_rm()
        if active is not None:
            return active
        running = [i for i, n in enumerate(self._backend.rm_names())
                   if n in self._backend.daemons and self._backend.daemons[n].running()]
        return running[0] if running else 0

    def _rm_name(self, index: int) -> str:
        return "resourcemanager" if self.resourcemanagers == 1 else f"resourcemanager-{index}"

    @property
    def default_fs(self) -> str:
        """The HDFS URI (``fs.defaultFS``)."""
        return self._address("default_fs")

    @property
    def webhdfs_url(self) -> str:
        """Base URL of WebHDFS (``http://host:port/webhdfs/v1``)."""
        return self._address("webhdfs")

    @property
    def krb5_conf(self) -> str:
        """The Kerberos configuration for clients of a ``kerberos=True`` cluster (its KDC)."""
        return self._kerberos_address("krb5_conf")

    @property
    def principal(self) -> str:
        """The user principal made for clients of a ``kerberos=True`` cluster."""
        return self._kerberos_address("principal")

    @property
    def keytab(self) -> str:
        """Keytab of :attr:`principal` (mode 600, removed by :meth:`stop`)."""
        return self._kerberos_address("keytab")

    @property
    def log_path(self) -> str | None:
        """The cluster JVM's log file (with daemons: the ResourceManager's, under HA the
        active one's); removed by :meth:`stop`."""
        if self._backend is not None:
            return self._backend.log_paths()[self._rm_name(self._current_rm())]
        return os.path.join(self.work_dir, "minicluster.log") if self.work_dir else None

    @property
    def daemon_logs(self) -> dict[str, str]:
        """With ``daemons=True``: each daemon's log file, by name (``namenode``,
        ``resourcemanager``, ``nodemanager-0``...)."""
        return self._backend.log_paths() if self._backend is not None else {}

    def stop_nodemanager(self, node: int | str, timeout: float = 60) -> str:
        """Stop a NodeManager of the running cluster, as a node failure: `node` is its
        index or its node id (``host:port``, as containers report it). Returns the node id
        once the ResourceManager no longer counts it as running.

        Its containers end. The ResourceManager notices when the node misses its
        heartbeats for ``yarn.nm.liveness-monitor.expiry-interval-ms`` (10 minutes by
        default: pass a few seconds in ``MiniCluster(config=...)`` for tests), then tells
        the applications their containers were lost. `timeout` bounds that wait.
        """
        if not self.running:
            raise ApplicationStateError("The MiniCluster is not running; start() it first.")
        if isinstance(node, bool) or not isinstance(node, (int, str)) or \
                (isinstance(node, int) and not 0 <= node < self.nodemanagers) or \
                (isinstance(node, str) and not node.replace(":", "").replace(".", "")
                 .replace("-", "").isalnum()):
            raise InvalidArgumentError(f"node must be an index 0 to {self.nodemanagers - 1} or a "
                                f"node id host:port, got {node!r}")
        self._stops += 1
        answer = Path(self.work_dir) / f"nodemanager-stop-{self._stops}"
        self._proc.stdin.write(f"stop-nodemanager {node} {answer.name}\n".encode())
        self._proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not answer.exists():
            if time.monotonic() > deadline:
                raise MiniClusterError(f"NodeManager {node} did not stop within {timeout} s")
            time.sleep(0.1)
        node_id = answer.read_text()
        if node_id.startswith("error"):
            raise KnitException(f"Cannot stop NodeManager {node}: {node_id}")
        while True:
            nodes = requests.get(f"{self.resourcemanager_web}/ws/v1/cluster/nodes",
                                 params={"states": "RUNNING"}, timeout=10).json()
            if node_id not in {n["id"] for n in (nodes.get("nodes") or {}).get("node", [])}:
                return node_id
            if time.monotonic() > deadline:
                raise MiniClusterError(f"The ResourceManager still lists {node_id} as running")
            time.sleep(0.2)

    def kill_nodemanager(self, index: int, sig: int = signal.SIGKILL) -> None:
        """With daemons: send `sig` to NodeManager `index`'s JVM and wait for it to exit:
        SIGKILL (the default) as a crash, SIGTERM as an operator's stop (a rolling
        restart). Its containers' processes are left running (as on a real cluster, and
        with ``yarn.nodemanager.recovery.supervised`` also on SIGTERM); the ResourceManager
        notices when the NodeManager misses its heartbeats for
        ``yarn.nm.liveness-monitor.expiry-interval-ms``, or when it is started again
        (:meth:`restart_nodemanager`)."""
        self._daemon_nodemanager(index)
        self._backend.kill_daemon(f"nodemanager-{index}", sig)

    def restart_nodemanager(self, index: int) -> None:
        """With daemons: start NodeManager `index` again (stopped or killed), with the same
        ports and dirs: the ResourceManager sees the same node come back, without its
        containers unless ``yarn.nodemanager.recovery.enabled`` is set (then it recovers
        those whose processes still run)."""
        self._daemon_nodemanager(index)
        self._backend.restart_daemon(f"nodemanager-{index}")

    def stop_namenode(self, sig: int = signal.SIGTERM) -> None:
        """With daemons: send `sig` to the NameNode's JVM and wait for it to exit. HDFS is
        unavailable until :meth:`restart_namenode`, and in safe mode for a while after."""
        self._require_daemons()
        self._backend.kill_daemon("namenode", sig)

    def restart_namenode(self) -> None:
        """With daemons: start the NameNode again on its name dir (not formatted again).
        It is in safe mode until the DataNodes report their blocks, and
        ``dfs.namenode.safemode.extension`` (30 s by default) after that."""
        self._require_daemons()
        self._backend.restart_daemon("namenode")

    def stop_resourcemanager(self, sig: int = signal.SIGTERM, index: int | None = None) -> int:
        """With daemons: send `sig` to a ResourceManager's JVM and wait for it to exit (an
        operator's stop with SIGTERM, a crash with SIGKILL). With
        ``yarn.resourcemanager.recovery.enabled`` (work-preserving, with a state store),
        running applications survive until :meth:`restart_resourcemanager`, or under HA
        until the other ResourceManager takes over.

        `index` picks the ResourceManager under HA (0 or 1); by default the active one.
        Returns the index stopped.
        """
        self._require_daemons()
        if index is None:
            index = self.active_resourcemanager()
        self._check_rm_index(index)
        self._backend.kill_daemon(self._rm_name(index), sig)
        return index

    def restart_resourcemanager(self, index: int | None = None) -> int:
        """With daemons: start a stopped ResourceManager again, with the same ports and
        dirs. `index` picks it under HA; by default the first one not running (under HA it
        comes back as a standby unless no other is active). Returns the index started."""
        self._require_daemons()
        if index is None:
            stopped = [i for i in range(self.resourcemanagers)
                       if not self._backend.daemons[self._rm_name(i)].running()]
            if not stopped:
                raise InvalidArgumentError("Every ResourceManager is running; stop one first.")
            index = stopped[0]
        self._check_rm_index(index)
        self._backend.restart_daemon(self._rm_name(index))
        return index

    def _check_rm_index(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.resourcemanagers:
            raise InvalidArgumentError(f"index must be 0 to {self.resourcemanagers - 1}, got {index!r}")

    def _require_daemons(self) -> None:
        if self._backend is None:
            raise ApplicationStateError("Stopping and restarting a daemon needs a running "
                                        "MiniCluster(daemons=True).")

    def _daemon_nodemanager(self, index: int) -> None:
        if self._backend is None:
            raise ApplicationStateError("kill_nodemanager and restart_nodemanager need a running "
                                        "MiniCluster(daemons=True).")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.nodemanagers:
            raise InvalidArgumentError(f"index must be 0 to {self.nodemanagers - 1}, got {index!r}")

    def hadoop_command(self, main_class: str, *args: str) -> tuple[list[str], dict[str, str]]:
        """Command line and environment that run a Hadoop client program against this cluster.

        The program gets the cluster's conf dir and jars on its classpath, as ``hadoop jar``
        would on a real cluster: for example ``org.apache.hadoop.fs.FsShell`` or
        ``org.apache.hadoop.yarn.client.cli.LogsCLI``.
        """
        if not self.running:
            raise ApplicationStateError("The MiniCluster is not running; start() it first.")
        java_exe, java_home = self._java()
        cp = os.pathsep.join([self.conf_dir, str(java.knit_jar()),
                              *java.cluster_classpath(self.hadoop_version)])
        env = dict(os.environ, JAVA_HOME=java_home, HADOOP_CONF_DIR=self.conf_dir)
        # On a Kerberized cluster the program uses the ticket cache (KRB5CCNAME) of a kinit.
        krb5 = [f"-Djava.security.krb5.conf={self.krb5_conf}"] if self.kerberos else []
        return [java_exe, QUICK_JIT, *java.jvm_compat_options(), *krb5, _LOG4J, "-cp", cp, main_class,
                *args], env

    def run_hadoop_class(self, main_class: str, *args: str,
                         timeout: float = 300) -> subprocess.CompletedProcess:
        """Run :meth:`hadoop_command` to completion; its output is returned as text."""
        cmd, env = self.hadoop_command(main_class, *args)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    # ------------------------------------------------------------------ internals
    def _java(self) -> tuple[str, str]:
        """(java executable, JAVA_HOME) of the cluster, checked against its Hadoop line."""
        if self._java_home is None:
            java_exe, java_home = java.find_java()
        else:
            java_exe, java_home = java.java_of_home(self._java_home), self._java_home
        java.require_java(java_home, java.hadoop_min_java(self.hadoop_version),
                          f"Hadoop {self.hadoop_version}")
        if self.kerberos:
            java.require_kerberos_support(java_home, "MiniCluster(kerberos=True)")
        return java_exe, java_home

    def _address(self, key: str) -> str:
        if key not in self._addresses:
            raise ApplicationStateError("The MiniCluster is not running; start() it first.")
        return self._addresses[key]

    def _kerberos_address(self, key: str) -> str:
        if not self.kerberos:
            raise ApplicationStateError(f"This MiniCluster has no {key}: start it with kerberos=True.")
        return self._address(key)

    def _prepare_conf_dir(self) -> str:
        if self._requested_conf_dir is None:
            path = Path(self.work_dir) / "conf"
        else:
            path = Path(self._requested_conf_dir).expanduser().absolute()
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".knit-write-check"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise ConfigurationError(
                f"Cannot write the Hadoop conf dir {path}: {e.strerror or e}. Pass a "
                "directory you can write as conf_dir, or none for a temporary one.") from e
        return str(path)

    def _launch(self, java_exe: str, java_home: str, jars: list[str]) -> None:
        work = Path(self.work_dir)
        (work / "tmp").mkdir()  # Jetty and Hadoop temp files go here, removed by stop()
        cmd = [
            java_exe, f"-Xmx{self.java_heap_mb}m", QUICK_JIT, f"-Djava.io.tmpdir={work / 'tmp'}",
            *java.jvm_compat_options(), _LOG4J, _MAIN_CLASS,
            "--conf-dir", self.conf_dir,
            "--ready-file", str(work / "ready"),
            "--nodemanagers", str(self.nodemanagers),
            "--nm-memory-mb", str(self.nodemanager_memory_mb),
            "--timeout-ms", str(int(self.startup_timeout * 1000)),
            "--kerberos", "true" if self.kerberos else "false",
        ]
        for key, value in self.config.items():
            cmd += ["--set", f"{key}={value}"]
        for user in self.homes:
            cmd += ["--home", user]
        if self.ticket_lifetime is not None:
            cmd += ["--ticket-lifetime-s", str(self.ticket_lifetime)]
        # JAVA_HOME and HADOOP_CONF_DIR are on the NodeManager's env whitelist: containers
        # (an ApplicationMaster's `$JAVA_HOME/bin/java`) inherit them.
        # CLASSPATH, read by every Java (8 has no @argfiles), keeps the 200 jars out of `ps`.
        env = dict(os.environ, JAVA_HOME=java_home, HADOOP_CONF_DIR=self.conf_dir,
                   CLASSPATH=os.pathsep.join(jars))
        self._log_file = open(work / "minicluster.log", "wb")
        # Own session: Ctrl-C in a terminal reaches Python, which stops the cluster in order.
        self._proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdin=subprocess.PIPE, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_until_ready(self) -> None:
        ready = Path(self.work_dir) / "ready"
        # The JVM enforces startup_timeout itself and exits; this margin only catches a hang.
        deadline = time.monotonic() + self.startup_timeout + 30
        while not ready.exists():
            code = self._proc.poll()
            if code is not None:
                raise MiniClusterError(
                    f"The MiniCluster JVM exited with code {code} during start-up. "
                    f"Last lines of its log:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise MiniClusterError(
                    f"The MiniCluster was not ready after {self.startup_timeout:.0f} s. "
                    f"Last lines of its log:\n{self._log_tail()}")
            time.sleep(0.1)
        for line in ready.read_text().splitlines():
            key, _, value = line.partition("=")
            self._addresses[key] = value

    def _log_tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(deque(f, maxlen=lines))
