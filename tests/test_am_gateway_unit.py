"""The AM gateway without an AM: its log filter (a lost AM is not an ERROR traceback
from py4j) and which py4j errors mean the AM was lost."""
from __future__ import annotations

import logging

import pytest
from py4j import protocol as proto
from py4j.protocol import Py4JNetworkError

from helpers import py4j_error
from knit.am_gateway import AMGateway, _noise
from knit.exceptions import ApplicationMasterLostError, KnitException

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit


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


def _gateway_without_connection() -> AMGateway:
    gateway = object.__new__(AMGateway)  # no JVM: only _call's error handling is tried
    gateway.address = "am-host:4242"
    return gateway


def test_a_call_whose_connection_failed_twice_is_a_lost_am():
    """py4j's own answer for a connection lost even on its retry is a bare "x"."""
    def call():
        raise py4j_error(proto.ERROR)
    with pytest.raises(ApplicationMasterLostError, match="Lost the ApplicationMaster at am-host:4242"):
        _gateway_without_connection()._call("list containers", call)


def test_a_network_error_is_a_lost_am():
    def call():
        raise Py4JNetworkError("Answer from Java side is empty")
    with pytest.raises(ApplicationMasterLostError):
        _gateway_without_connection()._call("list containers", call)


def test_an_error_the_am_answered_is_not_a_lost_am():
    def call():
        raise py4j_error(proto.ERROR + proto.STRING_TYPE + "py4j.Py4JException: no such method")
    with pytest.raises(KnitException, match="(?s)Cannot list containers: .*no such method") as caught:
        _gateway_without_connection()._call("list containers", call)
    assert not isinstance(caught.value, ApplicationMasterLostError)
