"""``YarnCluster``: a Dask cluster whose workers run in YARN containers started by knit.

The scheduler runs in this process (``deploy_mode="local"``); it asks knit's
ApplicationMaster for worker containers as Dask scales or adapts. Workers are named by
their container id, so retiring a worker releases exactly its container.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

import dask.config
from dask.utils import parse_bytes
from distributed import Scheduler
from distributed.core import rpc
from distributed.deploy import Cluster

from .core import Knit
from .exceptions import KnitException

logger = logging.getLogger(__name__)

_DEFAULTS = os.path.join(os.path.dirname(__file__), "knit.yaml")
dask.config.update_defaults(dask.config.collect([_DEFAULTS]))

_LIVE = ("ALLOCATED", "RUNNING")


def _config(key: str, value: Any) -> Any:
    return dask.config.get(f"knit.{key}") if value is None else value


class YarnCluster(Cluster):
    """A Dask cluster on YARN.

    Parameters
    ----------
    n_workers : int
        Workers to start with.
    worker_memory : str or int
        Memory of each worker container, e.g. ``"2 GiB"`` (also the worker's memory limit).
    worker_vcores : int
        Cores of each worker container (and the worker's threads).
    worker_options : dict
        More ``dask worker`` options, e.g. ``{"--nthreads": 2}``.
    env : path, optional
        A packed environment (:func:`knit.create_env`); by default workers use this
        process's interpreter, which every node must then have at the same path.
    queue, app_name : str
        YARN queue and application name.
    deploy_mode : {"local"}
        Where the scheduler runs: in this process.
    scheduler_memory, scheduler_vcores
        Reserved for ``deploy_mode="remote"``.
    worker_restarts : int
        How many lost workers are replaced before giving up.
    hadoop_conf_dir : str, optional
        The cluster's Hadoop configuration (default: ``HADOOP_CONF_DIR`` ...).

    Defaults come from the ``knit`` section of ``dask.config`` (see knit/knit.yaml).

    Examples
    --------
    >>> cluster = YarnCluster(n_workers=3, worker_memory="1 GiB")     # doctest: +SKIP
    >>> client = Client(cluster)
    >>> cluster.scale(5); cluster.adapt(minimum=1, maximum=10)
    >>> cluster.close()
    """

    def __init__(self, n_workers: int | None = None, worker_memory: str | int | None = None,
                 worker_vcores: int | None = None, worker_options: dict | None = None,
                 env: str | None = None, queue: str | None = None, app_name: str | None = None,
                 deploy_mode: str | None = None, scheduler_memory: str | int | None = None,
                 scheduler_vcores: int | None = None, worker_restarts: int | None = None,
                 hadoop_conf_dir: str | None = None, asynchronous: bool = False,
                 loop=None, **kwargs: Any) -> None:
        self.n_workers = int(_config("n-workers", n_workers))
        memory = _config("worker-memory", worker_memory)
        self.worker_memory_mb = max(1, parse_bytes(memory) // 2**20) if isinstance(memory, str) \
            else int(memory)
        self.worker_vcores = int(_config("worker-vcores", worker_vcores))
        self.worker_options = dict(_config("worker-options", worker_options) or {})
        self.env = _config("env", env)
        self.queue = _config("queue", queue)
        self.app_name = _config("app-name", app_name)
        self.deploy_mode = _config("deploy-mode", deploy_mode)
        self.worker_restarts = int(_config("worker-restarts", worker_restarts))
        self.hadoop_conf_dir = _config("hadoop-conf-dir", hadoop_conf_dir)
        if self.deploy_mode != "local":
            raise KnitException(f"deploy_mode={self.deploy_mode!r} is not supported yet; "
                                "use 'local'.")
        if self.n_workers < 0:
            raise KnitException(f"n_workers must be >= 0, got {self.n_workers}")
        self.knit = Knit(self.hadoop_conf_dir)
        self.scheduler: Scheduler | None = None
        self._containers: list[dict] = []
        self._pending = 0  # container requests YARN has not granted yet
        self._seen_failed: set[str] = set()
        self._restarts_used = 0
        self._monitor: asyncio.Task | None = None
        super().__init__(asynchronous=asynchronous, loop=loop, **kwargs)
        if not self.asynchronous:
            self._loop_runner.start()
            self.sync(self._start)

    # ------------------------------------------------------------------ lifecycle
    async def _start(self) -> None:
        self.status_message = "starting"
        self.scheduler = Scheduler(host=socket.gethostname(), port=0, dashboard_address=":0",
                                   validate=False)
        await self.scheduler
        self.scheduler_comm = rpc(self.scheduler.address)
        try:
            await self._call(self.knit.start, self._worker_command(),
                             num_containers=self.n_workers, memory=self.worker_memory_mb,
                             virtual_cores=self.worker_vcores, env=self.env,
                             app_name=self.app_name, queue=self.queue, keep_alive=True)
        except BaseException:
            await self.scheduler.close()
            raise
        self._monitor = asyncio.ensure_future(self._watch_containers())
        await super()._start()

    def _worker_command(self) -> str:
        python = "${PYTHON_BIN:-%s}" % sys.executable if self.env is None else "$PYTHON_BIN"
        options = {"--nthreads": self.worker_vcores,
                   "--memory-limit": f"{self.worker_memory_mb}MiB", **self.worker_options}
        flags = " ".join(f"{k} {v}" for k, v in options.items())
        # No nanny: the container is the worker, so a dead worker is a finished container
        # that YARN reports and knit replaces.
        return (f"exec {python} -m distributed.cli.dask_worker {self.scheduler.address} "
                f"--name $CONTAINER_ID --no-nanny {flags}")

    async def _close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
        await self._call(self.knit.kill)
        await super()._close()
        if self.scheduler is not None:
            await self.scheduler.close()

    @staticmethod
    async def _call(fn, *args, **kwargs):
        """knit's calls block (Py4J): run them off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    # ------------------------------------------------------------------ scaling
    def _live(self) -> list[dict]:
        return [c for c in self._containers if c["state"] in _LIVE]

    @property
    def plan(self) -> set:
        return {c["id"] for c in self._live()} | {f"pending-{i}" for i in range(self._pending)}

    requested = plan

    def scale(self, n: int = 0, memory=None, cores=None):  # noqa: D401  (Cluster API)
        """Run `n` workers: ask YARN for more, or retire the surplus and release their
        containers."""
        return self.sync(self._scale, int(n))

    async def _scale(self, n: int) -> None:
        await self._refresh()
        current = len(self._live()) + self._pending
        if n > current:
            await self._call(self.knit.add_containers, n - current)
        elif n < current:
            surplus = current - n
            surplus -= await self._call(self.knit.cancel_containers, surplus)
            if surplus > 0:
                names = self.scheduler.workers_to_close(n=surplus, attribute="name")
                live = [c["id"] for c in self._live()]
                # Containers whose worker has not joined yet go first, then idle workers.
                joined = {ws.name for ws in self.scheduler.workers.values()}
                victims = ([c for c in live if c not in joined] + list(names))[:surplus]
                await self.scale_down(victims)
        await self._refresh()

    async def scale_down(self, workers) -> None:
        """Retire these workers (names = container ids) and release their containers."""
        names = [w for w in workers if any(c["id"] == w for c in self._live())]
        if not names:
            return
        await self.scheduler.retire_workers(names=names, close_workers=True, remove=True)
        await self._call(self.knit.remove_containers, names)

    # ------------------------------------------------------------------ watching
    async def _refresh(self) -> None:
        self._containers = await self._call(self.knit.get_containers)
        self._pending = await self._call(self.knit.pending_containers)

    async def _watch_containers(self) -> None:
        """Replace workers whose container was lost (up to worker_restarts)."""
        while True:
            await asyncio.sleep(1)
            try:
                await self._refresh()
            except KnitException as e:
                logger.error("Lost track of the YARN application: %s", e)
                return
            for c in self._containers:
                if c["outcome"] != "FAILED" or c["id"] in self._seen_failed:
                    continue
                self._seen_failed.add(c["id"])
                if self._restarts_used < self.worker_restarts:
                    self._restarts_used += 1
                    logger.warning("Worker %s on %s was lost (%s); starting a replacement "
                                   "(%d of %d restarts)", c["id"], c["node"], c["diagnostics"],
                                   self._restarts_used, self.worker_restarts)
                    await self._call(self.knit.add_containers, 1)
                else:
                    logger.error("Worker %s on %s was lost (%s); no restarts left",
                                 c["id"], c["node"], c["diagnostics"])

    async def _get_logs(self, cluster=True, scheduler=True, workers=True):
        logs = await super()._get_logs(cluster=cluster, scheduler=scheduler, workers=False)
        if workers:
            for container, files in (await self._call(self.knit.logs)).items():
                logs[container] = files.get("stderr", "") + files.get("stdout", "")
        return logs

    @property
    def application_id(self) -> str | None:
        """The YARN application id."""
        return self.knit.app_id
