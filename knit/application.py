"""``Application``: one running knit application, from the process that started it or
from another process of the same user (``knit.connect``)."""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from . import waiting
from ._py4j import to_json
from .am_gateway import AMGateway
from .exceptions import (ApplicationMasterLostError, ApplicationStateError,
                         ConfigurationError, InvalidArgumentError, KnitException,
                         KnitTimeoutError)
from .messages import ApplicationReport, Container, LiveLogsRead, RoleRestarts, RoleSpec
from .names import (ALLOCATED, COMPLETED, LIVE_CONTAINER_STATES, MAIN_ROLE, OUTCOME_RELEASED,
                    STD_LOGS)
from .timeouts import AM_TAKEOVER_S, KILL_S, LEASE_RENEW_S, LOGS_S, START_S
from .validation import (check_role_name, memory_mb, validated_containers, validated_envvars,
                         validated_resources)

logger = logging.getLogger(__name__)

DONE_STATES = {"FINISHED", "FAILED", "KILLED"}



@dataclass
class Staging:
    """Where an application is staged in HDFS and how: its private dir, whether it ships a
    packed environment, whether its AM renews its tokens from a keytab, and its roles."""

    dir: str
    with_env: bool
    renews_tokens: bool
    roles: set[str] = field(default_factory=lambda: {MAIN_ROLE})

