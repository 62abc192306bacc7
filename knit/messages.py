"""The messages between Python and knit's JVMs, defined once on this side.

Each is a dataclass whose fields (names, types, defaults) are the message: Python writes
and reads them as JSON, and the JVM binds the same JSON to a Scala case class of the same
fields (``knit.common.Messages``). ``tests/test_contract.py`` fails when a field is on one
side only or their types differ.

Records that knit returns (``Container`` from ``get_containers()``, ``ApplicationReport``
from ``status()``) are frozen dataclasses: read their fields as attributes (``c.state``),
and turn them into plain JSON-serialisable dicts with ``to_dict()``. They also answer
``r["field"]`` and ``r.get("field")``, as the dicts they replaced did, for older code.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Optional


class _Record:
    """Attribute records that also read like the dicts of earlier knit versions."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __contains__(self, key: str) -> bool:
        return hasattr(self, key)

    @classmethod
    def from_json(cls, data: dict) -> "_Record":
        """From the JVM's JSON: every field must be there; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - names
        if extra:
            raise ValueError(f"{cls.__name__}: fields the JVM sent that Python lacks: {sorted(extra)}")
        return cls(**{k: data[k] for k in names if k in data})

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict of its fields (str, int, bool, None, lists and dicts
        of those): ``json.dumps(r.to_dict())`` works."""
        return dataclasses.asdict(self)

    def to_json(self) -> dict:
        """The message as it crosses to the JVM (JSON-ready)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ClusterRef(_Record):
    """Which cluster a client-JVM call is about, and as whom: the Hadoop conf dir, the
    configuration keys that win over its files, and the user the call acts as through
    Hadoop's proxy users ("" for the logged-in user)."""

    conf_dir: str
    overrides: dict[str, str]
    proxy_user: str


@dataclass(frozen=True)
class AppSpec(_Record):
    """What ``Knit.start`` asks the client JVM to stage and submit (secrets travel apart):
    a validated :class:`knit.ApplicationSpec`, whose defaults are the only ones, and what
    the client adds (the AM's size, knit's jar, the lease, the login)."""

    name: str
    queue: str
    command: str
    num_containers: int
    memory: int
    vcores: int
    am_memory: int
    am_vcores: int
    knit_jar: str
    files: list[str]
    envvars: dict[str, str]
    node_label: Optional[str]
    env: Optional[str]
    keep_alive: bool
    #: 0 for detached applications (no lease).
    lease_ms: int
    max_restarts: int
    am_attempts: int
    principal: Optional[str]
    keytab: Optional[str]
    #: YARN application tags, beside knit's own (``knit``, ``knit-<version>``).
    tags: list[str]
    #: Resource types beyond memory and vcores for each container, e.g. {"yarn.io/gpu": 1}.
    resources: dict[str, int]


@dataclass(frozen=True)
class RoleSpec(_Record):
    """Another kind of container of a running application (``Knit.add_role``)."""

    name: str
    command: str
    memory: int
    vcores: int
    files: list[str] = field(default_factory=list)
    envvars: dict[str, str] = field(default_factory=dict)
    with_env: bool = False
    renews_tokens: bool = False
    resources: dict[str, int] = field(default_factory=dict)
    #: How many of the role's lost containers the ApplicationMaster replaces.
    max_restarts: int = 0


@dataclass(frozen=True)
class Container(_Record):
    """One of an application's containers, as its ApplicationMaster knows it (what
    ``get_containers()`` lists). Timestamps are ms since the epoch; ``memory_mb`` and
    ``vcores`` are the size YARN gave; ``node_http`` is its NodeManager's web address."""

    id: str
    role: str
    node: str
    node_http: str
    #: ALLOCATED, RUNNING or COMPLETED.
    state: str
    memory_mb: int
    vcores: int
    allocated_at: int
    exit_status: Optional[int] = None
    #: SUCCEEDED, FAILED, PREEMPTED or RELEASED, once completed.
    outcome: Optional[str] = None
    diagnostics: str = ""
    launched_at: Optional[int] = None
    finished_at: Optional[int] = None
    #: The variables this container got on top of its role's (``add_containers(envvars=)``).
    envvars: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleRestarts(_Record):
    """A role's replacements of lost containers, as its ApplicationMaster counts them (the
    one place they are counted): its budget (``max_restarts``), the replacements made
    (``used``), and losses left unreplaced (the budget was spent, or a replacement would
    have failed). Preempted containers are replaced without counting."""

    max_restarts: int
    used: int
    unreplaced: int

    @property
    def left(self) -> int:
        """Replacements still allowed."""
        return self.max_restarts - self.used


