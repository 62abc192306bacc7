"""Packed Python environments: build one (venv or conda), keep it in a local cache.

``create_env`` returns the path of an archive that ``Knit.start(env=...)`` ships to every
container (see docs/environments.md).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from .exceptions import EnvironmentBuildError, InvalidArgumentError
from .timeouts import TOOL_S

logger = logging.getLogger(__name__)

BACKENDS = ("venv", "conda")
#: What create_env(hdfs=True) adds: a native HDFS client for fsspec (no JVM, no libhdfs).
HDFS_CLIENT = "hdfs-native>=0.14"
# "python", "python=3", "python=3.11", "python>=3.10": what conda users write for the
# interpreter; the venv backend checks them against its interpreter instead of pip.
_PYTHON_SPEC = re.compile(r"^python\s*(?:(==?|>=|<=|>|<)\s*([0-9][0-9.*]*))?$")
# A conda-style pin "pkg=1.2" is pip's "pkg==1.2" (pip has no single '=').
_CONDA_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)=([^=<>!~].*)$")


def cache_dir() -> Path:
    """Where built archives are kept: ``$KNIT_ENV_CACHE``, else ``~/.cache/knit/envs``."""
    if os.environ.get("KNIT_ENV_CACHE"):
        return Path(os.environ["KNIT_ENV_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "knit" / "envs"


def python_version(python: str) -> tuple[int, ...]:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:3])"],
                         capture_output=True, text=True, timeout=TOOL_S)
    if out.returncode != 0:
        raise EnvironmentBuildError(f"Cannot run the interpreter {python}: {out.stderr.strip()}")
    return tuple(int(x) for x in out.stdout.split())


def _version_matches(version: tuple[int, ...], op: str, wanted: str) -> bool:
    parts = [p for p in wanted.rstrip(".*").split(".") if p]
    want = tuple(int(p) for p in parts)
    have = version[:len(want)]
    return {"=": have == want, "==": have == want, ">=": version >= want,
            "<=": have <= want, ">": version > want and have != want,
            "<": have < want}[op]


def split_specs(packages: Sequence[str], version: tuple[int, ...] | None) -> tuple[list[str], list[str]]:
    """Separate interpreter specs from package specs, for the venv backend.

    Returns (pip requirements, interpreter specs). Interpreter specs are checked
    against `version` (when given): a mismatch is a KnitException.
    """
    pip_specs, python_specs = [], []
    for spec in packages:
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidArgumentError(f"Package specs must be non-empty strings, got {spec!r}.")
        spec = spec.strip()
        m = _PYTHON_SPEC.match(spec)
        if m:
            python_specs.append(spec)
            op, wanted = m.groups()
            if op and version is not None and not _version_matches(version, op, wanted):
                found = ".".join(map(str, version))
                raise InvalidArgumentError(
                    f"{spec!r} asks for another Python than the venv backend's interpreter "
                    f"({found}); pass python=<path of a matching interpreter>.")
            continue
        conda_pin = _CONDA_PIN.match(spec)
        pip_specs.append(f"{conda_pin.group(1)}=={conda_pin.group(2)}" if conda_pin else spec)
    return pip_specs, python_specs


def cache_key(backend: str, packages: Sequence[str], interpreter: str,
              channels: Sequence[str] | None) -> str:
    """Same backend, packages (order and case aside), interpreter and channels: same key."""
    normalized = sorted({re.sub(r"\s+", "", p).lower() for p in packages})
    payload = json.dumps([backend, normalized, interpreter, sorted(channels or [])])
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def create_env(
    name: str | None = None,
    packages: Sequence[str] = (),
    backend: str = "venv",
    python: str | None = None,
    channels: Sequence[str] | None = None,
    force: bool = False,
    env_name: str | None = None,
    hdfs: bool = False,
) -> str:
    """Build a Python environment and pack it into an archive for ``Knit.start(env=...)``.

    Parameters
    ----------
    name : str
        Name of the environment (the archive is ``<name>.tar.gz``).
    packages : list of str
        What to install: pip requirements (``"pandas>=2"``, a local path) for the venv
        backend, conda specs for the conda one. Conda-style interpreter specs such as
        ``"python=3.11"`` are understood by both; the venv backend checks them against its
        interpreter.
    backend : {"venv", "conda"}
        ``venv``: virtualenv + pip + venv-pack. The interpreter is *not* packed: every node
        must have the same Python at the same path. ``conda``: conda create + conda-pack,
        interpreter included (needs ``conda`` on PATH).
    python : str, optional
        Interpreter for the venv backend (default: this one).
    channels : list of str, optional
        Conda channels (conda backend only).
    force : bool
        Rebuild even if the cache holds this environment.
    env_name : str, optional
        Alias of `name` (the 2016 knit spelling).
    hdfs : bool
        Also install hdfs-native, the HDFS client that makes ``hdfs://`` paths work in
        the containers (see docs/data.md).

    Returns
    -------
    str
        Path of the archive in the local cache (see :func:`cache_dir`).

    Raises
    ------
    KnitException
        Unknown backend, conda missing, an interpreter spec the venv backend cannot meet,
        or a failed build (with pip's or conda's own message). Nothing half-built is left
        in the cache.
    """
    name = name if name is not None else env_name
    if not name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise InvalidArgumentError(f"The environment needs a name of letters, digits, '_', '.' or "
                            f"'-', got {name!r}.")
    if isinstance(packages, str):
        packages = [packages]
    packages = list(packages or [])
    if hdfs:
        packages.append(HDFS_CLIENT)
    for spec in packages:
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidArgumentError(f"Package specs must be non-empty strings, got {spec!r}.")
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"Unknown backend {backend!r}; use one of {BACKENDS}.")
    if backend == "conda":
        conda = shutil.which("conda")
        if conda is None:
            raise EnvironmentBuildError("The conda backend needs `conda`, which is not on PATH. "
                                "Install Miniforge/Miniconda, or use backend='venv'.")
        interpreter = conda
    else:
        if channels:
            raise InvalidArgumentError("channels= only applies to the conda backend.")
        interpreter = os.path.realpath(python or sys.executable)
    key = cache_key(backend, packages, interpreter, channels)
    target = cache_dir() / key / f"{name}.tar.gz"
    if target.exists() and not force:
        logger.info("Environment %s found in the cache: %s", name, target)
        return str(target)

    target.parent.mkdir(parents=True, exist_ok=True)
    # Built next to the cache, so the finished archive is renamed in, never half-copied.
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
        prefix = os.path.join(tmp, name)
        partial = os.path.join(tmp, f"{name}.tar.gz")
        if backend == "venv":
            _build_venv(interpreter, prefix, packages)
            import venv_pack
            venv_pack.pack(prefix=prefix, output=partial, compress_level=1)
        else:
            _build_conda(interpreter, prefix, packages, channels)
            try:
                import conda_pack
            except ImportError as e:
                raise EnvironmentBuildError("The conda backend needs the conda-pack package: "
                                    "pip install conda-pack.") from e
            conda_pack.pack(prefix=prefix, output=partial, compress_level=1)
        os.replace(partial, target)
    logger.info("Built environment %s: %s (%.1f MB)", name, target, target.stat().st_size / 1e6)
    return str(target)


def _run(cmd: list[str], what: str) -> None:
    logger.info("%s: %s", what, " ".join(cmd))
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        message = (run.stderr.strip() or run.stdout.strip())[-3000:]
        raise EnvironmentBuildError(f"{what} failed (exit {run.returncode}):\n{message}")


def _build_venv(python: str, prefix: str, packages: Sequence[str]) -> None:
    pip_specs, _ = split_specs(packages, python_version(python))
    _run([python, "-m", "venv", prefix], "Creating the virtualenv")
    if pip_specs:
        _run([os.path.join(prefix, "bin", "python"), "-m", "pip", "install",
              "--disable-pip-version-check", "--no-input", *pip_specs], "pip install")


def _build_conda(conda: str, prefix: str, packages: Sequence[str],
                 channels: Sequence[str] | None) -> None:
    args = [conda, "create", "--yes", "--quiet", "--prefix", prefix]
    for channel in channels or []:
        args += ["--channel", channel]
    _run(args + list(packages), "conda create")
