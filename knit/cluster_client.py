"""``ClusterClient``: a YARN cluster as this process's user sees it: its configuration,
the login, the checks before submitting, the environments stored in HDFS; it starts
applications and attaches to running ones."""
from __future__ import annotations

import logging
import os
import re
import secrets
from typing import Any, Mapping, Sequence

from . import java
from ._py4j import to_json
from ._tls import new_certificate
from .application import Application, Staging
from .spec import ApplicationSpec
from .timeouts import CONNECT_S, LEASE_S
from .client_jvm import close_client, get_client
from .config import HadoopConfig, acting_user, rm_get
from .env import create_env
from .exceptions import (ClusterCapacityError, ConfigurationError, InvalidArgumentError,
                         KerberosError, KnitException, PermissionDeniedError,
                         UnknownQueueError)
from .kerberos import Identity, uses_kerberos
from .messages import (AppSpec, Attachment, ClusterRef, GatewaySecrets, RemovedStaging,
                       StoredEnv, Submitted)
from .validation import check_user_name, queue_names

logger = logging.getLogger(__name__)

AM_MEMORY_MB = 512
AM_VCORES = 1


class ClusterClient:
    """A YARN cluster, as this process's user sees it.

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
    proxy_user : str, optional
        Act as this user through Hadoop's proxy users: a service logged in as itself
        (its keytab, or the process's user without Kerberos) submits and manages
        applications that YARN shows as this user's, with this user's staging dir, HDFS
        access and delegation tokens. The cluster must allow it
        (``hadoop.proxyuser.<service>.hosts`` and ``.users`` or ``.groups``); no keytab
        then goes to the application, whose tokens live as long as YARN renews them. See
        docs/gateway.md.
    **overrides
        Hadoop configuration keys that win over the files, e.g.
        ``ClusterClient(**{"yarn.resourcemanager.address": "rm:8032"})``.

    Raises
    ------
    KerberosError
        The cluster uses Kerberos and there is no ticket (nor a keytab that works).
    PermissionDeniedError
        The cluster does not let this login act as `proxy_user`; the message names the
        settings that decide.
    """

    def __init__(self, hadoop_conf_dir: str | os.PathLike | None = None, *,
                 principal: str | None = None, keytab: str | os.PathLike | None = None,
                 proxy_user: str | None = None, **overrides: Any) -> None:
        self.config = HadoopConfig.load(hadoop_conf_dir, **overrides)
        self.proxy_user = check_user_name(proxy_user, "proxy_user")
        self._ref = to_json(ClusterRef(self.config.conf_dir or "", self.config.overrides,
                                       proxy_user or "").to_json())
        #: Whose Kerberos credentials this Knit uses (None on a cluster without Kerberos).
        self.identity: Identity | None = None
        #: Who this client is to the cluster: the proxy user if given; else the Kerberos
        #: user's short name once logged in; without Kerberos, HADOOP_USER_NAME or the OS
        #: user (as Hadoop takes it).
        self.user: str = proxy_user or acting_user()
        self._http_auth = None
        if uses_kerberos(self.config):
            self.identity = Identity.from_arguments(principal, keytab)
            self._login()
        elif principal is not None or keytab is not None:
            raise ConfigurationError(
                "principal and keytab were given, but this cluster does not use Kerberos "
                f"(hadoop.security.authentication is not kerberos in {self.config.conf_dir}).")
        elif proxy_user is not None:
            self._jvm_call("login", f"act as {proxy_user}", "", "")
    def _client(self):
        """The client JVM of this Knit's identity."""
        return get_client(self.identity)

    def _login(self) -> None:
        """Fail now, not at the first call, when there are no Kerberos credentials."""
        who = self.identity
        try:
            self.user = self._jvm_call("login", "log in to the Kerberized cluster",
                                       who.principal or "", who.keytab or "")["user"]
        except PermissionDeniedError:
            raise
        except KnitException as e:
            # Hadoop caches a JVM's login, even a failed one: the next try gets a new JVM.
            close_client(who)
            raise KerberosError(str(e).split(": ", 1)[-1]) from None
        self._http_auth = who.http_auth()
        logger.info("Logged in to a Kerberized cluster as %s", self.user)

    def _rm_get(self, path: str) -> dict:
        return rm_get(self.config, path, auth=self._http_auth)


    def _jvm_call(self, method: str, what: str, *args: Any) -> Any:
        """A client-JVM call about this cluster (its errors are knit's exceptions, saying
        `what` failed)."""
        try:
            return self._client().call(method, self._ref, *args, what=what)
        except KnitException as e:
            every = _every_resourcemanager(e, self.config.resourcemanager_addresses)
            if every is None:
                raise
            raise every from e.__cause__

    # ------------------------------------------------------------------ applications
    def start(self, cmd: str | ApplicationSpec, **options: Any) -> Application:
        """Submit an application and return once its ApplicationMaster has registered; it
        then asks YARN for the containers.

        Parameters
        ----------
        cmd : str or ApplicationSpec
            The shell command run in every container, or a whole :class:`ApplicationSpec`
            (then no `options`).
        **options
            The other fields of :class:`ApplicationSpec`, which documents them:
            ``num_containers``, ``memory``, ``virtual_cores``, ``files``, ``env``,
            ``envvars``, ``gpus``, ``resources``, ``app_name``, ``queue``, ``node_label``,
            ``tags``, ``keep_alive``, ``max_restarts``, ``am_attempts``, ``roles``,
            ``detached``, ``checks``, ``start_timeout``.

        Returns
        -------
        Application
            The running application (its roles defined, their containers asked for).

        Raises
        ------
        KnitException
            For a request that cannot run; nothing is submitted in that case. A start
            that fails after YARN had the application ends it, and the exception carries
            its ``app_id``.
        """
        spec = _spec_of(cmd, options).validate()
        if spec.checks:
            self._preflight(spec)
        # A proxy user's application never gets the service's keytab.
        keytab = self.identity.keytab if self.identity and not self.proxy_user else None
        message = AppSpec(
            name=spec.app_name, queue=spec.queue, node_label=spec.node_label,
            command=spec.command, num_containers=spec.num_containers, memory=spec.memory,
            vcores=spec.virtual_cores, files=spec.files, envvars=spec.envvars, env=spec.env,
            resources=spec.resources, tags=spec.tags, keep_alive=spec.keep_alive,
            max_restarts=spec.max_restarts, am_attempts=spec.am_attempts,
            lease_ms=0 if spec.detached else LEASE_S * 1000,
            am_memory=AM_MEMORY_MB, am_vcores=AM_VCORES, knit_jar=str(java.knit_jar()),
            principal=self.identity.principal if keytab else None, keytab=keytab)
        token = secrets.token_urlsafe(32)
        cert_pem, key_pem = new_certificate()
        submitted = Submitted.from_json(self._jvm_call(
            "submit", "submit the application", to_json(message.to_json()),
            to_json(GatewaySecrets(token, cert_pem, key_pem).to_json()), spec.detached))
        staging = Staging(submitted.staging_dir, with_env=spec.env is not None,
                          renews_tokens=keytab is not None)
        # The secrets are kept to reconnect to a later AM attempt, which has the same ones.
        app = Application(self, submitted.app_id, staging, (token, cert_pem),
                          submitted.uploaded_bytes)
        logger.info("Submitted %s; waiting for its ApplicationMaster", app.app_id)
        try:
            app.attach(renew_lease=not spec.detached, timeout=spec.start_timeout)
            for name, role in spec.roles.items():
                app.add_role(name, role.command, role.memory, role.virtual_cores, role.files,
                             role.envvars, resources=role.resources,
                             max_restarts=role.max_restarts)
                if role.num_containers:
                    app.add_containers(role.num_containers, role=name)
            return app
        except BaseException as e:
            app.kill()
            if isinstance(e, KnitException):
                e.app_id = app.app_id
            raise

    def _preflight(self, spec: ApplicationSpec) -> None:
        """The checks of a validated spec against the cluster, for each role."""
        self.check_fits(spec.memory, spec.virtual_cores, spec.queue, spec.resources)
        for role in spec.roles.values():
            self.check_fits(role.memory, role.virtual_cores, spec.queue, role.resources)

    def check_fits(self, memory: int, virtual_cores: int, queue: str = "default",
                   resources: Mapping[str, int] | None = None) -> None:
        """Check that containers of this size can run on the cluster, in this queue: the
        checks :meth:`start` makes before submitting anything (``checks=True``), for
        containers asked for later (another role's, say). The ResourceManager's REST API
        answers fast, or the error names its address.

        Raises
        ------
        ClusterCapacityError
            No active NodeManager, none big enough, or a resource type it lacks.
        UnknownQueueError
            The cluster has no such queue.
        """
        nodes = (self._rm_get("/ws/v1/cluster/nodes?states=RUNNING").get("nodes")
                 or {}).get("node") or []
        if not nodes:
            raise ClusterCapacityError("The cluster has no active NodeManager: nothing could run. "
                                "Check the NodeManagers (yarn node -list).")
        # The scheduler's maximum may exceed every node: such a container would never start.
        biggest = max((n["usedMemoryMB"] + n["availMemoryMB"],
                       n["usedVirtualCores"] + n["availableVirtualCores"]) for n in nodes)
        self._check_other_resources(resources or {}, nodes)
        if memory > biggest[0] or virtual_cores > biggest[1]:
            raise ClusterCapacityError(
                f"No NodeManager can hold a container of {memory} MB and "
                f"{virtual_cores} vcores: the largest has {biggest[0]} MB and {biggest[1]} "
                "vcores. Ask for smaller containers.")
        scheduler = self._rm_get("/ws/v1/cluster/scheduler")["scheduler"]["schedulerInfo"]
        queues = queue_names(scheduler)
        if queues and queue not in queues:
            raise UnknownQueueError(f"Unknown queue {queue!r}; this cluster's queues: "
                                f"{', '.join(sorted(queues))}.")


    def _check_other_resources(self, wanted: Mapping[str, int], nodes: list | None = None) -> None:
        """Each resource type asked for (GPUs...) exists in this cluster, and some node has
        as many as one container asks."""
        if not wanted:
            return
        if nodes is None:
            nodes = (self._rm_get("/ws/v1/cluster/nodes?states=RUNNING").get("nodes")
                     or {}).get("node") or []
        most: dict[str, int] = {}
        for node in nodes:
            for r in ((node.get("totalResource") or {}).get("resourceInformations") or {}) \
                    .get("resourceInformation") or []:
                most[r["name"]] = max(most.get(r["name"], 0), int(r.get("value", 0)))
        for name, n in wanted.items():
            if name not in most:
                raise ClusterCapacityError(
                    f"This cluster has no resource type {name!r} (its NodeManagers offer "
                    f"{', '.join(sorted(most)) or 'memory and vcores only'}): ask its "
                    "administrator to define it (resource-types.xml), or ask without it.")
            if n > most[name]:
                raise ClusterCapacityError(f"No NodeManager has {n} {name}: the most any has "
                                           f"is {most[name]}. Ask for fewer.")

    def applications(self, include_finished: bool = False) -> list[dict]:
        """This user's knit applications, newest first, as the ResourceManager lists them:
        dicts with ``app_id``, ``name``, ``state``, ``final_status``, ``queue``,
        ``containers`` (running, the ApplicationMaster's not counted), ``elapsed_ms``,
        ``tags`` and ``tracking_url``. Finished ones too with `include_finished`."""
        query = f"/ws/v1/cluster/apps?applicationTypes=KNIT&user={self.user}"
        if not include_finished:
            query += "&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"
        apps = (self._rm_get(query).get("apps") or {}).get("app") or []
        return [{
            "app_id": a["id"], "name": a["name"], "state": a["state"],
            "final_status": a["finalStatus"], "queue": a["queue"],
            "containers": max(a.get("runningContainers", 0) - (a["state"] == "RUNNING"), 0),
            "elapsed_ms": a.get("elapsedTime", 0),
            "tags": sorted(t for t in (a.get("applicationTags") or "").split(",") if t),
            "tracking_url": a.get("trackingUrl", ""),
        } for a in sorted(apps, key=lambda a: a.get("startedTime", 0), reverse=True)]

    def connect(self, app_id: str, renew_lease: bool = False, timeout: float = CONNECT_S) -> Application:
        """A handle on a running knit application of this user, started by another process
        (or this one): the gateway's token and certificate are read from its staging dir,
        which only its user can read.

        Parameters
        ----------
        app_id : str
            The YARN application id.
        renew_lease : bool
            Keep the application's lease while this handle lives (an application started
            without ``detached=True`` ends 30 s after its last client stops renewing).
        timeout : float
            Seconds to wait for its ApplicationMaster to answer.

        Raises
        ------
        ApplicationStateError
            It is not a running knit application of this user (it ended, or is another
            user's; HDFS refuses another user with PermissionDeniedError).
        """
        if not isinstance(app_id, str) or not app_id.startswith("application_"):
            raise InvalidArgumentError(f"app_id must be a YARN application id, got {app_id!r}.")
        found = Attachment.from_json(self._jvm_call("attach", f"attach to {app_id}", app_id))
        staging = Staging(found.staging_dir, found.with_env, found.renews_tokens, set(found.roles))
        app = Application(self, app_id, staging, (found.token, found.tls_cert))
        return app.attach(renew_lease=renew_lease, timeout=timeout)

    # ------------------------------------------------------------------ environments
    def create_env(self, name: str | None = None, packages: Sequence[str] = (),
                   backend: str = "venv", python: str | None = None,
                   channels: Sequence[str] | None = None, force: bool = False,
                   env_name: str | None = None, hdfs: bool = False) -> str:
        """Build and pack an environment for ``start(env=...)``; see :func:`knit.create_env`."""
        return create_env(name=name, packages=packages, backend=backend, python=python,
                          channels=channels, force=force, env_name=env_name, hdfs=hdfs)

    def list_envs(self) -> list[dict]:
        """Environments stored in HDFS: dicts with ``name``, ``sha256``, ``size`` (bytes)
        and ``modified`` (ms since the epoch)."""
        answer = self._jvm_call("listEnvs", "list the environments in HDFS")
        return [StoredEnv.from_json(e).to_json() for e in answer]

    def remove_env(self, name_or_hash: str) -> int:
        """Delete stored environments by name or sha256 (or its first 8+ characters);
        return how many were deleted."""
        if not name_or_hash:
            raise InvalidArgumentError("remove_env needs an environment name or hash.")
        return self._jvm_call("removeEnv", f"remove the environment {name_or_hash!r}", name_or_hash)


    # ------------------------------------------------------------------ clean-up
    def clean(self) -> list[dict]:
        """Remove the staging dirs that ended applications of this user left in HDFS.

        Each application is staged in ``~/.knit/<application id>`` (its command, files and
        the ApplicationMaster gateway's secrets). The application's AM or client removes the
        dir when it ends; one that ended with neither able to (an AM killed by YARN or by
        SIGKILL while no client ran) leaves it, and every :meth:`start` sweeps such dirs in
        the background. This sweeps now. Only dirs of applications YARN reports FINISHED,
        FAILED or KILLED go, and those of applications this ResourceManager no longer knows
        once they are an hour old; a running application's dir, another user's, stored
        environments and anything else under ``~/.knit`` stay.

        Returns
        -------
        list of dict
            What was removed, one dict per application: ``app_id``, ``state`` (``UNKNOWN``
            when the ResourceManager no longer knows it) and ``age_ms`` (how long ago it
            ended).

        Raises
        ------
        KnitException
            The ResourceManager or HDFS cannot be reached.
        """
        # Ids of this ResourceManager carry its start time: only those can be unknown to it
        # and still be ours to remove. Under HA that is the active one's JVM start: the
        # applications submitted before a failover keep the old one's, and the new active
        # knows them from the shared state store (they go when FINISHED, FAILED or KILLED);
        # one it has also forgotten (past yarn.resourcemanager.max-completed-applications)
        # stays, as another cluster's would: a dir kept too long, never a live one removed.
        started_on = int(self._rm_get("/ws/v1/cluster/info")["clusterInfo"]["startedOn"])
        answer = self._jvm_call("clean", "remove the staging dirs of ended applications",
                                started_on)
        return [RemovedStaging.from_json(r).to_json() for r in answer]

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.config.conf_dir}>"


def _every_resourcemanager(error: KnitException, addresses: list[str]) -> KnitException | None:
    """Under HA, YARN's client tries each ResourceManager in turn and reports the last one
    it could not reach: the same error naming them all (None when it is not that)."""
    found = re.search(r"nothing answers at (\S+) \(", str(error))
    if len(addresses) < 2 or not found or \
            not any(found[1].endswith(":" + a.rsplit(":", 1)[-1]) for a in addresses):
        return None
    message = str(error).replace(
        found[0], f"no ResourceManager answers at {', '.join(addresses)} (each tried in turn; "
                  f"the last, {found[1]}, said ", 1)
    return type(error)(message)


def _spec_of(cmd: str | ApplicationSpec, options: Mapping[str, Any]) -> ApplicationSpec:
    """The spec start() was given, or the one its options make."""
    if isinstance(cmd, ApplicationSpec):
        if options:
            raise InvalidArgumentError(f"start() takes an ApplicationSpec alone; got also "
                                       f"{sorted(options)}: set them in the spec.")
        return cmd
    if "command" in options:
        raise InvalidArgumentError("Give the command once: start(cmd, ...).")
    return ApplicationSpec.from_dict({"command": cmd, **options})
