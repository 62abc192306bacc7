"""dask-gateway-server as a process of its own, started with a configuration file: the
one way ``knit gateway --minicluster``, the gateway tests and benchmarks/gateway.py run
it."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .exceptions import KnitException

logger = logging.getLogger(__name__)

#: How long the gateway has to answer once started, and to stop (its clusters with it).
START_S = 60
STOP_S = 120
HOST = "127.0.0.1"
#: The configuration file and the log, in the process's directory.
CONFIG_FILE = "dask_gateway_config.py"
LOG_FILE = "gateway.log"


def free_port() -> int:
    """A TCP port free on `HOST` now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class GatewayProcess:
    """``python -m dask_gateway_server -f <config>`` in a session of its own.

    Parameters
    ----------
    directory : Path
        Its working dir, private to this user: the configuration file (mode 600, it may
        hold a password or database keys) and the log (stdout and stderr) go there.
    config : str
        The configuration file's text (``c.DaskGateway...``).
    port : int
        The port of its HTTP API on `HOST` (``c.Proxy.address``), polled for health.
    env : dict, optional
        Its environment (default: this process's).
    """

    def __init__(self, directory: Path, config: str, port: int,
                 env: dict[str, str] | None = None) -> None:
        self.dir = Path(directory)
        self.config = config
        self.port = port
        self.env = env
        self.log = self.dir / LOG_FILE
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        """Its HTTP API, e.g. ``http://127.0.0.1:8000``."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_S) -> None:
        """Write the configuration, start the server and wait until its ``/api/health``
        answers.

        Raises
        ------
        KnitException
            It exited, or did not answer within `timeout` (it is then stopped); the
            message ends with its log.
        """
        config = self.dir / CONFIG_FILE
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dask_gateway_server", "-f", str(config)],
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None:
                raise KnitException(f"The gateway exited ({self.proc.returncode}) at its start; "
                                    f"its log ({self.log}):\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise KnitException(f"The gateway did not answer within {timeout:g} s; its "
                                    f"log ({self.log}):\n{self.tail()}")
            time.sleep(0.5)
        logger.info("dask-gateway-server answers at %s (pid %d)", self.address, self.proc.pid)

    def healthy(self) -> bool:
        """Its ``/api/health`` answers OK."""
        import requests
        try:
            return requests.get(f"{self.address}/api/health", timeout=5).ok
        except requests.RequestException:
            return False

    def stop(self, timeout: float = STOP_S) -> bool:
        """SIGTERM, as a service manager stops it (the gateway stops its proxy, and its
        clusters if so configured); SIGKILL to its whole process group after `timeout`.

        Returns
        -------
        bool
            True if it ended on SIGTERM within `timeout` (or was not running), False if
            it had to be killed.
        """
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return True
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            logger.warning("The gateway did not stop within %g s: killing its process group",
                           timeout)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return False

    def tail(self, n: int = 60) -> str:
        """The last `n` lines of its log."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])
