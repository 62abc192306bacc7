"""``Knit``: the seed's flow in one object. It holds a :class:`ClusterClient` and the one
:class:`Application` its :meth:`Knit.start` started (or :meth:`Knit.attach` adopted), and
answers for both: every public method of :class:`Application`, and the cluster-wide ones
of :class:`ClusterClient`, are methods of ``Knit`` too."""
from __future__ import annotations

import functools
import os
from typing import Any, Callable

from .application import DONE_STATES, Application
from .names import MAIN_ROLE
from .spec import ApplicationSpec
from .timeouts import CONNECT_S, KILL_S
from .cluster_client import ClusterClient
from .exceptions import ApplicationStateError, KnitException

__all__ = ["Knit", "connect", "MAIN_ROLE"]

#: ClusterClient's calls about the cluster, which a Knit answers as its ClusterClient does.
CLUSTER_METHODS = ("check_fits", "applications", "connect", "create_env", "list_envs",
                   "remove_env", "clean")
#: Application's calls, which a Knit answers for the application it holds (``kill``, which
#: is idempotent and allowed before any start, is written out below).
APPLICATION_METHODS = ("add_role", "add_containers", "waiting_reason", "pending_containers",
                       "cancel_containers", "cancel_container_with", "scale", "remove_containers", "get_containers",
                       "detach", "status", "wait_for_completion", "logs", "read_log_file",
                       "set_link", "read_staged_file", "restarts", "replace_lost")


def _to_cluster(name: str) -> Callable:
    @functools.wraps(getattr(ClusterClient, name))
    def call(self: "Knit", *args: Any, **kwargs: Any) -> Any:
        return getattr(self.cluster, name)(*args, **kwargs)
    return call


def _to_application(name: str) -> Callable:
    @functools.wraps(getattr(Application, name))
    def call(self: "Knit", *args: Any, **kwargs: Any) -> Any:
        return getattr(self._app(), name)(*args, **kwargs)
    return call


class Knit:
    """A handle on one YARN application that runs a command in N containers.

    It takes :class:`ClusterClient`'s parameters, holds one (:attr:`cluster`), and the
    application :meth:`start` started (:attr:`app`); it has every public method of
    :class:`Application`, for that application, and the cluster-wide methods of
    :class:`ClusterClient` (``create_env``, ``connect``, ``applications``...).

    Parameters
    ----------
    hadoop_conf_dir : str or path, optional
        The cluster's client configuration; see :class:`ClusterClient`.
    principal, keytab : str, optional
        Kerberos login; see :class:`ClusterClient`.
    proxy_user : str, optional
        Act as this user through Hadoop's proxy users; see :class:`ClusterClient`.
    **overrides
        Hadoop properties that win over the configuration files.

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
                 proxy_user: str | None = None, **overrides: Any) -> None:
        #: The cluster this Knit talks to.
        self.cluster = ClusterClient(hadoop_conf_dir, principal=principal, keytab=keytab,
                                     proxy_user=proxy_user, **overrides)
        #: The application this Knit holds (None before start() or attach()).
        self.app: Application | None = None

    @property
    def config(self):
        """The cluster's Hadoop configuration (:class:`knit.config.HadoopConfig`)."""
        return self.cluster.config

    @property
    def user(self) -> str:
        """Who this client is to the cluster (see :attr:`ClusterClient.user`)."""
        return self.cluster.user

    def start(self, cmd: str | ApplicationSpec, **options: Any) -> str:  # noqa: D417
        """Start an application running `cmd` in containers (or as an
        :class:`ApplicationSpec` says); see :meth:`ClusterClient.start`. Returns its YARN
        application id; :attr:`app` is its :class:`Application` (also when the start then
        fails: its status says how it ended)."""
        if self.app is not None and self.app.status().state not in DONE_STATES:
            raise ApplicationStateError(f"This Knit is already running {self.app.app_id}; kill() "
                                        "it or use another Knit object.")
        try:
            self.app = self.cluster.start(cmd, **options)
        except KnitException as e:
            if e.app_id is not None:
                self.app = Application(self.cluster, e.app_id)
            raise
        return self.app.app_id

    def attach(self, app_id: str, renew_lease: bool = False,
               timeout: float = CONNECT_S) -> Application:
        """Hold a running application of this user, started by any process (see
        :meth:`ClusterClient.connect`): this Knit's calls then act on it."""
        if self.app is not None and self.app.status().state not in DONE_STATES:
            raise ApplicationStateError(f"This Knit holds {self.app.app_id}, which runs; kill() "
                                        "it or use another Knit object.")
        self.app = self.cluster.connect(app_id, renew_lease=renew_lease, timeout=timeout)
        return self.app

    @property
    def app_id(self) -> str | None:
        """The YARN id of this Knit's application (None before start)."""
        return None if self.app is None else self.app.app_id

    @app_id.setter
    def app_id(self, app_id: str) -> None:
        """Adopt an application by id (to ask its status or kill it)."""
        self.app = Application(self.cluster, app_id)

    @property
    def roles(self) -> set[str]:
        """The roles of this Knit's application (see :attr:`Application.roles`)."""
        return self._app().roles

    @property
    def uploaded_bytes(self) -> int:
        """Bytes the last start() sent to HDFS for knit's jar and the environment."""
        return 0 if self.app is None else self.app.uploaded_bytes

    def _app(self) -> Application:
        if self.app is None:
            raise ApplicationStateError("No application: call start() first.")
        return self.app

    for _name in CLUSTER_METHODS:
        locals()[_name] = _to_cluster(_name)
    for _name in APPLICATION_METHODS:
        locals()[_name] = _to_application(_name)
    del _name

    def kill(self, timeout: float = KILL_S) -> None:
        """End the application, if one was started; idempotent (see
        :meth:`Application.kill`)."""
        if self.app is not None:
            self.app.kill(timeout)

    def __enter__(self) -> "Knit":
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Knit<{self.app_id or 'not started'}, {self.config.conf_dir}>"


def connect(app_id: str, hadoop_conf_dir: str | os.PathLike | None = None, *,
            principal: str | None = None, keytab: str | os.PathLike | None = None,
            proxy_user: str | None = None, renew_lease: bool = False,
            **overrides: Any) -> Application:
    """Attach to a running knit application of this user, from any process: see
    :meth:`ClusterClient.connect`.

    Examples
    --------
    >>> app = knit.connect("application_1733059200000_0007")       # doctest: +SKIP
    >>> app.get_containers(); app.add_containers(2); app.kill()
    """
    cluster = ClusterClient(hadoop_conf_dir, principal=principal, keytab=keytab,
                            proxy_user=proxy_user, **overrides)
    return cluster.connect(app_id, renew_lease=renew_lease)