class Application:
    """One knit application on a YARN cluster: its ApplicationMaster's gateway, its
    containers, logs and end.

    Made by :meth:`knit.ClusterClient.start` or :func:`knit.connect` (and used by
    :class:`knit.Knit`), not directly.

    Parameters
    ----------
    cluster : ClusterClient
        The cluster it runs on, as this process's user sees it.
    app_id : str
        Its YARN application id.
    staging : Staging, optional
        Where it is staged and how.
    secrets : (token, certificate), optional
        Its AM gateway's token and the certificate this client pins; None for a handle on
        an application known only by its id (``status()`` and ``kill()`` work).
    """

    def __init__(self, cluster: Any, app_id: str, staging: Staging | None = None,
                 secrets: tuple[str, str] | None = None, uploaded_bytes: int = 0) -> None:
        self.cluster = cluster
        self.app_id = app_id
        #: Bytes start() sent to HDFS for knit's jar and the environment (0 when both
        #: were already there).
        self.uploaded_bytes = uploaded_bytes
        self._staging = staging
        self._secrets = secrets  # the AM's token and certificate: to reconnect
        self._am: AMGateway | None = None
        self._lease_stop: threading.Event | None = None  # set to stop renewing the lease
        self._reconnecting = threading.Lock()
        # The last container list the AM gave; it outlives the AM (see get_containers).
        self._containers: list[Container] = []
        # Each role's restarts as the AM last counted them (see restarts).
        self._restarts: dict[str, RoleRestarts] = {}
        # Where the AM itself runs, {container id: NodeManager http address}, as it last said.
        self._am_container: dict[str, str] = {}

    @property
    def config(self):
        return self.cluster.config

    def _client(self):
        return self.cluster._client()

    def _jvm_call(self, method: str, what: str, *args: Any) -> Any:
        return self.cluster._jvm_call(method, what, *args)

    def _rm_get(self, path: str) -> dict:
        return self.cluster._rm_get(path)

    def _require_app(self) -> str:
        return self.app_id

    def attach(self, renew_lease: bool, timeout: float) -> "Application":
        """Connect to the running ApplicationMaster (waiting up to `timeout` s for it to
        register); with `renew_lease`, keep the application's lease while this lives."""
        token, cert_pem = self._secrets
        self._am = self._connect_am(token, cert_pem, renew_lease=renew_lease, timeout=timeout)
        return self

    def _connect_am(self, token: str, cert_pem: str, renew_lease: bool,
                    timeout: float = START_S) -> AMGateway:
        deadline = time.monotonic() + timeout
        said = None
        while time.monotonic() < deadline:
            report = self._report()
            if report.state in DONE_STATES:
                raise ApplicationStateError(
                    f"{self.app_id} has ended ({report.final_status}) without a running "
                    f"ApplicationMaster: {report.diagnostics}")
            reason = waiting.application_reason(report)
            if reason and reason != said:  # say why it waits, once each time YARN's reason changes
                logger.info("%s waits: %s", self.app_id, reason)
                said = reason
            if report.state == "RUNNING" and report.am_port > 0:
                am = AMGateway(report.am_host, report.am_port, token, cert_pem)
                if renew_lease:
                    am.renew_lease()
                    self._lease_stop = threading.Event()
                    threading.Thread(target=self._keep_lease, args=(self._lease_stop,),
                                     name=f"knit-lease-{self.app_id}", daemon=True).start()
                    threading.Thread(target=self._follow_attempts, args=(self._lease_stop,),
                                     name=f"knit-attempts-{self.app_id}", daemon=True).start()
                return am
            time.sleep(0.1)
        why = f" YARN says: {said}" if said else ""
        raise KnitTimeoutError(f"The ApplicationMaster of {self.app_id} did not register within "
                               f"{timeout:.0f} s; the application was killed.{why}")

    @property
    def roles(self) -> set[str]:
        """The names of the application's kinds of container (``main`` and those of
        :meth:`add_role`); empty for a handle made from an id alone."""
        return set(self._staging.roles) if self._staging is not None else set()

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
        """Renews the lease every LEASE_RENEW_S while the application runs (and
        this process lives), following the AM to its next attempt if it is lost. It asks
        nothing of the ResourceManager while the AM answers: a ResourceManager that is
        down (a restart, a failover) must not stop the renewals, or the AM would end the
        application for a client that is still there."""
        while not stop.wait(LEASE_RENEW_S):
            am = self._am
            if am is None:  # being replaced by the next attempt's (or closed: stop is set)
                continue
            try:
                am.renew_lease()
            except ApplicationMasterLostError:
                try:
                    self._reconnect_am(am)
                except KnitException as e:
                    logger.info("Stopped renewing the lease of %s: %s", self.app_id, e)
                    return
            except KnitException as e:
                logger.debug("Could not renew the lease of %s: %s", self.app_id, e)

    def _follow_attempts(self, stop: threading.Event) -> None:
        """Every LEASE_RENEW_S, asks the ResourceManager whether YARN runs a newer
        attempt than the AM this client talks to (whose NodeManager was lost: it may still
        answer, not knowing), and follows it. Its own thread: this call blocks while the
        ResourceManager is down, and the lease must not wait for it."""
        while not stop.wait(LEASE_RENEW_S):
            am = self._am
            if am is None:  # being replaced by the next attempt's (or closed: stop is set)
                continue
            try:
                if self._superseded(am):
                    self._reconnect_am(am)
            except KnitException as e:
                logger.debug("Could not ask YARN about the attempts of %s: %s", self.app_id, e)

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

    def _reconnect_am(self, lost: AMGateway, timeout: float = AM_TAKEOVER_S) -> AMGateway:
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
            if report.state in DONE_STATES:
                self._ended_without_its_am(report)
                raise ApplicationMasterLostError(
                    f"The ApplicationMaster of {self.app_id} is gone and the application "
                    f"ended: {report.final_status}: {report.diagnostics}")
            address = f"{report.am_host}:{report.am_port}"
            if report.state == "RUNNING" and report.am_port > 0 and address != lost.address:
                try:
                    self._am = AMGateway(report.am_host, report.am_port, token, cert_pem)
                except KnitException:
                    time.sleep(0.5)  # registered, gateway not answering yet
                    continue
                logger.warning("The ApplicationMaster of %s was lost; reconnected to its next "
                               "attempt at %s", self.app_id, address)
                return self._am
            time.sleep(0.5)
        raise ApplicationMasterLostError(f"The ApplicationMaster of {self.app_id} was lost and no "
                                         f"new attempt registered within {timeout:.0f} s.")

    def add_role(self, name: str, cmd: str, memory: int | str = 1024, virtual_cores: int = 1,
                 files: Sequence[str | os.PathLike] | None = None,
                 envvars: Mapping[str, str] | None = None, gpus: int = 0,
                 resources: Mapping[str, int] | None = None, max_restarts: int = 0) -> None:
        """Define another kind of container for the running application, with a command,
        size, files and variables of its own (the environment is the application's); then
        ask for some with ``add_containers(n, role=name)``.

        The application's own command is the ``"main"`` role. A Dask cluster in remote mode
        runs its scheduler as the main role and its workers as another, all in one YARN
        application. Each role's requests carry a YARN priority of their own. `memory` is MB
        or a size such as ``"2 GiB"``, and `gpus` and `resources` ask for other YARN
        resource types, as for :meth:`ClusterClient.start`. The ApplicationMaster replaces
        up to `max_restarts` of the role's lost containers (a budget of the role's own).

        Raises
        ------
        InvalidArgumentError
            A bad name (letters, digits, ``_`` and ``-``, starting with a letter), one the
            application already has, or bad sizes, files or variables.
        """
        self._require_am()
        check_role_name(name)
        if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
            raise InvalidArgumentError(f"max_restarts must be an integer >= 0, got {max_restarts!r}.")
        if name in self._staging.roles:
            raise InvalidArgumentError(f"{self.app_id} already has a role called {name!r}.")
        others = validated_resources(gpus, resources)
        self.cluster._check_other_resources(others)
        role = RoleSpec(name=name, **validated_containers(cmd, memory, virtual_cores, files, envvars),
                        with_env=self._staging.with_env,
                        renews_tokens=self._staging.renews_tokens, resources=others,
                        max_restarts=max_restarts)
        self._jvm_call("addRole", f"define role {name!r}", self._staging.dir,
                       to_json(role.to_json()))
        self._staging.roles.add(name)

    def add_containers(self, n: int, memory: int | str | None = None,
                       virtual_cores: int | None = None, role: str = MAIN_ROLE,
                       envvars: Sequence[Mapping[str, str]] | None = None) -> None:
        """Ask for `n` more containers of a role.

        Parameters
        ----------
        n : int
            How many containers.
        memory : int or str, optional
            Their memory (MB, or a size such as ``"2 GiB"``, as for
            :meth:`ClusterClient.start`); by default the role's.
        virtual_cores : int, optional
            Their virtual cores; by default the role's.
        role : str
            Whose command they run: the application's own (``"main"``) or a role of
            :meth:`add_role`.
        envvars : sequence of mappings, optional
            One mapping per container (``len(envvars) == n``): the variables that container
            gets on top of its role's, say a worker's name. YARN grants containers in no
            order of ours: containers of one size get the mappings in the order asked, as
            they are granted; ``Container.envvars`` tells which container got which, and
            :meth:`cancel_container_with` withdraws one not yet granted. The values go
            into YARN's launch context, which YARN keeps and shows its administrators:
            never put a secret there (ship it as a file). A replaced container gets its
            predecessor's; a later attempt of the ApplicationMaster does not know those of
            the containers it takes over, nor of asks not yet granted.
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"n must be an integer >= 0, got {n!r}.")
        if envvars is None:
            each: list[dict[str, str]] = []
        elif isinstance(envvars, (str, Mapping)) or not isinstance(envvars, Sequence) \
                or len(envvars) != n:
            raise InvalidArgumentError(
                f"envvars must be a list of {n} mappings, one per container; got {envvars!r}.")
        else:
            each = [validated_envvars(e, f"envvars[{i}]") for i, e in enumerate(envvars)]
        mb = 0 if memory is None else memory_mb(memory)  # 0: the role's own size
        if virtual_cores is not None and (not isinstance(virtual_cores, int)
                                          or isinstance(virtual_cores, bool) or virtual_cores < 1):
            raise InvalidArgumentError(f"virtual_cores must be an integer >= 1, got {virtual_cores!r}.")
        self._check_role(role)
        self._call_am(lambda am: am.add_containers(role, n, mb, virtual_cores or 0, each))

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

    def cancel_containers(self, n: int, role: str = MAIN_ROLE) -> int:
        """Withdraw up to `n` requests of a role YARN has not granted yet; return how many."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"n must be an integer >= 0, got {n!r}.")
        self._check_role(role)
        return self._call_am(lambda am: am.cancel_containers(role, n))

    def cancel_container_with(self, name: str, value: str, role: str = MAIN_ROLE) -> bool:
        """Withdraw the request, not yet granted, of the container that would get variable
        `name` set to `value` (see ``add_containers(envvars=)``); False if there is none
        (YARN granted it already, see :meth:`get_containers`; or it was never asked)."""
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentError(f"name and value must be strings, got {name!r}, {value!r}.")
        self._check_role(role)
        return self._call_am(lambda am: am.cancel_container_with(role, name, value))

    def scale(self, n: int, role: str = MAIN_ROLE) -> tuple[int, int]:
        """Run `n` containers of a role: ask for more, or withdraw requests not yet
        granted and then stop the youngest containers. Returns (before, after): the
        role's live and asked-for containers."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"n must be an integer >= 0, got {n!r}.")
        self._check_role(role)
        live = [c for c in self.get_containers()
                if c.role == role and c.state in LIVE_CONTAINER_STATES]
        before = len(live) + self.pending_containers(role)
        if n > before:
            self.add_containers(n - before, role=role)
        elif n < before:
            surplus = before - n - self.cancel_containers(before - n, role=role)
            if surplus > 0:
                youngest = sorted(live, key=lambda c: c.allocated_at)[-surplus:]
                self.remove_containers([c.id for c in youngest])
        return before, n

    def _check_role(self, role: str) -> None:
        self._require_app()
        if self._staging is not None and role not in self._staging.roles:
            raise InvalidArgumentError(f"{self.app_id} has no role {role!r}; its roles: "
                                       f"{sorted(self._staging.roles)} (see add_role).")

    def remove_containers(self, container_id: str | Sequence[str]) -> None:
        """Stop and give back one container, or several; they do not count as failures."""
        ids = [container_id] if isinstance(container_id, str) else list(container_id)
        unknown = [c for c in ids if not self._call_am(lambda am: am.remove_container(c))]
        if unknown:
            raise InvalidArgumentError(f"Not running containers of {self.app_id}: {unknown}")

    def get_containers(self) -> list[Container]:
        """Containers of the application: :class:`~knit.messages.Container` records with
        ``id``, ``role``, ``node``, ``state`` (ALLOCATED, RUNNING, COMPLETED),
        ``exit_status``, ``outcome`` (SUCCEEDED, FAILED, PREEMPTED, RELEASED),
        ``diagnostics``, ``memory_mb``, ``vcores`` and timestamps (ms), read as attributes
        (``c.state``); ``c.to_dict()`` is a plain, JSON-serialisable dict.

        Once the application has ended, the last list its ApplicationMaster reported
        (:meth:`wait_for_completion` fetches the final one).
        """
        self._require_app()
        self._refresh_containers()
        return self._containers

    def _refresh_containers(self) -> bool:
        """Fetch the AM's container list if it is reachable; True if the list is final."""
        # While the lease thread follows the AM to its next attempt, `_am` is None: wait for
        # it rather than answer with the lost attempt's list.
        with self._reconnecting:
            am = self._am
        if am is None:
            return False
        try:
            answer = am.containers()
        except KnitException as lost:
            report = self._report()
            if report.state in DONE_STATES:
                self._ended_without_its_am(report)
                return False
            if not isinstance(lost, ApplicationMasterLostError):
                raise
            am = self._reconnect_am(am)
            answer = am.containers()
        # `am`, not `self._am`: another thread (a kill, a YarnCluster's watch) may have
        # closed it since.
        if answer.finished and self._superseded(am):
            # A superseded attempt's answer is never final: the application goes on.
            am = self._reconnect_am(am)
            answer = am.containers()
        self._containers = answer.containers
        self._restarts = answer.restarts
        self._am_container = {answer.am_container: answer.am_node_http} if answer.am_node_http else {}
        finished = answer.finished
        if finished:
            self._close_am()  # its list is final; it is about to exit
        return finished

    def restarts(self) -> dict[str, RoleRestarts]:
        """Each role's replacements of lost containers, as the ApplicationMaster counts
        them: :class:`~knit.messages.RoleRestarts` records (``max_restarts``, ``used``,
        ``unreplaced``, ``left``) by role. Counted by the ApplicationMaster attempt that
        runs now (a later attempt starts them again); once the application has ended, the
        last count its ApplicationMaster gave."""
        self._require_app()
        self._refresh_containers()
        return dict(self._restarts)

    def replace_lost(self, container_id: str) -> bool:
        """Replace a container that ended with status 0 but whose end counts as a loss
        (a Dask worker that exited unasked), from its role's restarts, as a failure
        would be. Returns False when none are left (the loss then counts as unreplaced),
        or when it is not such a container or was counted already."""
        return self._call_am(lambda am: am.replace_lost(container_id))

    def _ended_without_its_am(self, report: ApplicationReport) -> None:
        """The application ended and its AM did not say goodbye (killed from outside, say):
        what the AM last listed as live ended with it, and its staging dir (which the AM
        removes when it finishes) is removed here."""
        self._close_am()
        why = f"the application ended {report.final_status}: {report.diagnostics}".strip(": ")
        outcome = "KILLED" if report.state == "KILLED" else OUTCOME_RELEASED
        self._containers = [
            c if c.state == COMPLETED else dataclasses.replace(
                c, state=COMPLETED, outcome=outcome, diagnostics=why)
            for c in self._containers]
        self._jvm_call("removeStaging", f"remove the staging dir of {self.app_id}", self.app_id)

    def detach(self) -> None:
        """Let go of the application and leave it running: stop renewing its lease and
        close the connection to its ApplicationMaster (:func:`knit.connect` attaches
        again). An application started without ``detached=True`` ends about 30 s after
        its last lease renewal."""
        self._close_am()
        self._client().call("forget", self.app_id, what=f"let go of {self.app_id}")

    def _close_am(self) -> None:
        if self._lease_stop is not None:
            self._lease_stop.set()
            self._lease_stop = None
        if self._am is not None:
            self._am.close()
            self._am = None

    def status(self) -> ApplicationReport:
        """The ResourceManager's report, an :class:`~knit.messages.ApplicationReport`
        record: ``state``, ``final_status``, ``diagnostics``, ``attempt``, ..., and
        ``waiting``: why the application waits, in YARN's terms (see
        :meth:`waiting_reason`), or None. Read its fields as attributes
        (``report.state``); ``report.to_dict()`` is a plain, JSON-serialisable dict."""
        report = self._report()
        why = None
        if report.state not in DONE_STATES:
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
            if report.state in DONE_STATES:
                self._client().call("forget", self.app_id, what=f"let go of {self.app_id}")
                self._close_am()
                return report.final_status
            if deadline is not None and time.monotonic() > deadline:
                raise KnitTimeoutError(f"{self.app_id} still {report.state} after {timeout} s.")
            time.sleep(0.25)

    def logs(self, container_id: str | None = None, timeout: float = LOGS_S,
             all_files: bool = False) -> dict[str, dict[str, str]]:
        """Logs by container: ``{container_id: {"stdout": ..., "stderr": ...}}``, for every
        container the application had, the ApplicationMaster's own among them (its current
        attempt's container, ``..._000001`` for the first; the AM logs to its stderr).

        While the application runs, they are read from the NodeManagers; once it has
        ended, from the aggregated logs in HDFS (waiting up to `timeout` seconds for
        aggregation to finish). Both give the same files. A running container whose
        NodeManager does not answer gets an ``"unreadable"`` entry saying so (and a warning
        is logged), beside empty ``stdout`` and ``stderr``.

        Parameters
        ----------
        container_id : str, optional
            One container's logs only (InvalidArgumentError if it has none).
        timeout : float
            Seconds to wait for log aggregation, once the application has ended.
        all_files : bool
            Every file of each container's log dir, not only stdout and stderr: YARN's
            ``launch_container.sh``, ``directory.info``, ``prelaunch.out`` and
            ``prelaunch.err``, and knit's own (``knit-nm-watch.log``, the AM's
            ``knit-am-cds.log``, files a command wrote to ``$LOG_DIRS``), as the
            NodeManager lists them (running) or as aggregated (ended).

        Raises
        ------
        ConfigurationError
            The application has ended and the cluster does not aggregate logs
            (``yarn.log-aggregation-enable``).
        """
        app_id = self._require_app()
        report = self._report()
        if report.state in DONE_STATES:
            logs = self._aggregated_logs(timeout, all_files)
        else:
            logs = self._live_logs(all_files)
        if container_id is not None:
            if container_id not in logs:
                raise InvalidArgumentError(f"No logs for {container_id} in {app_id}.")
            return {container_id: logs[container_id]}
        return logs

    def _aggregated_logs(self, timeout: float, all_files: bool = False) -> dict:
        """Aggregated logs, once YARN says aggregation is over and every container the AM
        reported is in them (NodeManagers upload independently of each other)."""
        deadline = time.monotonic() + timeout
        expected = {c.id for c in self._containers}
        logs: dict = {}
        while True:
            status = self._report()["log_aggregation_status"]
            if status == "DISABLED":
                raise ConfigurationError(
                    f"Cannot read the logs of {self.app_id}: it has ended and log aggregation "
                    "is off on this cluster (yarn.log-aggregation-enable), so they stay on its "
                    "NodeManagers' disks (yarn.nodemanager.log-dirs) only. Read logs while the "
                    "application runs, or ask the cluster's administrator to turn aggregation "
                    "on.")
            if status in ("SUCCEEDED", "FAILED", "TIME_OUT", "RUNNING_WITH_FAILURE"):
                logs = self._jvm_call("aggregatedLogs", f"read the logs of {self.app_id}",
                                      self.app_id, bool(all_files))
                if all(set(STD_LOGS) <= logs.get(c, {}).keys() for c in expected):
                    break
            if time.monotonic() > deadline:
                logger.warning("Logs of %s are incomplete after %.0f s (log aggregation: %s)",
                               self.app_id, timeout, status)
                break
            time.sleep(0.5)
        for files in logs.values():
            for name in STD_LOGS:
                files.setdefault(name, "")
        return logs

    def _live_logs(self, all_files: bool = False) -> dict:
        where = {c.id: c.node_http for c in self.get_containers()
                 if c.node_http and c.state != ALLOCATED}
        where.update(self._am_container)  # the AM's own log, as the aggregated logs have it
        answer = LiveLogsRead.from_json(
            self._jvm_call("liveLogs", f"read the logs of {self.app_id}", to_json(where),
                           bool(all_files)))
        logs = answer.logs
        for container, why in answer.unreadable.items():
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

    def set_link(self, name: str, url: str) -> None:
        """Show a link on the application's tracking page (the page YARN's UI links to for
        the application), e.g. ``set_link("Dask dashboard", "http://host:8787/status")``."""
        if not isinstance(name, str) or not name.strip() or not isinstance(url, str) \
                or not url.startswith(("http://", "https://")):
            raise InvalidArgumentError(f"set_link needs a name and an http(s) URL, got {name!r}, {url!r}.")
        self._call_am(lambda am: am.set_link(name, url))

    def read_staged_file(self, path: str) -> str:
        """A text file of the application's staging dir in HDFS (which only its user can
        read), by its path there: for example a role's shipped file,
        ``roles/<role>/files/<name>``."""
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
            raise InvalidArgumentError(f"Not a relative path inside the staging dir: {path!r}")
        return self._jvm_call("readStagedFile", f"read {path} of {self.app_id}", self.app_id, path)

    def kill(self, timeout: float = KILL_S) -> None:
        """End the application and remove its staging dir; idempotent. Its
        ApplicationMaster releases the containers, waits for YARN to report them ended
        (the final :meth:`get_containers` shows them COMPLETED, outcome RELEASED) and
        finishes it (final status SUCCEEDED, as the application's owner ended it); if the
        AM does not answer, or has not finished within `timeout` seconds, YARN kills it
        (KILLED). While HDFS is in safe mode (a NameNode restarting) the staging dir goes
        once it leaves it, in the background: the application's end does not wait."""
        if self.app_id is None:
            return
        am, ended = self._am, False
        if am is not None:
            try:
                am.stop()
                deadline = time.monotonic() + timeout
                # The AM finishes once YARN has reported its released containers ended (a
                # heartbeat or two); reading its final list lets it go.
                final = self._refresh_containers()
                while not final and not ended and time.monotonic() < deadline:
                    time.sleep(0.1)
                    final = self._refresh_containers()
                    ended = not final and self._report().state in DONE_STATES
                while not ended and time.monotonic() < deadline:
                    ended = self._report().state in DONE_STATES
                    if not ended:
                        time.sleep(0.2)
            except KnitException as e:
                logger.info("The ApplicationMaster of %s did not stop it (%s); killing it", self.app_id, e)
        self._close_am()
        self._jvm_call("kill", f"kill {self.app_id}", self.app_id)  # no-op when it ended


    def __enter__(self) -> "Application":
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Application<{self.app_id}>"
