"""Checks of what users ask for, before anything reaches a cluster."""
from __future__ import annotations

import os
import re
from typing import Mapping

from .exceptions import InvalidArgumentError, MissingFileError
from .names import CONTAINER_RESERVED_NAMES, MAIN_ROLE, ROLE_NAME_PATTERN

_SAFE_FILE_PUNCTUATION = "._+-=@%,"
_SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-=@%,]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ROLE_NAME = re.compile(ROLE_NAME_PATTERN)

MIB = 2**20
# Byte units, as dask.utils.parse_bytes reads them (case does not matter): k, M, G, T, P
# with or without a trailing B are powers of 1000, Ki, Mi, ... (with or without B) powers of
# 1024. tests/test_vocabulary_unit.py checks that both read every form alike.
_UNITS = {"b": 1}
for _i, _p in enumerate("kmgtp", start=1):
    _UNITS.update({_p: 1000**_i, f"{_p}b": 1000**_i, f"{_p}i": 1024**_i, f"{_p}ib": 1024**_i})
del _i, _p
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*")
MEMORY_FORMS = "an integer number of MB (MiB), such as 2048, or a size such as '2 GiB', '512MiB' or '2GB'"


def memory_mb(value, what: str = "memory") -> int:
    """A container's memory in MB (MiB, YARN's unit) from the forms knit takes everywhere.

    - an ``int``, or a string of digits alone (``"2048"``, as on the command line): MB;
    - a string with a unit, as :func:`dask.utils.parse_bytes` reads it: ``"2 GiB"``,
      ``"512MiB"``, ``"2Gi"`` (powers of 1024), ``"2 GB"``, ``"2g"``, ``"1.5 G"`` (powers
      of 1000: ``"1GB"`` is 10**9 bytes, 953.7 MiB), ``"2e9 B"``.

    Bytes become MB rounded up, so a container holds at least what was asked for
    (``"1GB"`` -> 954); less than 1 MiB is refused.

    Raises
    ------
    InvalidArgumentError
        Another type (bool, float, None...), an unknown unit, or a size under 1 MiB.
    """
    bad = InvalidArgumentError(f"{what} must be {MEMORY_FORMS}; got {value!r}.")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise bad
    if isinstance(value, int):
        mb = value
    else:
        match = _SIZE.fullmatch(value)
        if not match:
            raise bad
        number, unit = match.groups()
        if not unit:
            if not number.isdigit():
                raise InvalidArgumentError(f"{what}: a number without a unit is MB and must be "
                                           f"a whole number; got {value!r} (or give a unit: "
                                           "'1.5 GiB').")
            mb = int(number)
        elif unit.lower() not in _UNITS:
            raise InvalidArgumentError(f"{what}: unknown unit {unit!r} in {value!r}; use B, kB, "
                                       "MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB "
                                       "(powers of 1024), or a number of MB.")
        else:
            try:
                nbytes = int(float(number) * _UNITS[unit.lower()])
            except OverflowError:
                raise bad from None
            mb = -(-nbytes // MIB)  # rounded up
            if nbytes < MIB:
                mb = 0
    if mb < 1:
        raise InvalidArgumentError(f"{what} must be at least 1 MB (1 MiB); got {value!r}.")
    return mb


def validated_containers(cmd, memory, virtual_cores, files, envvars) -> dict:
    """What a kind of container runs (the application's, or a role's), checked:
    {"command", "memory" (MB, see :func:`memory_mb`), "vcores", "files" (absolute paths),
    "envvars"}."""
    if not isinstance(cmd, str) or not cmd.strip():
        raise InvalidArgumentError("cmd must be a non-empty shell command string.")
    memory = memory_mb(memory)
    if not isinstance(virtual_cores, int) or isinstance(virtual_cores, bool) or virtual_cores < 1:
        raise InvalidArgumentError(f"virtual_cores must be an integer >= 1, got {virtual_cores!r}.")
    paths = []
    for f in files or []:
        path = os.path.abspath(os.fspath(f))
        if not os.path.isfile(path):
            raise MissingFileError(f"File to ship does not exist (or is not a file): {path}")
        paths.append(path)
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"Files to ship must have distinct names: {names}")
    for name in names:
        # The NodeManager links localized files by name inside a generated shell
        # script, in double quotes: `$`, backquotes and the like would run there.
        if not _SAFE_FILE_NAME.fullmatch(name) or name in CONTAINER_RESERVED_NAMES:
            raise InvalidArgumentError(
                f"Cannot ship a file named {name!r}: names may hold letters, digits and "
                f"{_SAFE_FILE_PUNCTUATION!r}, and not be one of {sorted(CONTAINER_RESERVED_NAMES)}. "
                "Copy or link it under another name.")
    return {"command": cmd, "memory": memory, "vcores": virtual_cores, "files": paths,
            "envvars": validated_envvars(envvars)}


