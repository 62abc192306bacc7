"""The client JVMs of a Python process, reached over authenticated Py4J gateways.

One per Kerberos identity (one for every cluster without Kerberos), started on first use
and shared by every :class:`knit.Knit` of the process with that identity. It listens on
127.0.0.1 only, refuses callers without the random token, and exits when this process
does (its stdin closes), killing the applications that were not started detached.
"""
from __future__ import annotations

import atexit
import functools
import glob
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JError

from . import java
from ._errors import connection_lost, translate
from ._py4j import connect, from_json
from .exceptions import JavaNotFoundError, KnitException
from .kerberos import Identity
from .timeouts import JVM_START_S, JVM_STOP_S, TOOL_S

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_clients: "dict[Identity | None, ClientJVM]" = {}
_MAIN_CLASS = "knit.client.ClientMain"


#: A classpath the user names for the client JVM's Hadoop (wins over `hadoop classpath`).
HADOOP_CLASSPATH_VAR = "KNIT_HADOOP_CLASSPATH"


@dataclass(frozen=True)
class ClientSetup:
    """Which Java and which Hadoop jars the client JVM runs on, and why."""

    java_exe: str
    java_home: str
    java_version: int
    hadoop_classpath: tuple[str, ...]
    #: Where the Hadoop jars come from, in words.
    hadoop_source: str
    #: Their version (None when the jars' names do not tell).
    hadoop_version: str | None

    def describe(self) -> str:
        return (f"Java {self.java_version} ({self.java_home}); Hadoop "
                f"{self.hadoop_version or '(version unknown)'} from {self.hadoop_source}")


@functools.lru_cache(maxsize=None)
def client_setup() -> ClientSetup:
    """The client JVM's Java and Hadoop, chosen once per process.

    Hadoop's jars: ``$KNIT_HADOOP_CLASSPATH`` if set; else the machine's own Hadoop
    (``hadoop classpath --glob``) where one is installed, so the client speaks the
    cluster's own version; else knit's own client jars. Java: ``$JAVA_HOME``, else
    ``java`` on PATH; it must run those jars (Hadoop 3.5 needs Java 17, older lines 8).
    """
    java_exe, java_home = java.find_java()
    named = os.environ.get(HADOOP_CLASSPATH_VAR, "").strip()
    hadoop = shutil.which("hadoop")
    jars: list[str] | None = None
    if named:
        jars, source = _expand(named.split(os.pathsep)), f"${HADOOP_CLASSPATH_VAR}"
        if not jars:
            raise JavaNotFoundError(f"${HADOOP_CLASSPATH_VAR} names no existing jar or "
                                    f"directory: {named[:200]}")
    elif hadoop:
        run = subprocess.run([hadoop, "classpath", "--glob"], capture_output=True, text=True,
                             timeout=TOOL_S)
        if run.returncode == 0 and run.stdout.strip():
            jars = _expand(run.stdout.strip().split(os.pathsep))
            source = f"this machine's Hadoop install ({hadoop} classpath --glob)"
        else:
            logger.warning("`hadoop classpath --glob` failed (%s); using knit's own Hadoop "
                           "client jars", run.stderr.strip()[-200:])
    if jars is None:
        jars, source = java.client_classpath(), "knit's own client jars"
    version = java.hadoop_version_of(jars)
    needs = 17 if version and java.version_at_least(version, (3, 5)) else 8
    found = java.require_java(java_home, needs, f"The Hadoop {version or ''} client jars from "
                                                f"{source}".replace("  ", " "))
    setup = ClientSetup(java_exe, java_home, found, tuple(jars), source, version)
    logger.info("knit client JVM: %s", setup.describe())
    return setup


def _expand(entries: list[str]) -> list[str]:
    """Classpath entries that exist, with `dir/*` wildcards expanded to their jars."""
    out: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if entry.endswith("/*"):
            out.extend(sorted(glob.glob(entry[:-1] + "*.jar")))
        elif entry and os.path.exists(entry):
            out.append(entry)
    return out


