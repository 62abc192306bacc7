"""``Knit``: the seed's flow in one object. A :class:`ClusterClient` holding the one
application it started; calls about that application go to its :class:`Application`."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from .application import MAIN_ROLE, Application
from .cluster_client import ClusterClient
from .exceptions import ApplicationStateError
from .messages import ApplicationReport, Container

__all__ = ["Knit", "connect", "MAIN_ROLE"]


class Knit(ClusterClient):
    """A handle on one YARN application that runs a command in N containers: a
    :class:`ClusterClient` (same parameters) that holds the application :meth:`start`
    started, and answers for it.

    Examples
    --------
    >>> k = Knit()                                                    # doctest: +SKIP
    >>> app_id = k.start("echo hello from $CONTAINER_ID", num_containers=5, memory=256)
    >>> k.wait_for_completion(timeout=120)
    'SUCCEEDED'
    >>> k.logs()          # {container_id: {"stdout": ..., "stderr": ...}}
    >>> k.kill()

    Applications end when the ``with`` block ends (:meth:`kill`), and when the Python
    process exits (however it exits), unless started with ``detached=True``: knit's client
    JVM kills them as this process goes, and should both die at once (kill -9 of the
    process group, a lost machine), the ApplicationMaster ends the application within
    about 30 s of its client's last lease renewal.
    """

    def __init__(self, hadoop_conf_dir: str | os.PathLike | None = None, *,
                 principal: str | None = None, keytab: str | os.PathLike | None = None,
                 **overrides: Any) -> None:
        super().__init__(hadoop_conf_dir, principal=principal, keytab=keytab, **overrides)
        self.app: Application | None = None

    def start(self, cmd: str, *args: Any, **kwargs: Any) -> str:  # noqa: D417
        """Start an application running `cmd` in containers; see
        :meth:`ClusterClient.start` for the parameters. Returns its YARN application id;
        :attr:`app` is its :class:`Application`."""
        if self.app is not None and self.app.status().state not in ("FINISHED", "FAILED", "KILLED"):
            raise ApplicationStateError(f"This Knit is already running {self.app.app_id}; kill() "
                                        "it or use another Knit object.")
        super().start(cmd, *args, **kwargs)
        return self.app.app_id

    def _submitted(self, app: Application) -> None:
        self.app = app  # also when its start then fails: status() says how it ended

    @property
    def app_id(self) -> str | None:
        """The YARN id of this Knit's application (None before start)."""
        return None if self.app is None else self.app.app_id

    @app_id.setter
    def app_id(self, app_id: str) -> None:
        """Adopt an application by id (to ask its status or kill it)."""
        self.app = Application(self, app_id)

    @property
    def uploaded_bytes(self) -> int:
        """Bytes the last start() sent to HDFS for knit's jar and the environment."""
        return 0 if self.app is None else self.app.uploaded_bytes

    def _app(self) -> Application:
        if self.app is None:
            raise ApplicationStateError("No application: call start() first.")
        return self.app

    # The application's calls; see Application for what each does.
    def status(self) -> ApplicationReport:
        return self._app().status()

    def waiting_reason(self) -> str | None:
        return self._app().waiting_reason()

    def get_containers(self) -> list[Container]:
        return self._app().get_containers()

    def add_role(self, name: str, cmd: str, memory: int | str = 1024, virtual_cores: int = 1,
                 files: Sequence[str | os.PathLike] | None = None,
                 envvars: Mapping[str, str] | None = None, gpus: int = 0,
                 resources: Mapping[str, int] | None = None) -> None:
        self._app().add_role(name, cmd, memory, virtual_cores, files, envvars, gpus, resources)

    def add_containers(self, n: int, memory: int | str | None = None,
                       virtual_cores: int | None = None, role: str = MAIN_ROLE) -> None:
        self._app().add_containers(n, memory, virtual_cores, role)

    def pending_containers(self, role: str | None = None) -> int:
        return self._app().pending_containers(role)

    def cancel_containers(self, n: int, role: str = MAIN_ROLE) -> int:
        return self._app().cancel_containers(n, role)

    def remove_containers(self, container_id: str | Sequence[str]) -> None:
        self._app().remove_containers(container_id)

    def wait_for_completion(self, timeout: float | None = None) -> str:
        return self._app().wait_for_completion(timeout)

    def logs(self, container_id: str | None = None, timeout: float = 60,
             all_files: bool = False) -> dict[str, dict[str, str]]:
        return self._app().logs(container_id, timeout, all_files)

    def read_log_file(self, container_id: str, name: str) -> str:
        return self._app().read_log_file(container_id, name)

    def kill(self, timeout: float = 30) -> None:
        """End the application, if one was started; idempotent (see Application.kill)."""
        if self.app is not None:
            self.app.kill(timeout)

    for _name in ("status", "waiting_reason", "get_containers", "add_role", "add_containers",
                  "pending_containers", "cancel_containers", "remove_containers",
                  "wait_for_completion", "logs", "read_log_file"):
        locals()[_name].__doc__ = getattr(Application, _name).__doc__
    del _name

    def __enter__(self) -> "Knit":
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Knit<{self.app_id or 'not started'}, {self.config.conf_dir}>"


def connect(app_id: str, hadoop_conf_dir: str | os.PathLike | None = None, *,
            principal: str | None = None, keytab: str | os.PathLike | None = None,
            renew_lease: bool = False, **overrides: Any) -> Application:
    """Attach to a running knit application of this user, from any process: see
    :meth:`ClusterClient.connect`.

    Examples
    --------
    >>> app = knit.connect("application_1733059200000_0007")       # doctest: +SKIP
    >>> app.get_containers(); app.add_containers(2); app.kill()
    """
    cluster = ClusterClient(hadoop_conf_dir, principal=principal, keytab=keytab, **overrides)
    return cluster.connect(app_id, renew_lease=renew_lease)
