"""How py4j's errors of the JVMs become knit's: a JVM that stopped answering is
said to be so, an error the JVM answered keeps its message."""
from __future__ import annotations

import io

import pytest
from py4j import protocol as proto
from py4j.protocol import Py4JNetworkError

from helpers import py4j_error
from knit._errors import connection_lost, translate
from knit.client_jvm import ClientJVM
from knit.exceptions import KnitException

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit


def test_a_call_whose_connection_failed_twice_says_the_jvm_does_not_answer():
    """py4j's bare "x" answer (its retry failed too) is a lost JVM, like a network error."""
    for error in (py4j_error(proto.ERROR), Py4JNetworkError("Answer from Java side is empty")):
        assert connection_lost(error)
        translated = translate(error, "list applications")
        assert type(translated) is KnitException
        assert str(translated).startswith("Cannot list applications: the JVM does not answer")


def test_an_error_the_jvm_answered_is_not_a_lost_jvm():
    error = py4j_error(proto.ERROR + proto.STRING_TYPE + "py4j.Py4JException: no such method")
    assert not connection_lost(error)
    message = str(translate(error, "list applications"))
    assert "does not answer" not in message and "no such method" in message


def test_the_client_jvm_lost_mid_call_is_said_with_its_log(tmp_path):
    """ClientJVM.call (no JVM: only its error handling) on py4j's bare answer."""
    log = tmp_path / "client.log"
    log.write_text("java.lang.OutOfMemoryError: Java heap space\n")

    class Entry:
        def applications(self):
            raise py4j_error(proto.ERROR)

    jvm = object.__new__(ClientJVM)
    jvm._entry, jvm._log, jvm.log_path = Entry(), io.StringIO(), str(log)
    with pytest.raises(KnitException, match="(?s)Lost the knit client JVM during applications.*"
                                            "OutOfMemoryError"):
        jvm.call("applications")
