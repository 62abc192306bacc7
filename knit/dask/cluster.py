"""``YarnCluster``: a Dask cluster whose workers run in YARN containers started by knit.

The scheduler runs in this process (``deploy_mode="local"``) or in a YARN container of the
same application as its workers (``"remote"``: the application's main role is the
scheduler, its workers another role); either way it asks knit's ApplicationMaster for
worker containers as Dask scales or adapts. Workers are named by their container id, so retiring a worker
releases exactly its container. Scheduler, workers and client talk TLS by default.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

import dask.config
from dask.utils import parse_timedelta
from distributed import Scheduler
from distributed.core import Status, rpc
from distributed.deploy import Cluster
from distributed.deploy.cluster import WorkerStartTimeoutError
from distributed.objects import SchedulerInfo
from distributed.security import Security
from distributed.utils import Log, format_dashboard_link

from ..core import Knit
from ..names import (ALLOCATED, COMPLETED, LIVE_CONTAINER_STATES, MAIN_ROLE,
                     OUTCOME_PREEMPTED, OUTCOME_RELEASED, OUTCOME_SUCCEEDED, PYTHON_BIN_VAR,
                     RUNNING)
from ..spec import ApplicationSpec
from ..timeouts import (ASK_WHY_AFTER_S, CONNECT_GIVE_UP_S, CONNECT_LOOK_AFTER_S,
                        WORKER_DEATH_TIMEOUT_S)
from ..exceptions import InvalidArgumentError, KnitException, KnitTimeoutError
from ..messages import Container, RoleRestarts
from ..validation import memory_mb, validated_resources
from .address import scheduler_host as choose_scheduler_host
from .progress import Counts, Progress
from .security import COMBINED_FILE, CredentialFiles, make_security, split_combined

logger = logging.getLogger(__name__)

_DEFAULTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "knit.yaml")
dask.config.update_defaults(dask.config.collect([_DEFAULTS]))

_MODES = ("local", "remote")
# Where the remote scheduler writes its address: its container's log dir, which the
# NodeManager serves and the AM reports (Knit.read_log_file).
_SCHEDULER_FILE = "scheduler.json"
# In remote mode, the workers' role in the application (the scheduler is the main one).
_WORKER_ROLE = "worker"
# YARN application tags of a Dask cluster (beside knit's own).
_TAGS = ("dask",)
# What a worker logs before its first connection attempt (distributed's Worker).
_CONNECTING = "Waiting to connect to"
# The exit status of a command that could not be executed (here: the interpreter).
_CANNOT_EXECUTE = 126


class WorkersDidNotComeError(WorkerStartTimeoutError, KnitTimeoutError):
    """``wait_for_workers`` ran out of time; says why YARN did not allocate, if it did not."""

    def __init__(self, available: int, expected: int, timeout, why: str | None) -> None:
        super().__init__(available, expected, timeout)
        #: The ResourceManager's view of the requests that wait (None if none waits).
        self.why = why

    def __str__(self) -> str:
        said = super().__str__()
        return f"{said}. YARN: {self.why}" if self.why else said


class WorkersCannotConnectError(KnitException):
    """Worker containers run but none can connect to the scheduler (a firewall, or an
    address the workers' hosts cannot reach). The application was ended."""


def _config(key: str, value: Any) -> Any:
    return dask.config.get(f"knit.{key}") if value is None else value


def _cannot_execute_hint(python: str) -> str:
    """Why a worker may exit with status 126: its interpreter cannot be executed by the
    OS user its container runs as."""
    return (f" Status 126: the container could not execute {python}. Where containers run "
            "as another OS user (on clusters without Kerberos, the NodeManager's), an "
            "interpreter under a private directory cannot run: pass env=create_env(..., "
            "python=<an interpreter every node has, e.g. /usr/bin/python3>).")


class YarnCluster(Cluster):
    """A Dask cluster on YARN.

    Parameters
    ----------
    n_workers : int
        Workers to start with.
    worker_memory : str or int
        Memory of each worker container, e.g. ``"2 GiB"`` or MB as an int (also the
        worker's memory limit).
    worker_vcores : int
        Cores of each worker container (and the worker's threads).
    worker_options : dict
        More ``dask worker`` options, e.g. ``{"--nthreads": 2}``. Workers run without
        their own dashboard unless given ``{"--dashboard": ""}``.
    worker_gpus : int
        GPUs (YARN's ``yarn.io/gpu``) for each worker container; the cluster must define
        that resource type. Add ``{"--resources": "GPU=1"}`` to `worker_options` to let
        Dask schedule tasks on them.
    env : path, optional
        A packed environment (:func:`knit.create_env`); by default workers use this
        process's interpreter, which every node must then have at the same path.
    queue, app_name : str
        YARN queue and application name.
    deploy_mode : {"local", "remote"}
        Where the scheduler runs: in this process, or in a YARN container of the same YARN
        application as the workers (so a remote cluster needs one ApplicationMaster, which
        fits wherever one application fits).
    scheduler_memory, scheduler_vcores
        Size of the scheduler's container (remote mode).
    scheduler_host : str, optional
        (Local mode) The address the scheduler listens on and gives its workers. By
        default, this machine's address on its route to the ResourceManager, which the
        cluster's hosts can reach where they can reach the ResourceManager's clients.
    interface : str, optional
        (Local mode) A network interface, e.g. ``"eth0"``, whose IPv4 address the
        scheduler uses instead.
    worker_restarts : int
        How many lost workers are replaced over the cluster's life: the worker role's
        ``max_restarts``, which knit's ApplicationMaster counts and spends. Preempted
        workers, and those Dask closes for ``client.restart()``, are replaced without
        counting.
    hadoop_conf_dir : str, optional
        The cluster's Hadoop configuration (default: ``HADOOP_CONF_DIR`` ...).
    proxy_user : str, optional
        Run the cluster as this user through Hadoop's proxy users (see
        :class:`knit.ClusterClient`): for services that start clusters for others.
    principal, keytab : str, optional
        On a Kerberized cluster, log in from this keytab (see :class:`knit.Knit`); by
        default the ticket cache of ``kinit`` is used.
    security : bool or distributed.Security
        ``True`` (default): TLS with credentials made for this cluster; a ``Security``:
        those credentials; ``False``: plain TCP, for trusted networks only.
    progress : bool
        Show requested / allocated / running / connected counts in `wait_for_workers`.
    shutdown_on_close : bool
        ``True`` (default): :meth:`close`, and the end of this process, end the cluster.
        ``False`` (remote mode only): the cluster keeps running after both, with no lease;
        attach to it from any process of this user with :meth:`from_application_id`, whose
        ``close()`` ends it. While no ``YarnCluster`` is attached, lost workers are not
        replaced.
    application_id : str, optional
        Attach to this running remote-mode cluster instead of starting one (what
        :meth:`from_application_id` does); the workers' sizes, environment, queue and mode
        are then the running cluster's, and passing them is an error.

    Notes
    -----
    Defaults come from the ``knit`` section of ``dask.config`` (see knit/knit.yaml).

    Examples
    --------
    >>> cluster = YarnCluster(n_workers=3, worker_memory="1 GiB")     # doctest: +SKIP
    >>> client = Client(cluster)
    >>> cluster.wait_for_workers(3)
    >>> cluster.scale(5); cluster.adapt(minimum=1, maximum=10)
    >>> cluster.close()
    """

    def __init__(self, n_workers: int | None = None, worker_memory: str | int | None = None,
                 worker_vcores: int | None = None, worker_options: dict | None = None,
                 env: str | None = None, queue: str | None = None, app_name: str | None = None,
                 deploy_mode: str | None = None, scheduler_memory: str | int | None = None,
                 scheduler_vcores: int | None = None, worker_restarts: int | None = None,
                 hadoop_conf_dir: str | None = None, principal: str | None = None,
                 keytab: str | None = None, security: Security | bool | None = None,
                 progress: bool | None = None, shutdown_on_close: bool | None = None,
                 worker_gpus: int | None = None, scheduler_host: str | None = None,
                 interface: str | None = None, application_id: str | None = None,
                 proxy_user: str | None = None, asynchronous: bool = False, loop=None,
                 **kwargs: Any) -> None:
        login = {"principal": _config("principal", principal),
                 "keytab": _config("keytab", keytab),
                 "proxy_user": _config("proxy-user", proxy_user)}
        if application_id is not None:
            given = {name for name, value in (
                ("n_workers", n_workers), ("worker_memory", worker_memory),
                ("worker_vcores", worker_vcores), ("worker_options", worker_options),
                ("env", env), ("queue", queue), ("app_name", app_name),
                ("deploy_mode", deploy_mode), ("scheduler_memory", scheduler_memory),
                ("scheduler_vcores", scheduler_vcores), ("worker_gpus", worker_gpus),
                ("scheduler_host", scheduler_host), ("interface", interface),
                ("worker_restarts", worker_restarts))
                if value is not None}
            if given:
                raise InvalidArgumentError(
                    f"{', '.join(sorted(given))}: these are the running cluster's when "
                    "attaching to it (application_id); pass them to a new cluster only.")
            self._init_attached(application_id, hadoop_conf_dir, login, security,
                                worker_restarts, progress, shutdown_on_close, asynchronous,
                                loop, **kwargs)
            return
        self.n_workers = int(_config("n-workers", n_workers))
        self.worker_memory_mb = memory_mb(_config("worker-memory", worker_memory),
                                           "worker_memory")
        self.worker_vcores = int(_config("worker-vcores", worker_vcores))
        self.worker_options = dict(_config("worker-options", worker_options) or {})
        self.worker_gpus = _config("worker-gpus", worker_gpus)
        if isinstance(self.worker_gpus, bool) or not isinstance(self.worker_gpus, int) \
                or self.worker_gpus < 0:
            raise InvalidArgumentError(f"worker_gpus must be an integer >= 0, got {self.worker_gpus!r}")
        self.env = _config("env", env)
        self.queue = _config("queue", queue)
        self.app_name = _config("app-name", app_name)
        self.deploy_mode = _config("deploy-mode", deploy_mode)
        self.scheduler_memory_mb = memory_mb(_config("scheduler-memory", scheduler_memory),
                                              "scheduler_memory")
        self.scheduler_vcores = int(_config("scheduler-vcores", scheduler_vcores))
        if self.deploy_mode not in _MODES:
            raise InvalidArgumentError(f"deploy_mode must be one of {_MODES}, got {self.deploy_mode!r}")
        if self.n_workers < 0:
            raise InvalidArgumentError(f"n_workers must be >= 0, got {self.n_workers}")
        if self.worker_vcores < 1 or self.scheduler_vcores < 1:
            raise InvalidArgumentError("worker_vcores and scheduler_vcores must be at least 1")
        if not _config("shutdown-on-close", shutdown_on_close) and self.deploy_mode != "remote":
            raise InvalidArgumentError(
                "shutdown_on_close=False needs deploy_mode='remote': a local scheduler ends "
                "with this process.")
        security = make_security(_config("security", security))
        self._init_handle(hadoop_conf_dir, login, worker_restarts, progress, shutdown_on_close)
        self.security = security
        if self.deploy_mode == "local":  # chosen now: a bad choice submits nothing
            self.scheduler_host = choose_scheduler_host(
                self.knit.config, _config("scheduler-host", scheduler_host),
                _config("interface", interface))
        super().__init__(asynchronous=asynchronous, loop=loop, **kwargs)
        if not self.asynchronous:
            self._loop_runner.start()
            self._sync_start(self._start)

    def _sync_start(self, start, *args) -> None:
        """Run `start` on the event loop; on Ctrl-C, end what it started before saying so
        (distributed cancels the start, but a call in flight to YARN finishes in its thread
        and could submit an application after the cancellation)."""
        try:
            self.sync(start, *args)
        except KeyboardInterrupt:
            logger.info("Interrupted: ending what was started")
            self.sync(self._stop_everything, start == self._start)
            raise

    def _init_handle(self, hadoop_conf_dir, login, worker_restarts, progress,
                     shutdown_on_close) -> None:
        """What a started and an attached cluster (from_application_id) share."""
        #: The workers' restart budget (the worker role's max_restarts; an attached
        #: cluster's is the running one's, read from its ApplicationMaster).
        self.worker_restarts = int(_config("worker-restarts", worker_restarts))
        self.hadoop_conf_dir = _config("hadoop-conf-dir", hadoop_conf_dir)
        self.show_progress = bool(_config("progress", progress))
        self.shutdown_on_close = bool(_config("shutdown-on-close", shutdown_on_close))
        self._attaching: str | None = None  # the running application to attach to, if any
        self.scheduler_timeout = parse_timedelta(dask.config.get("knit.scheduler-timeout"))
        self.knit = Knit(self.hadoop_conf_dir, **login)
        # The workers' role in the application: its own command locally; in remote mode the
        # application's command is the scheduler, and the workers are a role of their own.
        self._worker_role = MAIN_ROLE if self.deploy_mode == "local" else _WORKER_ROLE
        self.scheduler: Scheduler | None = None
        self._credentials: CredentialFiles | None = None
        self._containers: list[Container] = []
        self._pending = 0  # container requests YARN has not granted yet
        self._seen_done: set[str] = set()
        self._retiring: set[str] = set()  # workers we retire: their exit is no loss
        self._address_of: dict[str, str] = {}  # worker name (container id) -> address
        # The workers' restarts as the ApplicationMaster last counted them (_refresh).
        self._restarts = RoleRestarts(self.worker_restarts, 0, 0)
        self._unreplaced_logged = 0  # of the AM's unreplaced losses, those logged
        self._monitor: asyncio.Task | None = None
        self._calls: set[asyncio.Future] = set()  # calls to knit in flight (_call)
        self._ever_connected = False  # has any worker joined the scheduler?
        self._first_running: float | None = None  # when a worker container first ran
        self._connecting_seen: float | None = None  # when a worker was seen connecting
        #: Set when the workers cannot reach the scheduler; `_ending` ends the application.
        self._cannot_connect: WorkersCannotConnectError | None = None
        self._ending: asyncio.Future | None = None

    @classmethod
    def from_application_id(cls, app_id: str, hadoop_conf_dir: str | None = None, *,
                            principal: str | None = None, keytab: str | None = None,
                            proxy_user: str | None = None, security: Security | None = None,
                            progress: bool | None = None,
                            shutdown_on_close: bool = True, asynchronous: bool = False,
                            loop=None, **kwargs: Any) -> "YarnCluster":
        """Attach to a running remote-mode cluster (started with
        ``shutdown_on_close=False``, by this user, from any process).

        knit finds the scheduler's address (in its container's log dir) and the TLS
        credentials (the workers', in the application's private staging dir in HDFS).

        Parameters
        ----------
        app_id : str
            The cluster's YARN application id (:attr:`application_id`).
        security : distributed.Security, optional
            Credentials to connect with, for a cluster started with credentials of your
            own; by default those the cluster's workers were given.
        shutdown_on_close : bool
            Whether :meth:`close` ends the cluster (default), or only lets go of it.
        hadoop_conf_dir, principal, keytab, proxy_user, progress
            As for :class:`YarnCluster`. The workers' restarts are the running cluster's:
            its ApplicationMaster replaces failed and preempted workers whether or not a
            ``YarnCluster`` is attached (one that exited with status 0 unasked, only while
            one is).

        Raises
        ------
        ApplicationStateError
            `app_id` is not a running knit application of this user.
        KnitException
            It is not a remote-mode knit Dask cluster.
        """
        return cls(hadoop_conf_dir=hadoop_conf_dir, principal=principal, keytab=keytab,
                   proxy_user=proxy_user, security=security, progress=progress,
                   shutdown_on_close=shutdown_on_close, application_id=app_id,
                   asynchronous=asynchronous, loop=loop, **kwargs)

    def _init_attached(self, app_id: str, hadoop_conf_dir, login, security, worker_restarts,
                       progress, shutdown_on_close, asynchronous, loop, **kwargs: Any) -> None:
        """__init__ of a cluster that attaches to running `app_id` (remote mode)."""
        self.deploy_mode = "remote"
        self.n_workers = 0
        self.worker_memory_mb = self.worker_vcores = self.worker_gpus = None  # the role's, in the AM
        self.worker_options, self.env, self.queue, self.app_name = {}, None, None, None
        self._init_handle(hadoop_conf_dir, login, worker_restarts, progress,
                          True if shutdown_on_close is None else shutdown_on_close)
        self.security = security
        super().__init__(asynchronous=asynchronous, loop=loop, **kwargs)
        self._attaching = app_id  # attached now, or by `await cluster`
        if not self.asynchronous:
            self._loop_runner.start()
            self._sync_start(self._attach, app_id)

    # ------------------------------------------------------------------ lifecycle
    def __await__(self):
        """``await cluster`` (and ``async with``) starts an asynchronous cluster."""
        async def start():
            if self.status == Status.created:
                attaching = self._attaching
                await (self._attach(attaching) if attaching else self._start())
            return self
        return start().__await__()

    async def _start(self) -> None:
        self.status_message = "starting"
        try:
            if self.security is not None:
                self._credentials = CredentialFiles(self.security)
            if self.deploy_mode == "local":
                address = await self._start_local_scheduler()
                self.scheduler_comm = rpc(address, connection_args=self._connection_args())
                await self._call(self.knit.start, ApplicationSpec(
                    self._worker_command(address), num_containers=self.n_workers,
                    memory=self.worker_memory_mb, virtual_cores=self.worker_vcores,
                    env=self.env, files=self._tls_files("worker"), app_name=self.app_name,
                    queue=self.queue, keep_alive=True, gpus=self.worker_gpus,
                    max_restarts=self.worker_restarts, tags=list(_TAGS)))
            else:
                # The scheduler's container is checked by start(); the workers' here, before
                # anything is submitted.
                await self._call(self.knit.check_fits, self.worker_memory_mb,
                                 self.worker_vcores, self.queue,
                                 validated_resources(self.worker_gpus, None))
                address = await self._start_remote_scheduler()
                self.scheduler_comm = rpc(address, connection_args=self._connection_args())
                await self._call(self.knit.add_role, _WORKER_ROLE, self._worker_command(address),
                                 memory=self.worker_memory_mb, virtual_cores=self.worker_vcores,
                                 files=self._tls_files("worker"), gpus=self.worker_gpus,
                                 max_restarts=self.worker_restarts)
                await self._call(self.knit.add_containers, self.n_workers, role=_WORKER_ROLE)
            self._monitor = asyncio.ensure_future(self._watch_containers())
            await super()._start()
            await self._publish_dashboard()
        except BaseException:
            await self._stop_everything(end_application=True)
            raise

    async def _publish_dashboard(self) -> None:
        """Link the dashboard from the application's tracking page, so YARN's UI leads
        to it."""
        try:
            link = self.dashboard_link
        except (KeyError, AttributeError):  # no dashboard (bokeh missing)
            return
        name = "Dask dashboard" if self.deploy_mode == "remote" else \
            "Dask dashboard (on the client's machine)"
        try:
            await self._call(self.knit.set_link, name, link)
        except KnitException as e:
            logger.warning("Could not link the dashboard from YARN's UI: %s", e)

    async def _attach(self, app_id: str) -> None:
        self.status_message = "attaching"
        try:
            await self._call(self.knit.attach, app_id)
            if _WORKER_ROLE not in self.knit.roles:
                raise KnitException(f"{app_id} is not a remote-mode knit Dask cluster (it has no "
                                    f"{_WORKER_ROLE!r} role; its roles: {sorted(self.knit.roles)}).")
            address = await self._scheduler_address()
            if self.security is None and address.startswith("tls://"):
                self.security = await self._call(self._workers_security)
            self.scheduler_comm = rpc(address, connection_args=self._connection_args())
            await self._refresh()
            self.worker_restarts = self._restarts.max_restarts
            self._unreplaced_logged = self._restarts.unreplaced
            # Ended before we came: the ApplicationMaster dealt with them.
            self._seen_done = {c.id for c in self._containers if c.state == COMPLETED}
            self._monitor = asyncio.ensure_future(self._watch_containers())
            await super()._start()
        except BaseException:
            await self._stop_everything(end_application=False)
            raise

    def _workers_security(self) -> Security:
        """The client credentials of an attached cluster: its workers' (client and worker
        certificates are alike to Dask: both are signed by the cluster's CA)."""
        def staged(name: str) -> str:
            return self.knit.read_staged_file(f"roles/{_WORKER_ROLE}/files/{name}")
        try:
            cert, key = split_combined(staged(COMBINED_FILE))  # a per-cluster certificate
            files = {"ca": cert, "cert": cert, "key": key}
        except KnitException:  # the user's own, one file per role
            files = {what: staged(name) for what, name in (
                ("ca", "dask-ca.pem"), ("cert", "dask-worker-cert.pem"), ("key", "dask-worker-key.pem"))}
        return Security(tls_ca_file=files["ca"], tls_client_cert=files["cert"],
                        tls_client_key=files["key"], require_encryption=True)

    def _connection_args(self) -> dict:
        return self.security.get_connection_args("client") if self.security else {}

    def _tls_files(self, who: str) -> list[str]:
        if self._credentials is None:
            return []
        return self._credentials.files("ca", f"{who}-cert", f"{who}-key")

    def _tls_flags(self, who: str) -> str:
        return "" if self._credentials is None else " " + self._credentials.flags(who)

    def _python(self) -> str:
        if self.env is None:
            return "${%s:-%s}" % (PYTHON_BIN_VAR, sys.executable)
        return "$" + PYTHON_BIN_VAR

    async def _start_local_scheduler(self) -> str:
        protocol = "tls://" if self.security else "tcp://"
        self.scheduler = Scheduler(host=self.scheduler_host, port=0, protocol=protocol,
                                   security=self.security, dashboard_address="localhost:0",
                                   validate=False)
        await self.scheduler
        return self.scheduler.address

    async def _start_remote_scheduler(self) -> str:
        """Start the application with the scheduler in its one main container; return the
        address the scheduler wrote to its log dir."""
        protocol = "tls" if self.security else "tcp"
        command = (f"exec {self._python()} -m distributed.cli.dask_scheduler "
                   f"--protocol {protocol} --port 0 --dashboard-address :0 "
                   f'--scheduler-file "${{LOG_DIRS%%,*}}/{_SCHEDULER_FILE}"'
                   + self._tls_flags("scheduler"))
        # The workers' role comes once the scheduler's address is known (_start).
        await self._call(self.knit.start, ApplicationSpec(
            command, num_containers=1, memory=self.scheduler_memory_mb,
            virtual_cores=self.scheduler_vcores, env=self.env,
            files=self._tls_files("scheduler"), app_name=self.app_name, queue=self.queue,
            keep_alive=True, detached=not self.shutdown_on_close, tags=list(_TAGS)))
        return await self._scheduler_address()

    async def _scheduler_address(self) -> str:
        """The address the remote scheduler wrote to its log dir, once it has."""
        k = self.knit
        deadline = time.monotonic() + self.scheduler_timeout
        while True:
            containers = [c for c in await self._call(k.get_containers) if c.role == MAIN_ROLE]
            running = [c for c in containers if c.state == RUNNING]
            if running:
                text = await self._call(k.read_log_file, running[0].id, _SCHEDULER_FILE)
                try:
                    address = json.loads(text)["address"] if text.strip() else None
                except (ValueError, KeyError):  # being written
                    logger.debug("%s of %s is not complete: %r", _SCHEDULER_FILE,
                                 running[0].id, text[:200])
                    address = None
                if address:
                    logger.info("Scheduler at %s in %s", address, running[0].id)
                    return address
            gone = [c for c in containers if c.state == COMPLETED]
            if gone:
                raise KnitException(
                    f"The scheduler's container {gone[0]['id']} ended before the scheduler "
                    f"started: {gone[0]['diagnostics']}; see its stderr in the logs of YARN "
                    f"application {k.app_id} (yarn logs -applicationId {k.app_id}).")
            if time.monotonic() > deadline:
                raise KnitException(
                    f"The scheduler did not start within {self.scheduler_timeout:.0f} s "
                    f"(YARN application {k.app_id}); is the queue full? Raise "
                    "knit.scheduler-timeout in dask.config to wait longer.")
            await asyncio.sleep(0.2)

    def _worker_command(self, address: str) -> str:
        options = {"--nthreads": self.worker_vcores,
                   "--memory-limit": f"{self.worker_memory_mb}MiB",
                   "--death-timeout": WORKER_DEATH_TIMEOUT_S, **self.worker_options}
        flags = " ".join(f"{k} {v}" for k, v in options.items())
        # No nanny: the container is the worker, so a dead worker is a finished container
        # that YARN reports and knit replaces.
        # No worker dashboard unless asked for (worker_options={"--dashboard": ""}):
        # nothing links to it, and with bokeh installed loading it costs each worker
        # about a second of start-up (measured with 5 workers on 2 cores).
        dashboard = "" if "--dashboard" in self.worker_options else " --no-dashboard"
        return (f"exec {self._python()} -m distributed.cli.dask_worker {address} "
                f"--name $CONTAINER_ID --no-nanny{dashboard} {flags}" + self._tls_flags("worker"))

    async def _close(self) -> None:
        await super()._close()
        await self._stop_everything(end_application=self.shutdown_on_close)

    async def _stop_everything(self, end_application: bool) -> None:
        """Ends what was started, whatever got that far (the YARN application too, if
        `end_application`); safe to call twice. The local scheduler goes first, so that
        workers being killed are not mid-handshake with it."""
        if self._monitor is not None:
            self._monitor.cancel()
        # A start cancelled by Ctrl-C may still be submitting: let it finish, then end it.
        await asyncio.gather(*self._calls, return_exceptions=True)
        if self.scheduler is not None:
            await self.scheduler.close()
        if end_application:
            await self._call(self.knit.kill)
        elif self.knit.app_id is not None:
            logger.info("Left %s running; attach with YarnCluster.from_application_id(%r)",
                        self.knit.app_id, self.knit.app_id)
            self.knit.detach()
        if self._credentials is not None:
            self._credentials.remove()

    async def _call(self, fn, *args, **kwargs):
        """knit's calls block (Py4J): run them off the event loop. Cancelling the caller
        does not stop the call; `_stop_everything` waits for calls in flight. Shielded: a
        cancelled await would otherwise mark the call done while its thread still runs (a
        start interrupted by Ctrl-C, whose application then had no handle to be killed by)."""
        call = asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))
        self._calls.add(call)
        call.add_done_callback(self._calls.discard)
        return await asyncio.shield(call)

    @property
    def dashboard_link(self) -> str:
        if self.scheduler is not None and "dashboard" in self.scheduler.services:
            # Bound to localhost in local mode, whatever name the scheduler listens on.
            port = self.scheduler.services["dashboard"].port
            return format_dashboard_link("localhost", port)
        return super().dashboard_link

    # ------------------------------------------------------------------ scaling
    def _workers(self) -> list[Container]:
        """The containers of workers (in remote mode the application also has the
        scheduler's)."""
        return [c for c in self._containers if c.role == self._worker_role]

    def _live(self) -> list[Container]:
        return [c for c in self._workers() if c.state in LIVE_CONTAINER_STATES]

    @property
    def plan(self) -> set:
        return {c.id for c in self._live()} | {f"pending-{i}" for i in range(self._pending)}

    requested = plan

    def scale(self, n: int = 0, memory=None, cores=None):  # noqa: D401  (Cluster API)
        """Run `n` workers: ask YARN for more, or retire the surplus and release their
        containers. On an asynchronous cluster it runs whether or not it is awaited (as
        LocalCluster's does), and returns a task to await for its end."""
        if self.asynchronous:
            return asyncio.ensure_future(self._scale(int(n)))
        return self.sync(self._scale, int(n))

    async def _scale(self, n: int) -> None:
        if n < 0:
            raise InvalidArgumentError(f"Cannot scale to {n} workers")
        await self._refresh()
        current = len(self._live()) + self._pending
        if n > current:
            await self._call(self.knit.add_containers, n - current, role=self._worker_role)
        elif n < current:
            surplus = current - n
            surplus -= await self._call(self.knit.cancel_containers, surplus,
                                        role=self._worker_role)
            if surplus > 0:
                names = await self.scheduler_comm.workers_to_close(n=surplus, attribute="name")
                live = [c.id for c in self._live()]
                # Containers whose worker has not joined yet go first, then idle workers.
                joined = {w["name"] for w in self.scheduler_info["workers"].values()}
                victims = ([c for c in live if c not in joined] + list(names))[:surplus]
                await self.scale_down(victims)
        await self._refresh()

    async def scale_down(self, workers) -> None:
        """Retire these workers (names = container ids) and release their containers."""
        names = [w for w in workers if any(c.id == w for c in self._live())]
        if not names:
            return
        self._retiring.update(names)
        await self.scheduler_comm.retire_workers(names=names, close_workers=True, remove=True)
        await self._call(self.knit.remove_containers, names)

    # ------------------------------------------------------------------ watching
    async def _refresh(self) -> None:
        self._containers = await self._call(self.knit.get_containers)
        self._pending = await self._call(self.knit.pending_containers, role=self._worker_role)
        restarts = await self._call(self.knit.restarts)
        if self._worker_role in restarts:
            self._restarts = restarts[self._worker_role]

    @property
    def restarts_left(self) -> int:
        """Lost workers the ApplicationMaster may still replace (as last read from it)."""
        return self._restarts.left

    @property
    def _unreplaced(self) -> int:
        """Workers lost when no restarts were left (the ApplicationMaster's count)."""
        return self._restarts.unreplaced

    async def _watch_containers(self) -> None:
        """Watch the workers' containers end. knit's ApplicationMaster replaces failed and
        preempted ones itself (failures from the worker role's restarts); this says what
        it did, and handles the ends only Dask can judge: a worker Dask closed for
        ``client.restart()`` exits with status 0 and is started again without counting; one
        that exited with status 0 unasked is a loss, replaced from the restarts."""
        while True:
            await asyncio.sleep(1)
            try:
                await self._refresh()
            except KnitException as e:
                logger.error("Lost track of the YARN application: %s", e)
                return
            if await self._workers_cannot_connect():
                return
            for c in self._containers:
                if c.state != COMPLETED or c.id in self._seen_done:
                    continue
                self._seen_done.add(c.id)
                if c.role != self._worker_role:  # the remote scheduler: nothing replaces it
                    logger.error("The scheduler's container %s ended (%s: %s): the cluster is "
                                 "gone; close it", c.id, c.outcome, c.diagnostics)
                    continue
                if c.id in self._retiring or c.outcome == OUTCOME_RELEASED:
                    continue
                await self._close_orphan(c.id)
                why = f"{c.outcome}: {c.diagnostics}"
                if c.exit_status == _CANNOT_EXECUTE and self.env is None:
                    why += _cannot_execute_hint(sys.executable)
                if c.outcome == OUTCOME_SUCCEEDED and await self._closed_by_restart(c.id):
                    # client.restart() closes workers without a nanny: no loss, and the
                    # ApplicationMaster does not replace a success: one more, uncounted.
                    logger.info("Worker %s was restarted by Dask; starting another", c.id)
                    await self._call(self.knit.add_containers, 1, role=self._worker_role)
                    continue
                if c.outcome == OUTCOME_PREEMPTED:
                    logger.warning("Worker %s on %s was preempted; the ApplicationMaster "
                                   "replaces it (no restart counted)", c.id, c.node)
                    continue
                if c.outcome == OUTCOME_SUCCEEDED:  # exited unasked: a loss only Dask can judge
                    await self._call(self.knit.replace_lost, c.id)
                    await self._refresh()
                self._log_loss(c, why)

    def _log_loss(self, c: Container, why: str) -> None:
        """Say what the ApplicationMaster did about a lost worker, from its counts: losses
        it could not replace are those past the unreplaced ones already told."""
        r = self._restarts
        if self._unreplaced_logged < r.unreplaced:
            self._unreplaced_logged += 1
            logger.error("Worker %s on %s was lost (%s); no restarts left (%d of %d used)",
                         c.id, c.node, why, r.used, r.max_restarts)
        else:
            logger.warning("Worker %s on %s was lost (%s); the ApplicationMaster replaces it "
                           "(%d of %d restarts used)", c.id, c.node, why, r.used, r.max_restarts)

    async def _workers_cannot_connect(self) -> bool:
        """True, with the application ended and `_cannot_connect` set, once worker
        containers run but none can reach the scheduler: a worker that said it was
        connecting CONNECT_GIVE_UP_S ago and no worker joined since. Ended rather than
        left to their death timeout, so that no restart is spent on them."""
        if self._ever_connected or self._cannot_connect is not None:
            return False
        running = [c for c in self._live() if c.state == RUNNING]
        if not running:
            return False
        now = time.monotonic()
        self._first_running = self._first_running or now
        if now - self._first_running < CONNECT_LOOK_AFTER_S:
            return False
        if self._connecting_seen is None:
            if _CONNECTING in await self._last_lines(running[0].id):
                self._connecting_seen = now
            return False
        if now - self._connecting_seen < CONNECT_GIVE_UP_S or self._ever_connected:
            return False
        worker = running[0]
        last = (await self._last_lines(worker.id)).strip().splitlines()[-1:] or ["(nothing)"]
        address = self.scheduler_address
        where = ("pass scheduler_host= (or interface=) with an address of this machine that "
                 "they can reach, or use deploy_mode='remote', which runs the scheduler in "
                 "the cluster and needs only this machine to reach the cluster"
                 if self.deploy_mode == "local" else
                 "check that the cluster's hosts can reach each other")
        error = WorkersCannotConnectError(
            f"{len(running)} worker container(s) run but none could connect to the scheduler "
            f"at {address} within {now - self._first_running:.0f} s; {worker['id']} on "
            f"{worker['node']} last logged: {last[0].strip()!r}. The workers' hosts cannot "
            f"reach that address (a firewall, or an address private to this host): {where}. "
            f"The application {self.knit.app_id} was ended.")
        logger.error("%s", error)
        self._cannot_connect = error
        self._ending = asyncio.ensure_future(self._call(self.knit.kill))
        await self._ending
        return True

    async def _raise_cannot_connect(self) -> None:
        """Raise the workers' connection failure, once the application has ended."""
        await asyncio.gather(self._ending, return_exceptions=True)
        raise self._cannot_connect

    async def _last_lines(self, container_id: str) -> str:
        """The end of a running container's stderr, where a worker logs ("" if unreadable)."""
        try:
            files = (await self._call(self.knit.logs, container_id)).get(container_id, {})
        except KnitException as e:
            logger.debug("Could not read the log of %s: %s", container_id, e)
            return ""
        return files.get("stderr", "")[-2000:]

    def _update_worker_status(self, op, msg):
        """The scheduler's stream of workers joining and leaving (Cluster's): keep each
        worker's address by name, since once the scheduler removes a worker, its events
        are found by address alone."""
        if op == "add":
            workers = msg.get("workers", {})
            self._address_of.update({w.get("name"): a for a, w in workers.items()})
            self._ever_connected = self._ever_connected or bool(workers)
        super()._update_worker_status(op, msg)

    async def _closed_by_restart(self, name: str) -> bool:
        """Whether the scheduler removed worker `name` for a ``client.restart()`` (its
        event log says so by the removal's stimulus)."""
        address = self._address_of.get(name)
        if address is None:
            return False
        try:
            events = await self.scheduler_comm.events(topic=address)
        except OSError:
            return False
        return any(msg.get("action") == "remove-worker"
                   and str(msg.get("stimulus_id", "")).startswith("client-restart")
                   for _, msg in events if isinstance(msg, dict))

    async def _close_orphan(self, name: str) -> None:
        """YARN says the container `name` ended, but its worker may live on: when the
        container's first process is killed, its NodeManager normally ends the rest, yet
        not always. Such a worker computes outside YARN's accounting, so it is closed."""
        try:
            workers = (await self.scheduler_comm.identity()).get("workers", {})
            for address in [a for a, w in workers.items() if w.get("name") == name]:
                logger.warning("Worker %s outlived its container; closing it", name)
                await self.scheduler_comm.unregister(
                    address=address, stimulus_id=f"knit-container-ended-{time.time()}", close=True)
        except OSError as e:
            logger.warning("Could not close worker %s, whose container ended: %s", name, e)

    def counts(self, waiting: str | None = None) -> Counts:
        """Requested, allocated, running containers and connected workers, now (and
        `waiting`, why YARN keeps requests waiting, if known)."""
        live = self._live()
        connected = sum(1 for w in self.scheduler_info.get("workers", {}).values()
                        if w.get("status", "running") == "running")
        return Counts(requested=len(live) + self._pending,
                      allocated=sum(c.state == ALLOCATED for c in live),
                      running=sum(c.state == RUNNING for c in live),
                      connected=connected, waiting=waiting)

    async def _wait_for_workers(self, n_workers=0, timeout=None) -> None:
        """Wait for `n_workers` connected workers, showing progress; fail early when
        they can no longer come (workers lost with no restarts left)."""
        deadline = None if timeout is None else time.monotonic() + parse_timedelta(timeout)
        progress = Progress(n_workers, enabled=self.show_progress)
        why, asked_why_at = None, time.monotonic()
        try:
            while True:
                try:
                    await self._refresh()
                except KnitException:
                    if self._cannot_connect is None:
                        raise
                if self._cannot_connect is not None:  # the watch is ending the application
                    await self._raise_cannot_connect()
                self.scheduler_info = SchedulerInfo(await self.scheduler_comm.identity())
                counts = self.counts(why)
                if self._pending and time.monotonic() - asked_why_at > ASK_WHY_AFTER_S:
                    # Requests still wait: ask YARN why (a few REST calls), now and then.
                    why, asked_why_at = await self._call(self.knit.waiting_reason), time.monotonic()
                    counts = self.counts(why)
                elif not self._pending:
                    why = None
                progress.update(counts)
                if counts.connected >= n_workers:
                    return
                if counts.requested < n_workers and self._unreplaced:
                    raise KnitException(
                        f"Only {counts.requested} of {n_workers} workers can still start: "
                        f"{self._unreplaced} were lost and no restarts are left (worker_restarts="
                        f"{self._restarts.max_restarts}, all used); see cluster.get_logs() for why.")
                if deadline is not None and time.monotonic() > deadline:
                    if self._pending and not why:
                        why = await self._call(self.knit.waiting_reason)
                    raise WorkersDidNotComeError(counts.connected, n_workers, timeout, why)
                await asyncio.sleep(0.1)
        finally:
            progress.close()

    def _repr_html_(self, cluster_status=None) -> str:
        if cluster_status is None and self._containers is not None:
            cluster_status = self.counts().html()
        return super()._repr_html_(cluster_status=cluster_status)

    async def _get_logs(self, cluster=True, scheduler=True, workers=True):
        logs = await super()._get_logs(cluster=cluster, scheduler=scheduler, workers=False)
        if workers or (scheduler and self.deploy_mode == "remote"):
            for container, files in (await self._call(self.knit.logs)).items():
                logs[container] = Log(files.get("stderr", "") + files.get("stdout", ""))
        return logs

    @property
    def application_id(self) -> str | None:
        """The YARN application id of the workers."""
        return self.knit.app_id

    @property
    def scheduler_application_id(self) -> str | None:
        """The YARN application id of the scheduler (remote mode), else None."""
        return None if self.deploy_mode == "local" else self.knit.app_id