class ClientJVM:
    """A running client JVM and the gateway to it."""

    def __init__(self, identity: Identity | None = None) -> None:
        setup = client_setup()
        if identity is not None:
            java.require_kerberos_support(setup.java_home, "This cluster")
        kerberos = identity or Identity()
        self.log_dir = tempfile.mkdtemp(prefix="knit-client-")  # mode 700
        self.log_path = os.path.join(self.log_dir, "client-jvm.log")
        token = secrets.token_urlsafe(32)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        cmd = [setup.java_exe, "-Xmx512m", *java.jvm_compat_options(), *kerberos.jvm_options(),
               "-Dlog4j.configuration=knit-client-log4j.properties",
               _MAIN_CLASS, str(listener.getsockname()[1]), self.log_dir]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     # CLASSPATH: every Java reads it (8 has no @argfiles).
                                     env=dict(os.environ, JAVA_HOME=setup.java_home,
                                              CLASSPATH=os.pathsep.join(
                                                  [str(java.knit_jar()), *setup.hadoop_classpath]),
                                              **kerberos.jvm_env()))
        try:
            # The token goes over a pipe only this process holds, never the command line.
            self.proc.stdin.write((token + "\n").encode())
            self.proc.stdin.flush()
            port = self._await_callback(listener, token)
        except BaseException:
            self.close()
            raise
        finally:
            listener.close()
        self.gateway = connect("127.0.0.1", port, token)
        self._entry = self.gateway.entry_point

    def call(self, method: str, *args: Any, what: str | None = None) -> Any:
        """Call a ClientEntryPoint method; its JSON answer comes back decoded. Every error
        becomes a KnitException (see knit/_errors.py) saying it could not `what`."""
        try:
            answer = getattr(self._entry, method)(*args)
        except Py4JError as e:
            if connection_lost(e):
                raise KnitException(f"Lost the knit client JVM during {method}. Last lines of "
                                    f"its log:\n{self.log_tail()}") from e
            raise translate(e, what or f"call the client JVM's {method}") from e
        return from_json(answer) if isinstance(answer, str) else answer

    def _await_callback(self, listener: socket.socket, token: str) -> int:
        deadline = time.monotonic() + JVM_START_S
        listener.settimeout(0.5)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KnitException(
                    f"The knit client JVM exited with code {self.proc.returncode} at start-up. "
                    f"Last lines of its log:\n{self.log_tail()}")
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    port, _, their_token = conn.makefile().readline().strip().partition(" ")
                except (OSError, ValueError):
                    continue
            # Anyone on this host can connect to the callback port; only the JVM we
            # started knows the token.
            if secrets.compare_digest(their_token, token) and port.isdigit():
                return int(port)
            logger.warning("Ignored a callback connection that did not carry the token")
        raise KnitException(f"The knit client JVM did not start within {JVM_START_S:.0f} s. "
                            f"Last lines of its log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(deque(f, maxlen=lines))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Close stdin (the JVM kills undetached applications and exits), then clean up."""
        if getattr(self, "gateway", None) is not None:
            self.gateway.close()
            self.gateway = None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=JVM_STOP_S)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.log_dir, ignore_errors=True)


def get_client(identity: Identity | None = None) -> ClientJVM:
    """The process's client JVM for `identity` (None: a cluster without Kerberos), started
    on first use (and again if it died)."""
    with _lock:
        client = _clients.get(identity)
        if client is not None and not client.alive():
            # Said before its log directory goes with it.
            logger.warning("The knit client JVM had exited with code %s; starting another. "
                           "Last lines of its log:\n%s", client.proc.returncode, client.log_tail())
            client.close()
            client = None
        if client is None:
            started = time.monotonic()
            client = _clients[identity] = ClientJVM(identity)
            logger.info("knit client JVM started in %.2f s", time.monotonic() - started)
        return client


@atexit.register
def shutdown_client() -> None:
    """Stop the client JVMs (killing applications not started detached)."""
    with _lock:
        while _clients:
            _clients.popitem()[1].close()


def close_client(identity: Identity) -> None:
    """Stop the client JVM of one Kerberos identity, if started (killing its applications
    not started detached)."""
    with _lock:
        client = _clients.pop(identity, None)
    if client is not None:
        client.close()
