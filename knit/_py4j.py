"""Py4J plumbing shared by the client-JVM and ApplicationMaster connections.

Both gateways take strings and numbers and answer structured values as JSON text, so no
Java proxy objects exist on the Python side: nothing to garbage-collect across the wire,
and nothing left to release when a JVM (say a finished AM) is already gone.
"""
from __future__ import annotations

import json
import ssl
from typing import Any

from py4j.java_gateway import GatewayParameters, JavaGateway


def connect(host: str, port: int, token: str, read_timeout: float | None = None,
            ssl_context: ssl.SSLContext | None = None) -> JavaGateway:
    """An authenticated gateway connection (no auto-conversion: only plain values pass),
    over TLS with `ssl_context`."""
    return JavaGateway(gateway_parameters=GatewayParameters(
        address=host, port=port, auth_token=token, eager_load=True,
        enable_memory_management=False, read_timeout=read_timeout, ssl_context=ssl_context))


def to_json(value: Any) -> str:
    return json.dumps(value)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
