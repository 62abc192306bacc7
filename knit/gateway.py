"""A dask-gateway-server backend: each gateway cluster is one YARN application started by
knit, run as the user who asked for it (a proxy user of the gateway's service user).

Select it in the gateway's configuration file::

    c.DaskGateway.backend_class = "knit.gateway.KnitBackend"

The scheduler runs in the application's main container and the workers in one role,
"worker", each container with its own environment: the gateway's name for the worker, in
DASK_GATEWAY_WORKER_NAME, which the role's command passes to ``--name`` (the gateway
recognises its workers by it). knit never restarts a worker: the gateway's own rules
replace a lost one. The cluster's TLS certificate and key, and the token the scheduler uses to
report to the gateway, reach the containers as files in the application's staging dir,
which only its user can read: never on a command line or in an environment variable.
The application id is the cluster's state in the gateway's database, so a restarted
gateway finds its clusters again. See docs/gateway.md.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import os
import shutil
import sys
import tempfile
import threading
from collections import defaultdict
from typing import Any, Callable, Iterator, TypeVar

try:
    from dask_gateway_server.backends.base import ClusterConfig, PublicException
    from dask_gateway_server.backends.db_base import DBBackendBase
    from dask_gateway_server.traitlets import Command, Type
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError(f"knit.gateway needs dask-gateway-server: pip install 'knit[gateway]' "
                      f"({e})") from e
from traitlets import Integer, Unicode

from .application import DONE_STATES, Application
from .cluster_client import ClusterClient
from .exceptions import ApplicationStateError, KnitException
from .names import COMPLETED, LIVE_CONTAINER_STATES, MAIN_ROLE, OUTCOME_RELEASED, PYTHON_BIN_VAR
from .spec import ApplicationSpec
from .timeouts import WORKER_DEATH_TIMEOUT_S

__all__ = ["KnitBackend", "KnitClusterConfig"]

T = TypeVar("T")

# Files in every container's working dir (the names DBBackendBase.get_tls_paths gives).
_TLS_CERT, _TLS_KEY = "dask.crt", "dask.pem"
# The scheduler's API token, as a file: dask_gateway's scheduler preload reads the file
# that DASK_GATEWAY_API_TOKEN names when the value holds a "/".
_TOKEN_FILE = "dask-gateway-token"
_TOKEN_VARIABLE = "DASK_GATEWAY_API_TOKEN"
# The role of every worker of a cluster, and the variable that names each worker (a name,
# no secret: it goes into YARN's launch context). A worker's state holds its role once it
# was asked for.
WORKER_ROLE = "worker"
WORKER_NAME_VARIABLE = "DASK_GATEWAY_WORKER_NAME"
_TAGS = ["dask", "dask-gateway"]
_PYTHON = "${%s:-%s}" % (PYTHON_BIN_VAR, sys.executable)


class KnitClusterConfig(ClusterConfig):
    """The options of one gateway cluster on YARN (``c.KnitClusterConfig.<name>`` in the
    gateway's configuration, or per user through ``c.Backend.cluster_options``), beside
    dask-gateway's own (``worker_memory``, ``worker_cores``, ``scheduler_memory``,
    ``scheduler_cores``, ``environment`` (variables), ``idle_timeout``...).

    Without `env`, scheduler and workers run this gateway's interpreter, which every node
    must then have at the same path.
    """

    scheduler_cmd = Command(
        [_PYTHON, "-m", "distributed.cli.dask_scheduler"],
        help="The scheduler's command (distributed 2026.11 installs no dask-scheduler "
             "script). $PYTHON_BIN is the interpreter of `env`.", config=True)
    # No nanny: the container is the worker, so a dead worker is a finished container
    # that the gateway sees and replaces; --death-timeout ends one whose scheduler is gone.
    # No dashboard of its own (as YarnCluster's workers): the gateway proxies the
    # scheduler's alone, and a worker's took 1.5 s of its start (benchmarks/README.md).
    worker_cmd = Command(
        [_PYTHON, "-m", "distributed.cli.dask_worker", "--no-nanny", "--no-dashboard",
         "--death-timeout", str(WORKER_DEATH_TIMEOUT_S)],
        help="The worker's command (the gateway adds the scheduler's address, --name, "
             "--nthreads and --memory-limit).", config=True)
    queue = Unicode("default", help="The YARN queue of the cluster's application.", config=True)
    env = Unicode(
        None, allow_none=True,
        help="A packed environment on the gateway's host (knit.create_env or `knit env "
             "create`, or any venv-pack/conda-pack archive), unpacked in every container: "
             "$PYTHON_BIN is its interpreter. Uploaded to HDFS once.", config=True)
    scheduler_setup = Unicode(
        "", help="Shell commands run before the scheduler starts.", config=True)
    worker_setup = Unicode("", help="Shell commands run before each worker starts.", config=True)
    node_label = Unicode(
        None, allow_none=True, help="A YARN node label expression for the containers.",
        config=True)
    worker_gpus = Integer(
        0, min=0, help="GPUs (YARN's yarn.io/gpu) of each worker container.", config=True)


class KnitBackend(DBBackendBase):
    """dask-gateway-server's backend for YARN through knit: one application per cluster,
    submitted as the cluster's user (the gateway's own user impersonates it: the
    cluster's Hadoop configuration must allow that, ``hadoop.proxyuser.<service>.*``).

    A database other than the default in-memory one (needed for clusters to be found
    again after a restart) needs ``c.KnitBackend.db_encrypt_keys``.
    """

    cluster_config_class = Type(
        "knit.gateway.KnitClusterConfig", klass="dask_gateway_server.backends.base.ClusterConfig",
        help="The cluster config class to use", config=True)
    hadoop_conf_dir = Unicode(
        None, allow_none=True,
        help="The cluster's Hadoop configuration (default: $HADOOP_CONF_DIR, "
             "$YARN_CONF_DIR, /etc/hadoop/conf).", config=True)
    principal = Unicode(
        None, allow_none=True,
        help="On a Kerberized cluster, the gateway service's principal (it stays on the "
             "gateway's host: no keytab goes to containers).", config=True)
    keytab = Unicode(None, allow_none=True, help="The keytab of `principal`.", config=True)

    supports_bulk_shutdown = True

    # ------------------------------------------------------------------ set-up
    async def do_setup(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(self.parallelism, 4), thread_name_prefix="knit-gateway")
        self._lock = threading.Lock()
        self._clients: dict[str, ClusterClient] = {}
        self._apps: dict[str, Application] = {}
        # Per cluster: its first workers, started at once, add its worker role once.
        self._role_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        # A gateway that cannot reach its cluster (no conf dir, no Java, a keytab that does
        # not log in) fails to start, saying why, rather than at its first cluster.
        service = await self._run(lambda: ClusterClient(
            self.hadoop_conf_dir, principal=self.principal, keytab=self.keytab))
        self.log.info("knit: YARN at %s as %s", service.config.conf_dir, service.user)

    async def do_cleanup(self) -> None:
        # Clusters keep running (unless stop_clusters_on_shutdown stopped them first): let
        # go of their applications, which a restarted gateway attaches to again.
        for app in list(self._apps.values()):
            with contextlib.suppress(KnitException):
                await self._run(app.detach)
        self._apps.clear()
        self._executor.shutdown(wait=False)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` (blocking knit calls) in the backend's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _client(self, username: str) -> ClusterClient:
        """The cluster as `username` sees it, through the service's own login."""
        with self._lock:
            client = self._clients.get(username)
        if client is None:
            client = ClusterClient(self.hadoop_conf_dir, principal=self.principal,
                                   keytab=self.keytab, proxy_user=username)
            with self._lock:
                client = self._clients.setdefault(username, client)
        return client

    def _app(self, cluster) -> Application:
        """The handle on `cluster`'s application, attached again after a restart."""
        with self._lock:
            app = self._apps.get(cluster.name)
        if app is None:
            app = self._client(cluster.username).connect(cluster.state["app_id"])
            with self._lock:
                app = self._apps.setdefault(cluster.name, app)
        return app

    # ------------------------------------------------------------------ the user
    async def start_cluster(self, user, cluster_options) -> str:
        # A user the service may not impersonate (PermissionDeniedError naming the
        # setting), or whose name Hadoop cannot take, is told so by new_cluster(): a
        # failure in do_start_cluster reaches the client only as "failed to start".
        try:
            await self._run(self._client, user.name)
        except KnitException as e:  # one line: it becomes an HTTP reason
            raise PublicException(" ".join(str(e).split())) from None
        return await super().start_cluster(user, cluster_options)

    def get_env(self, cluster) -> dict[str, str]:
        env = super().get_env(cluster)
        env[_TOKEN_VARIABLE] = f"./{_TOKEN_FILE}"  # a path: the token is in the file
        return env

    def get_worker_env(self, cluster) -> dict[str, str]:
        env = super().get_worker_env(cluster)
        env.pop(_TOKEN_VARIABLE)  # workers do not talk to the gateway
        return env

    # ------------------------------------------------------------------ clusters
    async def do_start_cluster(self, cluster):
        app = await self._in_flight(self._start_application, cluster)
        with self._lock:
            self._apps[cluster.name] = app
        yield {"app_id": app.app_id}

    def _start_application(self, cluster) -> Application:
        config = cluster.config
        command = _script(config.scheduler_setup, self.get_scheduler_command(cluster))
        with _secret_files(cluster, token=True) as files:
            spec = ApplicationSpec(
                command, num_containers=1, memory=_mb(config.scheduler_memory),
                virtual_cores=config.scheduler_cores, files=files, env=config.env,
                envvars=self.get_scheduler_env(cluster), app_name=f"dask-gateway-{cluster.name}",
                queue=config.queue, node_label=config.node_label, tags=_TAGS, keep_alive=True,
                # A lost scheduler is a failed cluster, for the gateway to see.
                max_restarts=0,
                # The gateway outlives its clients and may restart: no lease.
                detached=True, start_timeout=self.cluster_start_timeout)
            app = self._client(cluster.username).start(spec)
        self.log.info("Cluster %s of %s is YARN application %s", cluster.name, cluster.username,
                    app.app_id)
        return app

    async def _in_flight(self, fn: Callable[[Any], Application], cluster) -> Application:
        """`fn(cluster)` in a thread; if the caller is cancelled meanwhile (the gateway's
        timeout, a stop), the application it starts is killed once it has."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, cluster)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            def kill_when_started(f: asyncio.Future) -> None:
                if not f.cancelled() and f.exception() is None:
                    self._executor.submit(f.result().kill)
            future.add_done_callback(kill_when_started)
            raise

    async def do_stop_cluster(self, cluster) -> None:
        if cluster.state.get("app_id") is not None:
            await self._run(self._kill, cluster)

    def _kill(self, cluster) -> None:
        try:
            self._app(cluster).kill()
        except ApplicationStateError:  # it had ended already
            pass
        finally:
            with self._lock:
                self._apps.pop(cluster.name, None)
                self._role_locks.pop(cluster.name, None)

    async def do_check_clusters(self, clusters) -> list[bool]:
        return list(await asyncio.gather(*(self._run(self._alive, c) for c in clusters)))

    def _alive(self, cluster) -> bool:
        """The application runs and so does its scheduler. Only an answer that says so
        counts as dead: a ResourceManager that does not answer for a while is not."""
        if cluster.state.get("app_id") is None:
            return False
        try:
            app = self._app(cluster)
            if app.status().state in DONE_STATES:
                return False
            return not any(c.role == MAIN_ROLE and c.state == COMPLETED
                           for c in app.get_containers())
        except ApplicationStateError as e:
            self.log.info("Cluster %s: %s", cluster.name, e)
            return False
        except KnitException as e:
            self.log.warning("Cluster %s: could not check its application: %s", cluster.name, e)
            return True

    # ------------------------------------------------------------------ workers
    async def do_start_worker(self, worker):
        role = await self._run(self._start_worker, worker)
        yield {"role": role}

    def _start_worker(self, worker) -> str:
        cluster, app = worker.cluster, self._app(worker.cluster)
        with self._lock:
            lock = self._role_locks[cluster.name]
        with lock:  # the cluster's first workers start at once: one adds the role
            if WORKER_ROLE not in app.roles:
                self._add_worker_role(cluster, app)
        add_worker(app, worker.name)
        return WORKER_ROLE

    def _add_worker_role(self, cluster, app: Application) -> None:
        """The role of the cluster's workers: the gateway's worker command, with each
        container's own name in place of one worker's (the scheduler's address is known
        by the time the first worker starts)."""
        config = cluster.config
        # A literal in double quotes: bash expands it in the container (_script joins).
        command = _script(config.worker_setup,
                          self.get_worker_command(cluster, f'"${WORKER_NAME_VARIABLE}"'))
        with _secret_files(cluster, token=False) as files:
            # max_restarts=0: the gateway replaces lost workers.
            app.add_role(WORKER_ROLE, command, files=files, max_restarts=0,
                         memory=_mb(config.worker_memory), virtual_cores=config.worker_cores,
                         envvars=self.get_worker_env(cluster), gpus=config.worker_gpus)

    async def do_stop_worker(self, worker) -> None:
        if worker.state.get("role") is not None and worker.cluster.state.get("app_id") is not None:
            await self._run(self._stop_worker, worker.cluster, worker.name)

    def _stop_worker(self, cluster, name: str) -> None:
        try:
            app = self._app(cluster)
            app.cancel_container_with(WORKER_NAME_VARIABLE, name, role=WORKER_ROLE)
            theirs = [c for c in app.get_containers() if _is_worker(c, name)]
            for c in theirs:  # what YARN says of a worker that ended on its own
                if c.state == COMPLETED and c.outcome != OUTCOME_RELEASED:
                    self.log.info("Cluster %s: worker container %s ended (%s, exit status %s): %s",
                                cluster.name, c.id, c.outcome, c.exit_status, c.diagnostics)
            live = [c.id for c in theirs if c.state in LIVE_CONTAINER_STATES]
            if live:
                app.remove_containers(live)
        except ApplicationStateError:  # the cluster's application ended: nothing to stop
            pass

    async def do_check_workers(self, workers) -> list[bool]:
        by_cluster = defaultdict(list)
        for w in workers:
            by_cluster[w.cluster].append(w)
        alive: dict[str, bool] = {}
        for cluster, theirs in by_cluster.items():
            alive.update(await self._run(self._workers_alive, cluster, theirs))
        return [alive[w.name] for w in workers]

    def _workers_alive(self, cluster, workers) -> dict[str, bool]:
        """A worker is lost once its container has finished (not yet allocated counts as
        alive: the gateway's worker_start_timeout bounds that)."""
        try:
            containers = self._app(cluster).get_containers()
        except KnitException as e:  # the cluster's own check decides about the application
            self.log.warning("Cluster %s: could not list its containers: %s", cluster.name, e)
            return {w.name: True for w in workers}
        alive = {}
        for w in workers:
            states = {c.state for c in containers if _is_worker(c, w.name)}
            alive[w.name] = not (states and states.isdisjoint(LIVE_CONTAINER_STATES))
        return alive


def _is_worker(container, worker_name: str) -> bool:
    """Whether `container` is (or was) the gateway's worker `worker_name`."""
    return (container.role == WORKER_ROLE
            and container.envvars.get(WORKER_NAME_VARIABLE) == worker_name)


def add_worker(app: Application, worker_name: str) -> None:
    """Ask for the container of the gateway's worker `worker_name`: one of the cluster's
    worker role, named by its own variable (the role's command passes it to ``--name``)."""
    app.add_containers(1, role=WORKER_ROLE, envvars=[{WORKER_NAME_VARIABLE: worker_name}])


@contextlib.contextmanager
def _secret_files(cluster, token: bool) -> Iterator[list[str]]:
    """The cluster's TLS certificate and key (and with `token`, its API token) as files
    in a private temporary dir, removed once they are uploaded."""
    tmp = tempfile.mkdtemp(prefix="knit-gateway-")  # mode 700
    try:
        contents = {_TLS_CERT: cluster.tls_cert, _TLS_KEY: cluster.tls_key}
        if token:
            contents[_TOKEN_FILE] = cluster.token.encode()
        paths = []
        for name, data in contents.items():
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            paths.append(path)
        yield paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _script(setup: str, command: list[str]) -> str:
    """A container's shell command: the setup, then the process in its place."""
    run = "exec " + " ".join(command)
    return f"{setup.strip()} && {run}" if setup.strip() else run


def _mb(n_bytes: int) -> int:
    """dask-gateway's sizes (bytes) as YARN's MB, rounded up."""
    return max(1, math.ceil(n_bytes / 2**20))
