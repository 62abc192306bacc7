"""``Knit``: start containers running a command on YARN, watch, scale, read logs, kill."""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import threading
import time
from typing import Any, Mapping, Sequence

from . import java, waiting
from ._py4j import to_json
from ._tls import new_certificate
from .am_gateway import AMGateway
from .messages import (AppSpec, ApplicationReport, Container, GatewaySecrets, RoleSpec,
                       Submitted)
from .client_jvm import close_client, get_client
from .config import HadoopConfig, rm_get
from .env import create_env
from .kerberos import Identity, uses_kerberos
from .exceptions import (ApplicationMasterLostError, ApplicationStateError,
                         ClusterCapacityError, ConfigurationError, InvalidArgumentError,
                         KerberosError, KnitException, KnitTimeoutError, MissingFileError,
                         UnknownQueueError)

logger = logging.getLogger(__name__)

_DONE_STATES = {"FINISHED", "FAILED", "KILLED"}
_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
_SAFE_FILE_PUNCTUATION = "._+-=@%,"
_SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-=@%,]*")
# Names knit itself puts in a container's working directory.
_RESERVED_NAMES = {"knit-command.sh", "knit.jar", "knit-app.xml", "knit_env", "knit.keytab"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: The role of the containers that run the application's own command.
MAIN_ROLE = "main"
AM_MEMORY_MB = 512
AM_VCORES = 1
# The AM ends an application whose client has not renewed its lease for LEASE_SECONDS
# (the client died, even by kill -9); the client renews every LEASE_RENEW_SECONDS.
LEASE_SECONDS = 30
LEASE_RENEW_SECONDS = 5


class Knit:
    """A handle on one YARN application that runs a command in N containers.

    Parameters
    ----------
    hadoop_conf_dir : str, optional
        Directory with the cluster's core-site.xml, hdfs-site.xml and yarn-site.xml. By
        default ``$HADOOP_CONF_DIR``, else ``$YARN_CONF_DIR``, else ``/etc/hadoop/conf``.
    principal, keytab : str, optional
        On a Kerberized cluster (``hadoop.security.authentication=kerberos``): log in from
        this keytab as this principal. Without them the ticket cache is used (run
        ``kinit`` first; ``KRB5CCNAME`` and ``KRB5_CONFIG`` are honoured). With a keytab,
        applications renew their delegation tokens for as long as they run; see
        docs/security.md.
    **overrides
        Hadoop configuration keys that win over the files, e.g.
        ``Knit(**{"yarn.resourcemanager.address": "rm:8032"})``.

    Raises
    ------
    KerberosError
        The cluster uses Kerberos and there is no ticket (nor a keytab that works).

    Examples
    --------
    >>> k = Knit()                                                    # doctest: +SKIP
    >>> app_id = k.start("echo hello from $CONTAINER_ID", num_containers=5, memory=256)
    >>> k.wait_for_completion(timeout=120)
    'SUCCEEDED'
    >>> k.logs()          # {container_id: {"stdout": ..., "stderr": ...}}
    >>> k.kill()

    Applications are killed when the ``with`` block ends, and when the Python process
    exits (however it exits), unless started with ``detached=True``: knit's client JVM
    kills them as this process goes, and should both die at once (kill -9 of the process
    group, a lost machine), the ApplicationMaster ends the application within about 30 s
    of its client's last lease renewal.
    """

    def __init__(self, hadoop_conf_dir: str | os.PathLike | None = None, *,
                 principal: str | None = None, keytab: str | os.PathLike | None = None,
                 **overrides: Any) -> None:
        self.config = HadoopConfig.load(hadoop_conf_dir, **overrides)
        self._overrides = to_json(self.config.overrides)
        #: Whose Kerberos credentials this Knit uses (None on a cluster without Kerberos).
        self.identity: Identity | None = None
        #: The Kerberos user's short name, once logged in (None without Kerberos).
        self.user: str | None = None
        self._http_auth = None
        if uses_kerberos(self.config):
            self.identity = Identity.from_arguments(principal, keytab)
            self._login()
        elif principal is not None or keytab is not None:
            raise ConfigurationError(
                "principal and keytab were given, but this cluster does not use Kerberos "
                f"(hadoop.security.authentication is not kerberos in {self.config.conf_dir}).")
        self.app_id: str | None = None
        self._am: AMGateway | None = None
        self._lease_stop: threading.Event | None = None  # set to stop renewing the lease
        self._secrets: tuple[str, str] | None = None  # the AM's token and certificate
        self._reconnecting = threading.Lock()
        self._staging: dict | None = None  # where the application is staged, and how
        self.uploaded_bytes = 0
        # The last container list the AM gave; it outlives the AM (see get_containers).
        self._containers: list[dict] = []

    def _client(self):
        """The client JVM of this Knit's identity."""
        return get_client(self.identity)

    def _login(self) -> None:
        """Fail now, not at the first call, when there are no Kerberos credentials."""
        who = self.identity
        try:
            self.user = self._jvm_call("login", "log in to the Kerberized cluster",
                                       who.principal or "", who.keytab or "")["user"]
        except KnitException as e:
            # Hadoop caches a JVM's login, even a failed one: the next try gets a new JVM.
            close_client(who)
            raise KerberosError(str(e).split(": ", 1)[-1]) from None
        self._http_auth = who.http_auth()
        logger.info("Logged in to a Kerberized cluster as %s", self.user)

    def _rm_get(self, path: str) -> dict:
        return rm_get(self.config, path, auth=self._http_auth)

    # ------------------------------------------------------------------ start
    def start(
        self,
        cmd: str,
        num_containers: int = 1,
        memory: int = 1024,
        virtual_cores: int = 1,
        files: Sequence[str | os.PathLike] | None = None,
        env: str | os.PathLike | None = None,
        envvars: Mapping[str, str] | None = None,
        app_name: str = "knit",
        queue: str = "default",
        node_label: str | None = None,
        checks: bool = True,
        detached: bool = False,
        keep_alive: bool = False,
        max_restarts: int = 0,
        am_attempts: int = 2,
        start_timeout: float = 120,
    ) -> str:
        """Submit an application that runs `cmd` in `num_containers` containers.

        Returns once the ApplicationMaster has registered; it then asks YARN for the
        containers. Each runs ``cmd`` with bash (quotes, ``&&`` and ``$VARS`` work), with
        stdout and stderr in the container's log dir.

        Parameters
        ----------
        cmd : str
            Shell command run in every container.
        num_containers : int
            Containers to start (0 is allowed: add them later with :meth:`add_containers`).
        memory, virtual_cores : int
            Size of each container, in MB and cores.
        files : list of paths, optional
            Local files to ship. ``.zip``, ``.tar.gz``, ``.tgz`` and ``.tar`` files are
            unpacked into a directory of their own name in the container's working
            directory; other files appear there as they are.
        env : path, optional
            A packed environment (from :meth:`create_env`, or any venv-pack or conda-pack
            archive, ``.tar.gz``/``.tgz``/``.zip``), unpacked in every container and
            activated before `cmd`: ``$PYTHON_BIN``, ``python`` and the environment's
            console scripts come from it. Uploaded once (see docs/environments.md).
        envvars : dict of str, optional
            Environment variables for every container (``CONTAINER_ID`` and YARN's own
            variables are set too).
        app_name, queue, node_label : str
            Name shown by YARN, the queue to submit to, and a node label expression.
        checks : bool
            Check the request against the cluster (nodes, queue, maximum container size)
            before submitting anything.
        detached : bool
            Let the application outlive this Python process.
        keep_alive : bool
            Keep the application running when no container is left (for example a Dask
            cluster scaled to zero), until :meth:`kill`. By default it ends once every
            container it was given has finished.
        max_restarts : int
            Re-launch a container that fails (non-zero exit, killed, lost node) up to this
            many times over the application's life; a node where 3 containers failed is
            no longer used. Replaced failures do not fail the application.
        am_attempts : int
            How many ApplicationMasters YARN may start for the application (at most the
            cluster's ``yarn.resourcemanager.am.max-attempts``). When one dies (killed, its
            node lost), the next takes over the running containers, asks for what is
            missing of `num_containers`, and this object reconnects to it. 1: the
            application ends with its first ApplicationMaster.
        start_timeout : float
            Seconds to wait for the ApplicationMaster to start and register. YARN may keep
            the application waiting (a full queue, or its share for ApplicationMasters
            used up): then the error says why, in YARN's words, and the application is
            killed.

        Returns
        -------
        str
            The YARN application id.

        Raises
        ------
        KnitException
            For a request that cannot run; nothing is submitted in that case.
        """
        if self.app_id is not None and self._state() not in _DONE_STATES:
            raise ApplicationStateError(f"This Knit is already running {self.app_id}; kill() it or "
                                "use another Knit object.")
        spec = self._validated_spec(cmd, num_containers, memory, virtual_cores, files,
                                    envvars, app_name, queue, node_label)
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise InvalidArgumentError(f"max_restarts must be an integer >= 0, got {max_restarts!r}.")
        if isinstance(am_attempts, bool) or not isinstance(am_attempts, int) or am_attempts < 1:
            raise InvalidArgumentError(f"am_attempts must be an integer >= 1, got {am_attempts!r}.")
        if isinstance(start_timeout, bool) or not isinstance(start_timeout, (int, float)) \
                or not start_timeout > 0:
            raise InvalidArgumentError(f"start_timeout must be a number of seconds > 0, got "
                                       f"{start_timeout!r}.")
        keytab = self.identity.keytab if self.identity is not None else None
        spec = AppSpec(**spec, env=_validated_env(env), keep_alive=bool(keep_alive),
                       lease_ms=0 if detached else LEASE_SECONDS * 1000,
                       max_restarts=max_restarts, am_attempts=am_attempts,
                       principal=self.identity.principal if keytab else None, keytab=keytab)
        if checks:
            self._preflight(spec)
        token = secrets.token_urlsafe(32)
        cert_pem, key_pem = new_certificate()
        submitted = Submitted.from_json(self._jvm_call(
            "submit", "submit the application", to_json(spec.to_json()),
            to_json(GatewaySecrets(token, cert_pem, key_pem).to_json()), detached))
        app_id = submitted.app_id
        self.app_id = app_id
        #: Bytes the last start() sent to HDFS for knit's jar and the environment (0 when
        #: both were already there).
        self.uploaded_bytes = submitted.uploaded_bytes
        self._am = None
        self._containers = []
        self._staging = {"dir": submitted.staging_dir, "with_env": spec.env is not None,
                         "renews_tokens": keytab is not None, "roles": {MAIN_ROLE}}
        logger.info("Submitted %s; waiting for its ApplicationMaster", app_id)
        try:
            # Kept to reconnect to a later AM attempt, which has the same secrets.
            self._secrets = (token, cert_pem)
            self._am = self._connect_am(token, cert_pem, renew_lease=not detached,
                                        timeout=start_timeout)
        except BaseException:
            self.kill()
            raise
        return app_id

    def _validated_spec(self, cmd, num_containers, memory, virtual_cores, files, envvars,
                        app_name, queue, node_label) -> dict:
        if not isinstance(num_containers, int) or isinstance(num_containers, bool) \
                or num_containers < 0:
            raise InvalidArgumentError(f"num_containers must be an integer >= 0, got "
                                       f"{num_containers!r}.")
        for what, value in (("app_name", app_name), ("queue", queue)):
            if not isinstance(value, str) or not value.strip() or not value.isprintable() \
                    or len(value) > 256:
                raise InvalidArgumentError(f"{what} must be a printable string of 1 to 256 "
                                           f"characters, got {value!r}.")
        return {
            "name": app_name, "queue": queue, "node_label": node_label,
            "am_memory": AM_MEMORY_MB, "am_vcores": AM_VCORES,
            "knit_jar": str(java.knit_jar()), "num_containers": num_containers,
            **_validated_containers(cmd, memory, virtual_cores, files, envvars),
        }  # the fields of an AppSpec that start() does not add

    def _preflight(self, spec: dict) -> None:
        """Checks that need the cluster; the RM REST API answers fast, or names its address."""
        nodes = (self._rm_get("/ws/v1/cluster/nodes?states=RUNNING").get("nodes")
                 or {}).get("node") or []
        if not nodes:
            raise ClusterCapacityError("The cluster has no active NodeManager: nothing could run. "
                                "Check the NodeManagers (yarn node -list).")
        # The scheduler's maximum may exceed every node: such a container would never start.
        biggest = max((n["usedMemoryMB"] + n["availMemoryMB"],
                       n["usedVirtualCores"] + n["availableVirtualCores"]) for n in nodes)
        if spec["memory"] > biggest[0] or spec["vcores"] > biggest[1]:
            raise ClusterCapacityError(
                f"No NodeManager can hold a container of {spec['memory']} MB and "
                f"{spec['vcores']} vcores: the largest has {biggest[0]} MB and {biggest[1]} "
                "vcores. Ask for smaller containers.")
        scheduler = self._rm_get("/ws/v1/cluster/scheduler")["scheduler"]["schedulerInfo"]
        queues = _queue_names(scheduler)
        if queues and spec["queue"] not in queues:
            raise UnknownQueueError(f"Unknown queue {spec['queue']!r}; this cluster's queues: "
                                f"{', '.join(sorted(queues))}.")

    def _connect_am(self, token: str, cert_pem: str, renew_lease: bool,
                    timeout: float = 120) -> AMGateway:
        deadline = time.monotonic() + timeout
        said = None
        while time.monotonic() < deadline:
            report = self._report()
            if report["state"] in _DONE_STATES:
                raise KnitException(f"{self.app_id} ended before its ApplicationMaster "
                                    f"registered: {report['final_status']}: {report['diagnostics']}")
            reason = waiting.application_reason(report)
            if reason and reason != said:  # say why it waits, once each time YARN's reason changes
                logger.info("%s waits: %s", self.app_id, reason)
                said = reason
            if report["state"] == "RUNNING" and report["am_port"] > 0:
                am = AMGateway(report["am_host"], report["am_port"], token, cert_pem)
                if renew_lease:
                    am.renew_lease()
                    self._lease_stop = threading.Event()
                    threading.Thread(target=self._keep_lease, args=(self._lease_stop,),
                                     name=f"knit-lease-{self.app_id}", daemon=True).start()
                return am
            time.sleep(0.1)
        why = f" YARN says: {said}" if said else ""
        raise KnitTimeoutError(f"The ApplicationMaster of {self.app_id} did not register within "
                               f"{timeout:.0f} s; the application was killed.{why}")

    # ------------------------------------------------------------------ runtime control
    def _require_app(self) -> str:
        if self.app_id is None:
            raise ApplicationStateError("No application: call start() first.")
        return self.app_id

    @property
    def _tls_cert(self) -> str:
        """The AM gateway's certificate (PEM), which this client pins."""
        return self._secrets[1]

    def _require_am(self) -> AMGateway:
        """The connection to the AM. No ResourceManager round trip: a call on an AM that
        is gone fails, and `_call_am` then asks YARN what became of the application."""
        self._require_app()
        with self._reconnecting:  # not while the lease thread follows the AM elsewhere
            am = self._am
        if am is None:
            raise ApplicationStateError(f"{self.app_id} is not running ({self._state()}).")
        return am

    def _keep_lease(self, stop: threading.Event) -> None:
        """Renews the lease every LEASE_RENEW_SECONDS while the application runs (and
        this process lives), following the AM to its next attempt if it is lost."""
        while not stop.wait(LEASE_RENEW_SECONDS):
            am = self._am
            if am is None:
                return
            try:
                am.renew_lease()
                if self._superseded(am):  # its NodeManager was lost: follow the new attempt
                    self._reconnect_am(am)
            except ApplicationMasterLostError:
                try:
                    self._reconnect_am(am)
                except KnitException as e:
                    logger.info("Stopped renewing the lease of %s: %s", self.app_id, e)
                    return
            except KnitException as e:
                logger.debug("Could not renew the lease of %s: %s", self.app_id, e)

    def _superseded(self, am: AMGateway) -> bool:
        """True when YARN runs a newer attempt of the ApplicationMaster than `am` (which can
        still answer: its NodeManager was lost, and it may not know yet)."""
        return am.attempt is not None and self._report().get("attempt", 0) > am.attempt

    def _call_am(self, call):
        """``call(gateway)``; if the AM was lost and YARN started a new attempt, once more
        on a connection to the new one."""
        am = self._require_am()
        try:
            return call(am)
        except ApplicationMasterLostError:
            return call(self._reconnect_am(am))

    def _reconnect_am(self, lost: AMGateway, timeout: float = 120) -> AMGateway:
        """Waits for the next AM attempt to register and connects to it (once, when the
        lease thread and a caller both notice)."""
        with self._reconnecting:
            if self._am is not None and self._am is not lost:
                return self._am  # the other thread got there first
            return self._connect_next_attempt(lost, timeout)

    def _connect_next_attempt(self, lost: AMGateway, timeout: float) -> AMGateway:
        deadline = time.monotonic() + timeout
        lost.close()
        self._am = None
        token, cert_pem = self._secrets
        while time.monotonic() < deadline:
            report = self._report()
            if report["state"] in _DONE_STATES:
                raise ApplicationMasterLostError(
                    f"The ApplicationMaster of {self.app_id} is gone and the application "
                    f"ended: {report['final_status']}: {report['diagnostics']}")
            address = f"{report['am_host']}:{report['am_port']}"
            if report["state"] == "RUNNING" and report["am_port"] > 0 and address != lost.address:
                try:
                    self._am = AMGateway(report["am_host"], report["am_port"], token, cert_pem)
                except KnitException:
                    time.sleep(0.5)  # registered, gateway not answering yet
                    continue
                logger.warning("The ApplicationMaster of %s was lost; reconnected to its next "
                               "attempt at %s", self.app_id, address)
                return self._am
            time.sleep(0.5)
        raise ApplicationMasterLostError(f"The ApplicationMaster of {self.app_id} was lost and no "
                                         f"new attempt registered within {timeout:.0f} s.")

    def add_role(self, name: str, cmd: str, memory: int = 1024, virtual_cores: int = 1,
                 files: Sequence[str | os.PathLike] | None = None,
                 envvars: Mapping[str, str] | None = None) -> None:
        """Define another kind of container for the running application, with a command,
        size, files and variables of its own (the environment is the application's); then
        ask for some with ``add_containers(n, role=name)``.

        The application's own command is the ``"main"`` role. A Dask cluster in remote mode
        runs its scheduler as the main role and its workers as another, all in one YARN
        application. Each role's requests carry a YARN priority of their own.

        Raises
        ------
        InvalidArgumentError
            A bad name (letters, digits, ``_`` and ``-``, starting with a letter), one the
            application already has, or bad sizes, files or variables.
        """
        self._require_am()
        if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name) or name == MAIN_ROLE:
            raise InvalidArgumentError(f"A role name is a letter, then letters, digits, '_' or "
                                       f"'-' (at most 64), and not {MAIN_ROLE!r}; got {name!r}.")
        if name in self._staging["roles"]:
            raise InvalidArgumentError(f"{self.app_id} already has a role called {name!r}.")
        role = RoleSpec(name=name, **_validated_containers(cmd, memory, virtual_cores, files, envvars),
                        with_env=self._staging["with_env"],
                        renews_tokens=self._staging["renews_tokens"])
        self._jvm_call("addRole", f"define role {name!r}", self._staging["dir"],
                       to_json(role.to_json()))
        self._staging["roles"].add(name)

    def add_containers(self, n: int, memory: int | None = None,
                       virtual_cores: int | None = None, role: str = "main") -> None:
        """Ask for `n` more containers of a role: by default the application's own command
        (``"main"``), at the size given to :meth:`start` (or :meth:`add_role`)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"n must be an integer >= 0, got {n!r}.")
        self._check_role(role)
        self._call_am(lambda am: am.add_containers(role, n, memory or 0, virtual_cores or 0))

    def waiting_reason(self) -> str | None:
        """Why the application waits, in YARN's terms, or None when nothing waits: its
        ApplicationMaster not started yet (the ResourceManager's diagnostics, such as "Queue's
        AM resource limit exceeded"), or container requests not granted (what the nodes have
        free, and how full the queue is)."""
        report = self._report()
        return waiting.reason(report, self._pending_by_size, self._rm_get)

    def _pending_by_size(self) -> dict[str, int]:
        """Requests not granted yet, all roles together: {"<memory>x<vcores>": count}."""
        merged: dict[str, int] = {}
        for sizes in self._call_am(lambda am: am.pending()).values():
            for size, n in sizes.items():
                merged[size] = merged.get(size, 0) + n
        return merged

    def pending_containers(self, role: str | None = None) -> int:
        """Containers asked for and not yet given by YARN (of one role, or of all)."""
        pending = self._call_am(lambda am: am.pending())
        return sum(sum(sizes.values()) for r, sizes in pending.items() if role in (None, r))

    def cancel_containers(self, n: int, role: str = "main") -> int:
        """Withdraw up to `n` requests of a role YARN has not granted yet; return how many."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"n must be an integer >= 0, got {n!r}.")
        self._check_role(role)
        return self._call_am(lambda am: am.cancel_containers(role, n))

    def _check_role(self, role: str) -> None:
        self._require_app()
        if self._staging is not None and role not in self._staging["roles"]:
            raise InvalidArgumentError(f"{self.app_id} has no role {role!r}; its roles: "
                                       f"{sorted(self._staging['roles'])} (see add_role).")

    def remove_containers(self, container_id: str | Sequence[str]) -> None:
        """Stop and give back one container, or several; they do not count as failures."""
        ids = [container_id] if isinstance(container_id, str) else list(container_id)
        unknown = [c for c in ids if not self._call_am(lambda am: am.remove_container(c))]
        if unknown:
            raise InvalidArgumentError(f"Not running containers of {self.app_id}: {unknown}")

    def get_containers(self) -> list[dict]:
        """Containers of the application: dicts with ``id``, ``node``, ``state``
        (ALLOCATED, RUNNING, COMPLETED), ``exit_status``, ``outcome`` (SUCCEEDED, FAILED,
        PREEMPTED, RELEASED), ``diagnostics``, ``memory_mb``, ``vcores`` and timestamps (ms).

        Once the application has ended, the last list its ApplicationMaster reported
        (:meth:`wait_for_completion` fetches the final one).
        """
        self._require_app()
        self._refresh_containers()
        return self._containers

    def _refresh_containers(self) -> bool:
        """Fetch the AM's container list if it is reachable; True if the list is final."""
        if self._am is None:
            return False
        try:
            finished, self._containers = self._am.containers()
        except KnitException as lost:
            report = self._report()
            if report.state in _DONE_STATES:
                self._ended_without_its_am(report)
                return False
            if not isinstance(lost, ApplicationMasterLostError):
                raise
            finished, self._containers = self._reconnect_am(self._am).containers()
        if finished and self._superseded(self._am):
            # A superseded attempt's answer is never final: the application goes on.
            finished, self._containers = self._reconnect_am(self._am).containers()
        if finished:
            self._close_am()  # its list is final; it is about to exit
        return finished

    def _ended_without_its_am(self, report: ApplicationReport) -> None:
        """The application ended and its AM did not say goodbye (killed from outside, say):
        what the AM last listed as live ended with it, and its staging dir (which the AM
        removes when it finishes) is removed here."""
        self._close_am()
        why = f"the application ended {report.final_status}: {report.diagnostics}".strip(": ")
        self._containers = [
            c if c.state == "COMPLETED" else dataclasses.replace(
                c, state="COMPLETED", outcome="KILLED", diagnostics=why)
            for c in self._containers]
        self._jvm_call("removeStaging", f"remove the staging dir of {self.app_id}", self.app_id)

    def _close_am(self) -> None:
        if self._lease_stop is not None:
            self._lease_stop.set()
            self._lease_stop = None
        if self._am is not None:
            self._am.close()
            self._am = None

    def _jvm_call(self, method: str, what: str, *args: Any) -> Any:
        """A client-JVM call about this Knit's cluster (its errors are knit's exceptions,
        saying `what` failed)."""
        return self._client().call(method, self.config.conf_dir, self._overrides, *args,
                                   what=what)

    def status(self) -> ApplicationReport:
        """The ResourceManager's report: ``state``, ``final_status``, ``diagnostics``,
        ``attempt``, ..., and ``waiting``: why the application waits, in YARN's terms (see
        :meth:`waiting_reason`), or None."""
        report = self._report()
        why = None
        if report.state not in _DONE_STATES:
            try:
                why = waiting.reason(report, self._pending_by_size, self._rm_get)
            except KnitException:  # no AM to ask about requests (not connected, or gone)
                why = waiting.application_reason(report)
        return dataclasses.replace(report, waiting=why)

    def _report(self) -> ApplicationReport:
        """The ResourceManager's report of the application, alone."""
        app_id = self._require_app()
        return ApplicationReport.from_json(
            self._jvm_call("report", f"get the status of {app_id}", app_id))

    def _state(self) -> str:
        return self._report()["state"]

    def wait_for_completion(self, timeout: float | None = None) -> str:
        """Wait for the application to end; return its final status (e.g. ``"SUCCEEDED"``).

        Raises
        ------
        KnitException
            If it is still running after `timeout` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        final = False
        while True:
            if not final and self._am is not None:
                final = self._refresh_containers()  # lets the AM hand over its final list
            report = self._report()
            if report["state"] in _DONE_STATES:
                self._client().call("forget", self.app_id, what=f"let go of {self.app_id}")
                self._close_am()
                return report["final_status"]
            if deadline is not None and time.monotonic() > deadline:
                raise KnitTimeoutError(f"{self.app_id} still {report['state']} after {timeout} s.")
            time.sleep(0.25)

    def logs(self, container_id: str | None = None, timeout: float = 60) -> dict:
        """Logs by container: ``{container_id: {"stdout": ..., "stderr": ...}}``.

        While the application runs, they are read from the NodeManagers; once it has
        ended, from the aggregated logs in HDFS (waiting up to `timeout` seconds for
        aggregation to finish). A running container whose NodeManager does not answer
        gets an ``"unreadable"`` entry saying so (and a warning is logged), beside empty
        ``stdout`` and ``stderr``.
        """
        app_id = self._require_app()
        report = self._report()
        if report["state"] in _DONE_STATES:
            logs = self._aggregated_logs(timeout)
        else:
            logs = self._live_logs()
        if container_id is not None:
            if container_id not in logs:
                raise InvalidArgumentError(f"No logs for {container_id} in {app_id}.")
            return {container_id: logs[container_id]}
        return logs

    def _aggregated_logs(self, timeout: float) -> dict:
        """Aggregated logs, once YARN says aggregation is over and every container the AM
        reported is in them (NodeManagers upload independently of each other)."""
        deadline = time.monotonic() + timeout
        expected = {c["id"] for c in self._containers}
        logs: dict = {}
        while True:
            status = self._report()["log_aggregation_status"]
            if status == "DISABLED":
                raise ConfigurationError("Log aggregation is off on this cluster "
                                    "(yarn.log-aggregation-enable): logs of finished "
                                    "applications cannot be read.")
            if status in ("SUCCEEDED", "FAILED", "TIME_OUT", "RUNNING_WITH_FAILURE"):
                logs = self._jvm_call("aggregatedLogs", f"read the logs of {self.app_id}",
                                      self.app_id)
                if all({"stdout", "stderr"} <= logs.get(c, {}).keys() for c in expected):
                    break
            if time.monotonic() > deadline:
                logger.warning("Logs of %s are incomplete after %.0f s (log aggregation: %s)",
                               self.app_id, timeout, status)
                break
            time.sleep(0.5)
        for files in logs.values():
            files.setdefault("stdout", "")
            files.setdefault("stderr", "")
        return logs

    def _live_logs(self) -> dict:
        where = {c["id"]: c["node_http"] for c in self.get_containers()
                 if c["node_http"] and c["state"] != "ALLOCATED"}
        answer = self._jvm_call("liveLogs", f"read the logs of {self.app_id}", to_json(where))
        logs = answer["logs"]
        for container, why in answer["unreadable"].items():
            # Say so rather than return empty logs as if the container wrote nothing.
            logger.warning("The logs of %s could not be read: %s", container, why)
            logs[container]["unreadable"] = why
        return logs

    def read_log_file(self, container_id: str, name: str) -> str:
        """The file `name` from the log directory of a running container ("" if absent).

        A container writes there through ``$LOG_DIRS``; the ApplicationMaster reads it
        from the container's NodeManager and reports it. Handy for small results such as
        the address a server in the container listens on.
        """
        if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
            raise InvalidArgumentError(f"Not a file name in a log directory: {name!r}")
        return self._call_am(lambda am: am.read_log_file(container_id, name))

    def kill(self, timeout: float = 30) -> None:
        """End the application and remove its staging dir; idempotent. Its
        ApplicationMaster stops the containers and finishes it (final status SUCCEEDED,
        as the application's owner ended it); if the AM does not answer, or has not
        finished within `timeout` seconds, YARN kills it (KILLED)."""
        if self.app_id is None:
            return
        am, ended = self._am, False
        if am is not None:
            try:
                am.stop()
                self._refresh_containers()  # the final list, which lets the AM go
                deadline = time.monotonic() + timeout
                while not ended and time.monotonic() < deadline:
                    ended = self._report().state in _DONE_STATES
                    if not ended:
                        time.sleep(0.2)
            except KnitException as e:
                logger.info("The ApplicationMaster of %s did not stop it (%s); killing it", self.app_id, e)
        self._close_am()
        self._jvm_call("kill", f"kill {self.app_id}", self.app_id)  # no-op when it ended

    # ------------------------------------------------------------------ environments
    def create_env(self, name: str | None = None, packages: Sequence[str] = (),
                   backend: str = "venv", python: str | None = None,
                   channels: Sequence[str] | None = None, force: bool = False,
                   env_name: str | None = None) -> str:
        """Build and pack an environment for ``start(env=...)``; see :func:`knit.create_env`."""
        return create_env(name=name, packages=packages, backend=backend, python=python,
                          channels=channels, force=force, env_name=env_name)

    def list_envs(self) -> list[dict]:
        """Environments stored in HDFS: dicts with ``name``, ``sha256``, ``size`` (bytes)
        and ``modified`` (ms since the epoch)."""
        return self._jvm_call("listEnvs", "list the environments in HDFS")

    def remove_env(self, name_or_hash: str) -> int:
        """Delete stored environments by name or sha256 (or its first 8+ characters);
        return how many were deleted."""
        if not name_or_hash:
            raise InvalidArgumentError("remove_env needs an environment name or hash.")
        return self._jvm_call("removeEnv", f"remove the environment {name_or_hash!r}", name_or_hash)

    def __enter__(self) -> "Knit":
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Knit<{self.app_id or 'not started'}, {self.config.conf_dir}>"


def _validated_containers(cmd, memory, virtual_cores, files, envvars) -> dict:
    """What a kind of container runs (the application's, or a role's), checked:
    {"command", "memory", "vcores", "files" (absolute paths), "envvars"}."""
    if not isinstance(cmd, str) or not cmd.strip():
        raise InvalidArgumentError("cmd must be a non-empty shell command string.")
    for name, value in (("memory", memory), ("virtual_cores", virtual_cores)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidArgumentError(f"{name} must be an integer >= 1, got {value!r}.")
    paths = []
    for f in files or []:
        path = os.path.abspath(os.fspath(f))
        if not os.path.isfile(path):
            raise MissingFileError(f"File to ship does not exist (or is not a file): {path}")
        paths.append(path)
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"Files to ship must have distinct names: {names}")
    for name in names:
        # The NodeManager links localized files by name inside a generated shell
        # script, in double quotes: `$`, backquotes and the like would run there.
        if not _SAFE_FILE_NAME.fullmatch(name) or name in _RESERVED_NAMES:
            raise InvalidArgumentError(
                f"Cannot ship a file named {name!r}: names may hold letters, digits and "
                f"{_SAFE_FILE_PUNCTUATION!r}, and not be one of {sorted(_RESERVED_NAMES)}. "
                "Copy or link it under another name.")
    if not isinstance(envvars or {}, Mapping):
        raise InvalidArgumentError(f"envvars must be a mapping, got {envvars!r}.")
    envvars = dict(envvars or {})
    for k, v in envvars.items():
        if not isinstance(k, str) or not isinstance(v, str) or not _ENV_NAME.fullmatch(k):
            raise InvalidArgumentError(f"envvars must map variable names to strings; bad entry {k!r}.")
    return {"command": cmd, "memory": memory, "vcores": virtual_cores, "files": paths,
            "envvars": envvars}


def _validated_env(env: str | os.PathLike | None) -> str | None:
    if env is None:
        return None
    path = os.path.abspath(os.fspath(env))
    if not os.path.isfile(path):
        raise MissingFileError(f"Environment archive not found: {path}. Build one with "
                            "create_env(), or pass a venv-pack or conda-pack archive.")
    if not path.endswith((".tar.gz", ".tgz", ".zip", ".tar")):
        raise InvalidArgumentError(f"Environment archive must be .tar.gz, .tgz, .tar or .zip: {path}")
    return path


def _queue_names(scheduler_info: dict) -> set[str]:
    """Leaf queue names from the RM's scheduler REST answer (capacity or fair scheduler)."""
    names: set[str] = set()

    def walk(queue: dict) -> None:
        children = (queue.get("queues") or {}).get("queue") or []
        if not children and queue.get("queueName"):
            names.add(queue["queueName"])
        for child in children:
            walk(child)

    if scheduler_info.get("type") == "capacityScheduler":
        walk(scheduler_info)
    elif "rootQueue" in scheduler_info:  # fair scheduler: full names, "root." optional
        def walk_fair(queue: dict) -> None:
            children = (queue.get("childQueues") or {}).get("queue") or []
            if not children:
                names.add(queue["queueName"])
                names.add(queue["queueName"].removeprefix("root."))
            for child in children:
                walk_fair(child)
        walk_fair(scheduler_info["rootQueue"])
    return names