@dataclass(frozen=True)
class ContainerList(_Record):
    """The AM's answer about its containers and each role's restarts; `finished` is final
    only while `attempt` is YARN's current attempt. `am_container` and `am_node_http` say
    where the AM itself runs ("" outside YARN)."""

    finished: bool
    attempt: int
    containers: list[Container]
    am_container: str
    am_node_http: str
    restarts: dict[str, RoleRestarts]

    @classmethod
    def from_json(cls, data: dict) -> "ContainerList":
        return cls(finished=data["finished"], attempt=data["attempt"],
                   containers=[Container.from_json(c) for c in data["containers"]],
                   am_container=data["am_container"], am_node_http=data["am_node_http"],
                   restarts={r: RoleRestarts.from_json(v) for r, v in data["restarts"].items()})


@dataclass(frozen=True)
class ApplicationReport(_Record):
    """The ResourceManager's report of an application (what ``status()`` returns).
    Times are ms since the epoch (``finish_time`` 0 while it runs); ``log_aggregation_status``
    is YARN's (DISABLED, NOT_START, RUNNING, SUCCEEDED, FAILED, TIME_OUT...)."""

    app_id: str
    name: str
    user: str
    queue: str
    #: YARN's state: NEW ... RUNNING, FINISHED, FAILED, KILLED.
    state: str
    final_status: str
    diagnostics: str
    am_host: str
    am_port: int
    tracking_url: str
    start_time: int
    finish_time: int
    log_aggregation_status: str
    #: The ApplicationMaster attempt YARN runs now (0: none yet).
    attempt: int = 0
    #: Why the application waits, in YARN's terms (knit.waiting), or None. Set by Python.
    waiting: Optional[str] = field(default=None, metadata={"python_only": True})


@dataclass(frozen=True)
class GatewaySecrets(_Record):
    """The ApplicationMaster gateway's token, TLS certificate and key (PEM), made per
    application; they travel in the AM's YARN credentials only."""

    token: str
    tls_cert: str
    tls_key: str


@dataclass(frozen=True)
class Submitted(_Record):
    """What the client JVM answers once an application is submitted."""

    app_id: str
    staging_dir: str
    #: Bytes sent to HDFS for knit's jar and the environment (0 when both were there).
    uploaded_bytes: int


@dataclass(frozen=True)
class Attachment(_Record):
    """What attaching to a running application needs (``knit.connect``), read from its
    private staging dir."""

    app_id: str
    staging_dir: str
    token: str
    tls_cert: str
    with_env: bool
    renews_tokens: bool
    roles: list[str]


@dataclass(frozen=True)
class StoredEnv(_Record):
    """A packed environment stored in HDFS: sha256, file name, size in bytes, and
    modification time in ms since the epoch."""

    sha256: str
    name: str
    size: int
    modified: int


@dataclass(frozen=True)
class LiveLogsRead(_Record):
    """Running containers' logs from their NodeManagers: ``{container id: {file:
    contents}}``, and why the others could not be read ``{container id: reason}``."""

    logs: dict[str, dict[str, str]]
    unreadable: dict[str, str]


#: Every message, by the name its Scala case class has.
@dataclass(frozen=True)
class RemovedStaging(_Record):
    """A staging dir :meth:`knit.ClusterClient.clean` removed: its application's id, its
    state (``UNKNOWN`` when the ResourceManager no longer knows it), and how long ago it
    ended in ms (for an unknown one, since its dir last changed)."""

    app_id: str
    state: str
    age_ms: int


MESSAGES = {cls.__name__: cls for cls in (ClusterRef, AppSpec, RoleSpec, Container, ContainerList,
                                          ApplicationReport, GatewaySecrets, Submitted,
                                          Attachment, StoredEnv, LiveLogsRead, RemovedStaging,
                                          RoleRestarts)}


def field_types(cls: type) -> dict[str, str]:
    """{field: coarse type} of a message, as the contract test compares them with Scala's:
    str, int, bool, list, dict, or optional[<one of those>]."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("python_only"):
            continue
        out[f.name] = _coarse(hints[f.name])
    return out


def _coarse(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return f"optional[{_coarse(inner)}]"
    if origin in (list, dict):
        return origin.__name__
    return {str: "str", int: "int", bool: "bool"}.get(hint, getattr(hint, "__name__", str(hint)))
