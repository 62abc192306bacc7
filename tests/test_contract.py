"""The contract between Python and the JVMs: each message defined once per side
(knit/messages.py, knit.common.Messages), the same fields on both, and one error boundary."""
from __future__ import annotations

import pytest
from py4j.protocol import Py4JError

from conftest import require_java
from knit import (ApplicationStateError, InvalidArgumentError, Knit, KnitException,
                  KnitTimeoutError, messages)
from knit.client_jvm import get_client


def test_every_message_has_the_same_fields_and_types_on_both_sides():
    require_java()
    scala = get_client().call("contract", what="describe the JVM's messages")
    python = {name: messages.field_types(cls) for name, cls in messages.MESSAGES.items()}
    assert set(scala) == set(python), "a message defined on one side only"
    for name in python:
        assert scala[name] == python[name], name


def test_a_message_field_python_lacks_is_an_error_not_noise():
    with pytest.raises(ValueError, match="fields the JVM sent that Python lacks: \\['extra'\\]"):
        messages.Container.from_json({"id": "c", "extra": 1})


def test_records_read_as_attributes_and_as_the_dicts_they_replace():
    c = messages.Container(id="c1", role="main", node="n:1", node_http="n:2", state="RUNNING",
                           memory_mb=1024, vcores=1, allocated_at=1)
    assert c.state == c["state"] == c.get("state") == "RUNNING"
    assert c.get("nothing", 7) == 7 and "role" in c
    with pytest.raises(KeyError):
        c["nothing"]


@pytest.fixture
def unknown_app(minicluster):
    """A Knit whose application id YARN never issued (as after the RM forgot it)."""
    k = Knit(minicluster.conf_dir)
    k.app_id = "application_1_0001"
    return k


@pytest.mark.parametrize("call", [
    lambda k: k.status(),
    lambda k: k.logs(),
    lambda k: k.wait_for_completion(timeout=1),
    lambda k: k.kill(),
    lambda k: k.add_containers(1),
], ids=["status", "logs", "wait_for_completion", "kill", "add_containers"])
def test_jvm_side_failures_reach_the_user_as_knit_exceptions(unknown_app, call):
    with pytest.raises(KnitException) as caught:
        call(unknown_app)
    assert not isinstance(caught.value, Py4JError)
    assert isinstance(caught.value, ApplicationStateError), caught.value
    assert "py4j" not in str(caught.value).lower()


def test_am_side_argument_errors_and_timeouts_have_their_own_classes(minicluster):
    with Knit(minicluster.conf_dir) as k:
        k.start("sleep 60", num_containers=1, memory=256)
        with pytest.raises(InvalidArgumentError, match="not a container of this application"):
            k.read_log_file("container_1_0001_01_000009", "stdout")
        with pytest.raises(KnitTimeoutError) as caught:
            k.wait_for_completion(timeout=0.5)
        assert isinstance(caught.value, TimeoutError)
