"""The AM gateway's log filter: a lost AM is not an ERROR traceback from py4j."""
from __future__ import annotations

import logging

from knit.am_gateway import _noise


def test_py4j_connection_errors_about_an_am_are_demoted(caplog):
    caplog.set_level(logging.WARNING)
    py4j = logging.getLogger("py4j.java_gateway")
    _noise.addresses.add("(am-host:4242)")
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError:
            py4j.exception("An error occurred while trying to connect to the Java server "
                           "(am-host:4242)")
            py4j.exception("An error occurred while trying to connect to the Java server "
                           "(other-host:25333)")
    finally:
        _noise.addresses.discard("(am-host:4242)")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert messages == ["An error occurred while trying to connect to the Java server "
                        "(other-host:25333)"]