def validated_envvars(envvars, what: str = "envvars") -> dict[str, str]:
    """Environment variables for containers, checked: a mapping of variable names to
    strings (None: none), as a dict."""
    if not isinstance(envvars or {}, Mapping):
        raise InvalidArgumentError(f"{what} must be a mapping, got {envvars!r}.")
    envvars = dict(envvars or {})
    for k, v in envvars.items():
        if not isinstance(k, str) or not isinstance(v, str) or not _ENV_NAME.fullmatch(k):
            raise InvalidArgumentError(f"{what} must map variable names to strings; bad entry {k!r}.")
    return envvars


def check_role_name(name) -> None:
    """Refuse a name that cannot be another role's: plain (it becomes a directory name),
    and not the application's own role."""
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name) or name == MAIN_ROLE:
        raise InvalidArgumentError(f"A role name is a letter, then letters, digits, '_' or "
                                   f"'-' (at most 64), and not {MAIN_ROLE!r}; got {name!r}.")


_TAG = re.compile(r"[\x21-\x7e]{1,100}")


def validated_tags(tags) -> list[str]:
    """knit's own tags and the user's: printable ASCII, at most 100 characters each."""
    if isinstance(tags, str) or not all(isinstance(t, str) and _TAG.fullmatch(t) for t in tags):
        raise InvalidArgumentError(f"tags must be a list of printable ASCII words of at most "
                                   f"100 characters (no spaces), got {tags!r}.")
    from ._version import __version__
    return sorted({"knit", f"knit-{__version__}", *(t.lower() for t in tags)})


GPU = "yarn.io/gpu"
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")


def validated_resources(gpus, resources) -> dict[str, int]:
    """Resource types beyond memory and vcores per container: `resources` ({"yarn.io/gpu":
    1, ...}) with `gpus` as a shorthand for ``yarn.io/gpu``."""
    if not isinstance(resources or {}, Mapping):
        raise InvalidArgumentError(f"resources must map YARN resource types to counts, got {resources!r}.")
    wanted = dict(resources or {})
    if gpus not in (None, 0):
        if GPU in wanted and wanted[GPU] != gpus:
            raise InvalidArgumentError(f"gpus={gpus!r} and resources[{GPU!r}]={wanted[GPU]!r} disagree.")
        wanted[GPU] = gpus
    for name, n in wanted.items():
        if not isinstance(name, str) or not _RESOURCE_NAME.fullmatch(name) \
                or name in ("memory-mb", "vcores", "memory"):
            raise InvalidArgumentError(f"Not a YARN resource type other than memory and vcores: "
                                       f"{name!r} (memory and vcores have arguments of their own).")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidArgumentError(f"The count of {name} must be an integer >= 0, got {n!r}.")
    return {name: n for name, n in wanted.items() if n > 0}


def validated_env(env: str | os.PathLike | None) -> str | None:
    if env is None:
        return None
    path = os.path.abspath(os.fspath(env))
    if not os.path.isfile(path):
        raise MissingFileError(f"Environment archive not found: {path}. Build one with "
                            "create_env(), or pass a venv-pack or conda-pack archive.")
    if not path.endswith((".tar.gz", ".tgz", ".zip", ".tar")):
        raise InvalidArgumentError(f"Environment archive must be .tar.gz, .tgz, .tar or .zip: {path}")
    return path


def queue_names(scheduler_info: dict) -> set[str]:
    """Leaf queue names from the RM's scheduler REST answer (capacity or fair scheduler)."""
    names: set[str] = set()

    def walk(queue: dict) -> None:
        children = (queue.get("queues") or {}).get("queue") or []
        if not children and queue.get("queueName"):
            names.add(queue["queueName"])
        for child in children:
            walk(child)

    if scheduler_info.get("type") == "capacityScheduler":
        walk(scheduler_info)
    elif "rootQueue" in scheduler_info:  # fair scheduler: full names, "root." optional
        def walk_fair(queue: dict) -> None:
            children = (queue.get("childQueues") or {}).get("queue") or []
            if not children:
                names.add(queue["queueName"])
                names.add(queue["queueName"].removeprefix("root."))
            for child in children:
                walk_fair(child)
        walk_fair(scheduler_info["rootQueue"])
    return names


# A Hadoop user name as knit passes it on: no spaces or shell characters (it reaches the
# NodeManager's launch script as HADOOP_USER_NAME).
_USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]*")


def check_user_name(value: str | None, what: str) -> str | None:
    """`value` if it is None or a plain user name such as ``alice`` or ``svc.dask``.

    Raises
    ------
    InvalidArgumentError
        Anything else (empty, spaces, slashes, shell characters).
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _USER_NAME.fullmatch(value) or len(value) > 255:
        raise InvalidArgumentError(
            f"{what} must be a user name (letters, digits and ._@-, not starting with . @ "
            f"or -), got {value!r}")
    return value
