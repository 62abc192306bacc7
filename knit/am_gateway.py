"""The connection from Python to a running knit ApplicationMaster's Py4J gateway."""
from __future__ import annotations

import json
import logging

from py4j.protocol import Py4JError, Py4JNetworkError

from ._errors import connection_lost, translate
from ._py4j import connect, from_json
from .messages import ContainerList
from ._tls import pinned_context
from .exceptions import ApplicationMasterLostError, KnitException
from .timeouts import AM_CALL_S

logger = logging.getLogger(__name__)


class _AmConnectionNoise(logging.Filter):
    """py4j logs a traceback at ERROR whenever a connection fails; for an AM gateway that
    is how a lost AM shows (knit reports it, or reconnects to the next attempt), so those
    records go down to DEBUG. Records about other py4j gateways are left alone."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and any(a in record.getMessage() for a in self.addresses):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info = record.exc_text = None
        return True


_noise = _AmConnectionNoise()
for _name in ("py4j.java_gateway", "py4j.clientserver"):
    logging.getLogger(_name).addFilter(_noise)


class AMGateway:
    """Calls on the ApplicationMaster of one application, over TLS pinned to the
    application's certificate (`cert_pem`), authenticated by its token."""

    def __init__(self, host: str, port: int, token: str, cert_pem: str) -> None:
        self.address = f"{host}:{port}"
        _noise.addresses.add(f"({self.address})")  # py4j writes "(host:port)"
        try:
            self._gateway = connect(host, port, token, read_timeout=AM_CALL_S,
                                    ssl_context=pinned_context(cert_pem))
        except Py4JNetworkError as e:
            raise KnitException(f"Cannot reach the ApplicationMaster at {self.address}: {e}") from e
        self._am = self._gateway.entry_point
        #: Which attempt of the application's ApplicationMaster this is, once it said.
        self.attempt: int | None = None

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except Py4JError as e:
            if connection_lost(e):
                raise ApplicationMasterLostError(
                    f"Lost the ApplicationMaster at {self.address} while trying to {what}; "
                    "the application has probably ended (see status())") from e
            raise translate(e, what) from e

    def add_containers(self, role: str, n: int, memory: int, vcores: int,
                       envvars: list[dict[str, str]]) -> None:
        """Sizes <= 0 mean the role's default; `envvars`: one map per container, or []."""
        self._call("add containers", self._am.addContainers, role, n, memory, vcores,
                   json.dumps(envvars))

    def cancel_containers(self, role: str, n: int) -> int:
        return int(self._call("withdraw requests", self._am.cancelContainers, role, n))

    def cancel_container_with(self, role: str, name: str, value: str) -> bool:
        return bool(self._call("withdraw a request", self._am.cancelContainerWith, role, name, value))

    def remove_container(self, container_id: str) -> bool:
        return bool(self._call("remove a container", self._am.removeContainer, container_id))

    def replace_lost(self, container_id: str) -> bool:
        return bool(self._call("replace a lost container", self._am.replaceLost, container_id))

    def containers(self) -> ContainerList:
        """The containers, each role's restarts, whether the list is final, and where the
        AM itself runs."""
        answer = ContainerList.from_json(from_json(self._call("list containers", self._am.containers)))
        self.attempt = answer.attempt
        return answer

    def pending(self) -> dict[str, dict[str, int]]:
        """Requests not granted yet: {role: {"<memory>x<vcores>": count}}."""
        return from_json(self._call("list pending requests", self._am.pending))

    def read_log_file(self, container_id: str, name: str) -> str:
        return str(self._call("read a container's log file", self._am.readLogFile,
                              container_id, name))

    def set_link(self, name: str, url: str) -> None:
        self._call("set a link of the tracking page", self._am.setLink, name, url)

    def stop(self) -> None:
        """End the application: the AM stops every container and finishes it."""
        self._call("stop the application", self._am.stopApplication)

    def renew_lease(self) -> int:
        """Renew the lease; returns the AM's attempt number."""
        self.attempt = int(self._call("renew the client's lease", self._am.renewLease))
        return self.attempt

    def close(self) -> None:
        self._gateway.close()
        _noise.addresses.discard(f"({self.address})")
