"""Where knit's JVM half lives and how to start a JVM with it.

Maven (run by ``setup.py``) writes ``knit/java_libs/``: ``knit.jar`` and two classpath files,
one with the Hadoop client jars and one with everything the embedded cluster needs.
"""
from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from .exceptions import JavaNotFoundError

JAVA_LIBS = Path(__file__).resolve().parent / "java_libs"

# Hadoop's servers reflect into JDK internals; Java 17 forbids that unless opened
# (HADOOP-19310). Unknown to older JVMs, hence IgnoreUnrecognizedVMOptions.
_OPENED_PACKAGES = (
    "java.io", "java.lang", "java.lang.reflect", "java.math", "java.net", "java.text",
    "java.util", "java.util.concurrent", "java.util.zip", "sun.security.util",
    "sun.security.x509",
)
JVM_COMPAT_OPTIONS = ["-XX:+IgnoreUnrecognizedVMOptions"] + [
    f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in _OPENED_PACKAGES
]

_INSTALL_JAVA = (
    "Install a Java 17 JDK (e.g. `apt-get install openjdk-17-jdk`) or set JAVA_HOME "
    "to one."
)


@functools.lru_cache(maxsize=None)
def find_java() -> tuple[str, str]:
    """Return ``(java executable, JAVA_HOME)``: ``$JAVA_HOME/bin/java``, else ``java`` on PATH.

    Raises
    ------
    JavaNotFoundError
        If neither exists.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate), java_home
    on_path = shutil.which("java")
    if on_path is None:
        where = f"JAVA_HOME={java_home} has no bin/java and " if java_home else ""
        raise JavaNotFoundError(f"Java not found: {where}no `java` on PATH. {_INSTALL_JAVA}")
    real = Path(on_path).resolve()
    return str(real), str(real.parent.parent)


def knit_jar() -> Path:
    """Path of the built knit jar (scala-library and py4j inside)."""
    jar = JAVA_LIBS / "knit.jar"
    if not jar.is_file():
        raise JavaNotFoundError(
            f"knit's JVM half is not built ({jar} is missing). Build it with "
            "`pip install -e .` or `mvn -q package -DskipTests` in the source tree.")
    return jar


@functools.lru_cache(maxsize=None)
def classpath(kind: str) -> list[str]:
    """Jars resolved by Maven at build time; ``kind`` is ``"client"`` or ``"cluster"``.

    Read once per process.
    """
    if kind not in ("client", "cluster"):
        raise ValueError(f"kind must be 'client' or 'cluster', not {kind!r}")
    listing = JAVA_LIBS / f"{kind}-classpath.txt"
    if not listing.is_file():
        raise JavaNotFoundError(
            f"{listing} is missing: rebuild knit's JVM half with `pip install -e .`.")
    entries = [e for e in listing.read_text().strip().split(os.pathsep) if e]
    missing = [e for e in entries if not os.path.exists(e)]
    if missing:
        raise JavaNotFoundError(
            f"{len(missing)} jars listed in {listing} are gone (first: {missing[0]}); "
            "the Maven cache was cleaned. Rebuild with `pip install -e .`.")
    return entries
