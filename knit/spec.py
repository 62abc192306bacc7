"""What an application is, as one object: :class:`ApplicationSpec` (its own command, its
containers, its YARN settings) and :class:`RoleSpec` (another kind of container of it).

``start(cmd, **options)`` builds an ApplicationSpec from its options, ``start(spec)`` takes
one, and ``knit start --spec app.yaml`` reads one from a file: the defaults are written
here once, and :meth:`ApplicationSpec.validate` is the one place they are checked.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .exceptions import InvalidArgumentError, MissingFileError
from .timeouts import START_S
from .validation import (check_role_name, validated_containers, validated_env, validated_resources,
                         validated_tags)

__all__ = ["ApplicationSpec", "RoleSpec"]

_PRINTABLE_MAX = 256


@dataclass
class RoleSpec:
    """Another kind of container of an application, with a command, size, files and
    variables of its own (the environment is the application's). A Dask cluster in remote
    mode runs its scheduler as the application's own command and its workers as a role.

    Parameters
    ----------
    command : str
        Shell command run in each of the role's containers.
    num_containers : int
        Containers of the role asked for when the application starts (more later with
        ``add_containers(n, role=name)``).
    memory, virtual_cores, files, envvars, gpus, resources
        As for :class:`ApplicationSpec`, for this role's containers.
    max_restarts : int
        As for :class:`ApplicationSpec`: how many of this role's lost containers are
        replaced, from a budget of its own.
    """

    command: str
    num_containers: int = 0
    memory: int | str = 1024
    virtual_cores: int = 1
    files: list[str] = field(default_factory=list)
    envvars: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    resources: dict[str, int] = field(default_factory=dict)
    max_restarts: int = 0

    def validate(self, name: str = "role") -> "RoleSpec":
        """This role, checked and normalized (memory in MB, files absolute).

        Raises
        ------
        InvalidArgumentError, MissingFileError
            What is wrong, naming the field.
        """
        _count(self.num_containers, f"{name}: num_containers")
        _count(self.max_restarts, f"{name}: max_restarts")
        checked = validated_containers(self.command, self.memory, self.virtual_cores,
                                       self.files, self.envvars)
        return dataclasses.replace(
            self, command=checked["command"], memory=checked["memory"],
            virtual_cores=checked["vcores"], files=checked["files"], envvars=checked["envvars"],
            resources=validated_resources(self.gpus, self.resources), gpus=0)


@dataclass
class ApplicationSpec:
    """An application: its own command in `num_containers` containers (the ``"main"``
    role), its other roles, and how YARN runs it.

    Each container runs ``command`` with bash (quotes, ``&&`` and ``$VARS`` work), with
    stdout and stderr in the container's log dir.

    Parameters
    ----------
    command : str
        Shell command run in every container of the application's own role.
    num_containers : int
        Containers to start. 0 needs ``keep_alive=True`` (add containers later with
        ``add_containers``): without it an application ends once its containers have
        finished, and one with none would wait for nothing.
    memory : int or str
        Memory of each container: an int is MB (MiB, YARN's unit), and so is a string of
        digits; a string with a unit is a size as :func:`dask.utils.parse_bytes` reads it:
        ``"2 GiB"``, ``"512MiB"`` (powers of 1024), ``"2GB"``, ``"2g"`` (powers of 1000:
        ``"1GB"`` is 10**9 bytes), turned into MB rounded up (``"1GB"`` is 954).
    virtual_cores : int
        Cores of each container.
    files : list of paths
        Local files to ship. ``.zip``, ``.tar.gz``, ``.tgz`` and ``.tar`` files are unpacked
        into a directory of their own name in the container's working directory; other
        files appear there as they are.
    env : path, optional
        A packed environment (from ``create_env``, or any venv-pack or conda-pack archive,
        ``.tar.gz``/``.tgz``/``.zip``), unpacked in every container and activated before
        `command`: ``$PYTHON_BIN``, ``python`` and the environment's console scripts come
        from it. Uploaded once (see docs/environments.md).
    envvars : dict of str
        Environment variables for every container (``CONTAINER_ID`` and YARN's own
        variables are set too).
    gpus : int
        GPUs (YARN's ``yarn.io/gpu`` resource type) for each container.
    resources : dict of str to int
        Other YARN resource types for each container, e.g. ``{"yarn.io/fpga": 1}``. The
        cluster must define them (``resource-types.xml``): else ClusterCapacityError,
        before anything is submitted.
    app_name, queue, node_label : str
        Name shown by YARN, the queue to submit to, and a node label expression.
    tags : list of str
        YARN application tags, beside knit's own ``knit`` and ``knit-<version>`` (YARN
        lowercases them; ``yarn application -list -appTags`` filters on them).
    keep_alive : bool
        Keep the application running when no container is left (a Dask cluster scaled to
        zero, say), until it is killed. By default it ends once every container it was
        given has finished.
    max_restarts : int
        Re-launch a container of the application's own command that fails (non-zero
        exit, killed, lost node) up to this many times over the application's life (each
        role has a budget of its own, :attr:`RoleSpec.max_restarts`); a node where 3
        containers failed is no longer used. Replaced failures do not fail the
        application. A container YARN preempts is replaced without counting. The
        ApplicationMaster counts them: ``restarts()`` reads its count.
    am_attempts : int
        How many ApplicationMasters YARN may start for the application (at most the
        cluster's ``yarn.resourcemanager.am.max-attempts``). When one dies, the next takes
        over the running containers and asks for what is missing; the client reconnects
        to it. 1: the application ends with its first ApplicationMaster.
    roles : dict of str to RoleSpec
        Other kinds of containers, by name (letters, digits, ``_`` and ``-``, starting with
        a letter; not ``"main"``), defined as the application starts.
    detached : bool
        Let the application outlive the client's process.
    checks : bool
        Check the request against the cluster (nodes, queue, maximum container size)
        before submitting anything.
    start_timeout : float
        Seconds to wait for the ApplicationMaster to start and register. YARN may keep the
        application waiting (a full queue, or its share for ApplicationMasters used up):
        then the error says why, in YARN's words, and the application is killed.

    Examples
    --------
    >>> spec = ApplicationSpec("python -m http.server", num_containers=2, memory="1 GiB")
    >>> spec = ApplicationSpec.from_file("app.yaml")                 # doctest: +SKIP
    >>> Knit().start(spec)                                           # doctest: +SKIP
    """

    command: str
    num_containers: int = 1
    memory: int | str = 1024
    virtual_cores: int = 1
    files: list[str] = field(default_factory=list)
    env: str | None = None
    envvars: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    resources: dict[str, int] = field(default_factory=dict)
    app_name: str = "knit"
    queue: str = "default"
    node_label: str | None = None
    tags: list[str] = field(default_factory=list)
    keep_alive: bool = False
    max_restarts: int = 0
    am_attempts: int = 2
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    detached: bool = False
    checks: bool = True
    start_timeout: float = START_S

    def validate(self) -> "ApplicationSpec":
        """This application, checked and normalized: memory in MB, files and the
        environment absolute paths, tags with knit's own, other resource types merged
        (``gpus`` into ``resources``), roles checked too.

        Raises
        ------
        InvalidArgumentError, MissingFileError
            What is wrong, naming the field; nothing is submitted.
        """
        _count(self.num_containers, "num_containers")
        if self.num_containers == 0 and not self.keep_alive:
            raise InvalidArgumentError(
                "num_containers=0 needs keep_alive=True: an application without keep_alive "
                "ends once its containers have finished, and with none it would wait, doing "
                "nothing, until killed. Start with num_containers >= 1, or pass "
                "keep_alive=True and add containers later (add_containers, scale); kill() "
                "ends it.")
        for what, value in (("app_name", self.app_name), ("queue", self.queue)):
            if not isinstance(value, str) or not value.strip() or not value.isprintable() \
                    or len(value) > _PRINTABLE_MAX:
                raise InvalidArgumentError(f"{what} must be a printable string of 1 to "
                                           f"{_PRINTABLE_MAX} characters, got {value!r}.")
        _count(self.max_restarts, "max_restarts")
        _count(self.am_attempts, "am_attempts", least=1)
        if isinstance(self.start_timeout, bool) or not isinstance(self.start_timeout, (int, float)) \
                or not self.start_timeout > 0:
            raise InvalidArgumentError(f"start_timeout must be a number of seconds > 0, got "
                                       f"{self.start_timeout!r}.")
        if not isinstance(self.roles, Mapping):
            raise InvalidArgumentError(f"roles must map names to RoleSpecs, got {self.roles!r}.")
        roles = {}
        for name, role in self.roles.items():
            check_role_name(name)
            if isinstance(role, Mapping):
                role = _from_mapping(RoleSpec, role, f"roles.{name}")
            if not isinstance(role, RoleSpec):
                raise InvalidArgumentError(f"roles.{name} must be a RoleSpec, got {role!r}.")
            roles[name] = role.validate(f"roles.{name}")
        checked = validated_containers(self.command, self.memory, self.virtual_cores,
                                       self.files, self.envvars)
        return dataclasses.replace(
            self, command=checked["command"], memory=checked["memory"],
            virtual_cores=checked["vcores"], files=checked["files"], envvars=checked["envvars"],
            env=validated_env(self.env), resources=validated_resources(self.gpus, self.resources),
            gpus=0, tags=validated_tags(self.tags), roles=roles,
            keep_alive=bool(self.keep_alive), detached=bool(self.detached),
            checks=bool(self.checks))

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what :meth:`from_dict` reads, and YAML or JSON hold)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ApplicationSpec":
        """A spec from plain data: the fields by name (``roles`` maps names to the fields
        of a RoleSpec). Unknown fields are an error."""
        return _from_mapping(cls, data, "the application spec")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "ApplicationSpec":
        """A spec from a YAML (``.yaml``, ``.yml``) or JSON (``.json``) file. Relative
        paths in it (``files``, ``env``) are relative to the file's directory.

        Raises
        ------
        MissingFileError
            No such file.
        InvalidArgumentError
            Not YAML or JSON, or not a spec.
        """
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise MissingFileError(f"No application spec at {path}.") from None
        except OSError as e:
            raise InvalidArgumentError(f"Cannot read the application spec {path}: {e}") from e
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError as e:
                raise InvalidArgumentError(f"{path} is not valid JSON: {e}") from e
        else:
            import yaml
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise InvalidArgumentError(f"{path} is not valid YAML: {e}") from e
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(f"{path} must hold a mapping of the spec's fields, "
                                       f"got {type(data).__name__}.")
        spec = cls.from_dict(data)
        return spec._relative_to(path.parent)

    def _relative_to(self, base: Path) -> "ApplicationSpec":
        def absolute(p: str) -> str:
            return p if os.path.isabs(p) or "://" in p else str(base / p)
        roles = {n: dataclasses.replace(r, files=[absolute(f) for f in r.files])
                 for n, r in self.roles.items()}
        return dataclasses.replace(
            self, files=[absolute(f) for f in self.files], roles=roles,
            env=absolute(self.env) if isinstance(self.env, str) else self.env)


def _count(value: Any, what: str, least: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgumentError(f"{what} must be an integer >= {least}, got {value!r}.")


def _from_mapping(cls, data: Mapping[str, Any], what: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidArgumentError(f"{what} has unknown fields {unknown}; the fields are "
                                   f"{sorted(known)}.")
    values = dict(data)
    if cls is ApplicationSpec and isinstance(values.get("roles"), Mapping):
        values["roles"] = {n: _from_mapping(RoleSpec, r, f"roles.{n}") if isinstance(r, Mapping)
                           else r for n, r in values["roles"].items()}
    try:
        return cls(**values)
    except TypeError as e:  # a required field missing
        raise InvalidArgumentError(f"{what}: {e}") from e

