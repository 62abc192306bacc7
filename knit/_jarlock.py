"""The jars knit's JVMs run on, pinned by lock files and fetched on first use.

The build (setup.py, after Maven) writes ``knit/java_libs/<name>.lock.json`` for knit's
own Hadoop client (``client``) and for each embedded cluster line (``cluster-3.5.0``...):
every jar's path in a Maven repository, its sha256 and its size. So a wheel carries no
jars but knit.jar, and no path of the machine that built it.

At run time each jar is taken from knit's jar cache (``$KNIT_JAR_CACHE``, else
``~/.cache/knit/jars``); else from the local Maven repository (``~/.m2/repository``), once
its checksum matches; else it is downloaded from Maven Central (or
``$KNIT_MAVEN_REPOSITORY``, a mirror), checked, and kept in the cache. What is in the
cache was checked when it arrived.

This module imports nothing outside the standard library at import time: setup.py loads
it by path to write the locks, before knit's dependencies exist.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

logger = logging.getLogger("knit.jars")

LOCK_SUFFIX = ".lock.json"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
#: What Maven writes in place of its local repository's path (pom.xml: localRepoProperty).
REPO_TOKEN = "M2REPO"
_PARALLEL_DOWNLOADS = 8


class FetchError(Exception):
    """Jars could not be had; the message says which and what to do. (knit.java turns
    it into a JavaNotFoundError: this module cannot import knit's exceptions.)"""


# ---------------------------------------------------------------------- writing (build time)
def write_lock(path: Path, absolute: list[str], relative: list[str]) -> dict:
    """Write the lock of one classpath, given as Maven wrote it twice: with absolute paths,
    and with the local repository replaced by REPO_TOKEN. Returns the lock."""
    if len(absolute) != len(relative):
        raise ValueError(f"{path}: the two classpaths differ in length")
    jars = []
    for abs_entry, rel_entry in zip(absolute, relative):
        if not rel_entry.startswith(REPO_TOKEN + "/"):
            raise ValueError(f"{rel_entry} is not in the local Maven repository")
        jars.append({"path": rel_entry[len(REPO_TOKEN) + 1:], "sha256": _sha256(Path(abs_entry)),
                     "size": os.path.getsize(abs_entry)})
    lock = {"jars": jars}
    path.write_text(json.dumps(lock, indent=1) + "\n")
    return lock


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------- resolving (run time)
def cache_dir() -> Path:
    if os.environ.get("KNIT_JAR_CACHE"):
        return Path(os.environ["KNIT_JAR_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "knit" / "jars"


def local_repository() -> Path:
    return Path(os.environ.get("KNIT_MAVEN_LOCAL_REPO") or
                os.path.join(os.path.expanduser("~"), ".m2", "repository"))


def remote_repository() -> str:
    return (os.environ.get("KNIT_MAVEN_REPOSITORY") or MAVEN_CENTRAL).rstrip("/")


def read_lock(path: Path) -> list[dict]:
    return json.loads(path.read_text())["jars"]


def resolve(lock_file: Path, what: str) -> list[str]:
    """The local paths of every jar `lock_file` pins, fetching what the cache lacks.
    `what` names them in messages ("the Hadoop 3.5.0 cluster jars")."""
    jars = read_lock(lock_file)
    cache = cache_dir()
    missing = [j for j in jars if not (cache / j["path"]).is_file()]
    from_maven = [j for j in missing if _take_from_local_repository(j, cache)]
    to_fetch = [j for j in missing if j not in from_maven]
    if to_fetch:
        _fetch(to_fetch, cache, what)
    return [str(cache / j["path"]) for j in jars]


def _take_from_local_repository(jar: dict, cache: Path) -> bool:
    """Hard-link (else copy) a jar of the local Maven repository into the cache, if it is
    the pinned one."""
    source = local_repository() / jar["path"]
    if not source.is_file() or source.stat().st_size != jar["size"] or _sha256(source) != jar["sha256"]:
        return False
    target = cache / jar["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        os.link(source, partial)
    except OSError:
        shutil.copyfile(source, partial)
    os.replace(partial, target)
    return True


def _fetch(jars: list[dict], cache: Path, what: str) -> None:
    import requests  # knit's dependency; not needed at build time

    base = remote_repository()
    total = sum(j["size"] for j in jars)
    progress = _Progress(what, len(jars), total)
    session = requests.Session()

    def one(jar: dict) -> None:
        target = cache / jar["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, session.get(f"{base}/{jar['path']}", stream=True,
                                                         timeout=(10, 60)) as answer:
                answer.raise_for_status()
                for block in answer.iter_content(1 << 16):
                    out.write(block)
                    digest.update(block)
                    progress.add(len(block))
            if digest.hexdigest() != jar["sha256"]:
                raise FetchError(f"{base}/{jar['path']} does not have the checksum knit pins "
                                 f"(sha256 {jar['sha256']}); not used. Is the repository a "
                                 "faithful mirror of Maven Central?")
            os.chmod(partial, 0o644)  # jars are no secret; daemons of other users read them
            os.replace(partial, target)
            progress.done_one()
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    try:
        with ThreadPoolExecutor(_PARALLEL_DOWNLOADS) as pool:
            list(pool.map(one, jars))
    except requests.RequestException as e:
        raise FetchError(
            f"knit needs {what}: {len(jars)} jars ({total / 2**20:.0f} MiB) not in its cache "
            f"({cache}) nor in the local Maven repository, and cannot fetch them from {base} "
            f"(first: {jars[0]['path']}): {e}. Connect to the network, set "
            "KNIT_MAVEN_REPOSITORY to a Maven Central mirror you can reach, or run `knit "
            "fetch-jars` where you can and copy the cache here (KNIT_JAR_CACHE).") from None
    finally:
        session.close()
        progress.close()


class _Progress:
    """A line rewritten in place on a terminal; a log record now and then otherwise."""

    def __init__(self, what: str, files: int, size: int) -> None:
        self.what, self.files, self.size = what, files, size
        self.got = self.finished = 0
        self.lock = threading.Lock()
        self.started = self.shown = time.monotonic()
        self.terminal = sys.stderr.isatty()
        logger.warning("Fetching %s: %d jars, %.0f MiB, from %s (once; cached in %s)",
                       what, files, size / 2**20, remote_repository(), cache_dir())

    def add(self, n: int) -> None:
        with self.lock:
            self.got += n
            self._show()

    def done_one(self) -> None:
        with self.lock:
            self.finished += 1
            self._show()

    def _show(self) -> None:
        now = time.monotonic()
        if now - self.shown < (0.2 if self.terminal else 5):
            return
        self.shown = now
        line = (f"knit: {self.what}: {self.finished}/{self.files} jars, "
                f"{self.got / 2**20:.0f}/{self.size / 2**20:.0f} MiB")
        if self.terminal:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
        else:
            logger.info(line)

    def close(self) -> None:
        if self.terminal:
            sys.stderr.write("\r\x1b[K")
        logger.warning("Fetched %d of %d jars of %s (%.0f MiB) in %.1f s", self.finished,
                       self.files, self.what, self.got / 2**20, time.monotonic() - self.started)
