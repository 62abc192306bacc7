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
from .application import Application
from .names import MAIN_ROLE
from .timeouts import CONNECT_S, LEASE_S, START_S
from .client_jvm import close_client, get_client
from .config import HadoopConfig, acting_user, rm_get
from .env import create_env
from .exceptions import (ClusterCapacityError, ConfigurationError, InvalidArgumentError,
                         KerberosError, KnitException, UnknownQueueError)
from .kerberos import Identity, uses_kerberos
from .messages import (AppSpec, Attachment, GatewaySecrets, RemovedStaging, StoredEnv,
                       Submitted)
from .validation import (queue_names, validated_containers, validated_env, validated_resources,
                         validated_tags)

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
    **overrides
        Hadoop configuration keys that win over the files, e.g.
        ``ClusterClient(**{"yarn.resourcemanager.address": "rm:8032"})``.

    Raises
    ------
    KerberosError
        The cluster uses Kerberos and there is no ticket (nor a keytab that works).
    """

    def __init__(self, hadoop_conf_dir: str | os.PathLike | None = None, *,
                 principal: str | None = None, keytab: str | os.PathLike | None = None,
                 **overrides: Any) -> None:
        self.config = HadoopConfig.load(hadoop_conf_dir, **overrides)
        self._overrides = to_json(self.config.overrides)
        #: Whose Kerberos credentials this Knit uses (None on a cluster without Kerberos).
        self.identity: Identity | None = None
        #: Who this client is to the cluster: the Kerberos user's short name once logged
        #: in; without Kerberos, HADOOP_USER_NAME or the OS user (as Hadoop takes it).
        self.user: str = acting_user()
        self._http_auth = None
        if uses_kerberos(self.config):
            self.identity = Identity.from_arguments(principal, keytab)
            self._login()
        elif principal is not None or keytab is not None:
            raise ConfigurationError(
                "principal and keytab were given, but this cluster does not use Kerberos "
                f"(hadoop.security.authentication is not kerberos in {self.config.conf_dir}).")
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


    def _jvm_call(self, method: str, what: str, *args: Any) -> Any:
        """A client-JVM call about this cluster (its errors are knit's exceptions, saying
        `what` failed)."""
        try:
            return self._client().call(method, self.config.conf_dir, self._overrides, *args,
                                       what=what)
        except KnitException as e:
            every = _every_resourcemanager(e, self.config.resourcemanager_addresses)
            if every is None:
                raise
            raise every from e.__cause__

    # ------------------------------------------------------------------ applications
    def start(
        self,
        cmd: str,
        num_containers: int = 1,
        memory: int | str = 1024,
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
        start_timeout: float = START_S,
        gpus: int = 0,
        resources: Mapping[str, int] | None = None,
        tags: Sequence[str] = (),
    ) -> Application:
        """Submit an application that runs `cmd` in `num_containers` containers.

        Returns once the ApplicationMaster has registered; it then asks YARN for the
        containers. Each runs ``cmd`` with bash (quotes, ``&&`` and ``$VARS`` work), with
        stdout and stderr in the container's log dir.

        Parameters
        ----------
        cmd : str
            Shell command run in every container.
        num_containers : int
            Containers to start. 0 needs ``keep_alive=True`` (add containers later with
            :meth:`Application.add_containers`): without it an application ends once its
            containers have finished, and one with none would wait for nothing.
        memory : int or str
            Memory of each container: an int is MB (MiB, YARN's unit), and so is a string
            of digits; a string with a unit is a size as :func:`dask.utils.parse_bytes`
            reads it: ``"2 GiB"``, ``"512MiB"`` (powers of 1024), ``"2GB"``, ``"2g"``
            (powers of 1000: ``"1GB"`` is 10**9 bytes), turned into MB rounded up
            (``"1GB"`` is 954). The same forms as ``add_role``, ``add_containers``,
            ``YarnCluster(worker_memory=...)`` and the command line's ``--memory``.
        virtual_cores : int
            Cores of each container.
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

        gpus : int
            GPUs (YARN's ``yarn.io/gpu`` resource type) for each container.
        resources : dict of str to int, optional
            Other YARN resource types for each container, e.g. ``{"yarn.io/gpu": 2,
            "yarn.io/fpga": 1}``. The cluster must define them (``resource-types.xml``):
            else ClusterCapacityError, before anything is submitted.
        tags : list of str
            YARN application tags, beside knit's own ``knit`` and ``knit-<version>``
            (YARN lowercases them; ``yarn application -list -appTags`` filters on them).

        Returns
        -------
        Application
            The running application.

        Raises
        ------
        KnitException
            For a request that cannot run; nothing is submitted in that case.
        """
        spec = self._validated_spec(cmd, num_containers, memory, virtual_cores, files,
                                    envvars, app_name, queue, node_label)
        if num_containers == 0 and not keep_alive:
            raise InvalidArgumentError(
                "num_containers=0 needs keep_alive=True: an application without keep_alive "
                "ends once its containers have finished, and with none it would wait, doing "
                "nothing, until killed. Start with num_containers >= 1, or pass "
                "keep_alive=True and add containers later (add_containers, scale); kill() "
                "ends it.")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise InvalidArgumentError(f"max_restarts must be an integer >= 0, got {max_restarts!r}.")
        if isinstance(am_attempts, bool) or not isinstance(am_attempts, int) or am_attempts < 1:
            raise InvalidArgumentError(f"am_attempts must be an integer >= 1, got {am_attempts!r}.")
        if isinstance(start_timeout, bool) or not isinstance(start_timeout, (int, float)) \
                or not start_timeout > 0:
            raise InvalidArgumentError(f"start_timeout must be a number of seconds > 0, got "
                                       f"{start_timeout!r}.")
        keytab = self.identity.keytab if self.identity is not None else None
        spec = AppSpec(**spec, env=validated_env(env), keep_alive=bool(keep_alive),
                       resources=validated_resources(gpus, resources),
                       tags=validated_tags(tags),
                       lease_ms=0 if detached else LEASE_S * 1000,
                       max_restarts=max_restarts, am_attempts=am_attempts,
                       principal=self.identity.principal if keytab else None, keytab=keytab)
        if checks:
            self._preflight(spec)
        token = secrets.token_urlsafe(32)
        cert_pem, key_pem = new_certificate()
        submitted = Submitted.from_json(self._jvm_call(
            "submit", "submit the application", to_json(spec.to_json()),
            to_json(GatewaySecrets(token, cert_pem, key_pem).to_json()), detached))
        staging = {"dir": submitted.staging_dir, "with_env": spec.env is not None,
                   "renews_tokens": keytab is not None, "roles": {MAIN_ROLE}}
        # The secrets are kept to reconnect to a later AM attempt, which has the same ones.
        app = Application(self, submitted.app_id, staging, (token, cert_pem),
                          submitted.uploaded_bytes)
        logger.info("Submitted %s; waiting for its ApplicationMaster", app.app_id)
        try:
            return app.attach(renew_lease=not detached, timeout=start_timeout)
        except BaseException as e:
            app.kill()
            if isinstance(e, KnitException):
                e.app_id = app.app_id
            raise

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
            **validated_containers(cmd, memory, virtual_cores, files, envvars),
        }  # the fields of an AppSpec that start() does not add

    def _preflight(self, spec: AppSpec) -> None:
        self.check_fits(spec.memory, spec.vcores, spec.queue, spec.resources)

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
        staging = {"dir": found.staging_dir, "with_env": found.with_env,
                   "renews_tokens": found.renews_tokens, "roles": set(found.roles)}
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
