"""The contract between Python and the JVMs: each message defined once per side
(knit/messages.py, knit.common.Messages), the same fields on both, and one error boundary."""
from __future__ import annotations

import inspect
import os
import signal

import pytest
from py4j.protocol import Py4JError

from helpers import require_java
from knit import (ApplicationStateError, InvalidArgumentError, Knit, KnitException,
                  KnitTimeoutError, messages, names, validation)
from knit._procfs import am_jvm_pid
from knit.client_jvm import get_client
from helpers import wait_for


def test_every_message_has_the_same_fields_and_types_on_both_sides():
    require_java()
    scala = get_client().call("contract", what="describe the JVM's messages")
    python = {name: messages.field_types(cls) for name, cls in messages.MESSAGES.items()}
    assert set(scala) == set(python), "a message defined on one side only"
    for name in python:
        assert scala[name] == python[name], name


def test_the_names_both_sides_use_are_the_same():
    """Role names, the files knit puts beside the user's, the default logs, the staging
    root: written once per side (knit/names.py; knit.common.AppFiles), equal across."""
    require_java()
    scala = get_client().call("sharedNames", what="describe the JVM's shared names")
    assert scala == names.SHARED


@pytest.mark.unit
def test_python_uses_its_shared_names(tmp_path):
    assert validation.ROLE_NAME.pattern == names.ROLE_NAME_PATTERN
    assert inspect.signature(Knit.add_containers).parameters["role"].default == names.MAIN_ROLE
    for reserved in names.CONTAINER_RESERVED_NAMES:
        (tmp_path / reserved).write_text("")
        with pytest.raises(InvalidArgumentError, match=reserved):
            validation.validated_containers("true", 1, 1, [str(tmp_path / reserved)], None)


@pytest.mark.unit
def test_a_message_field_python_lacks_is_an_error_not_noise():
    with pytest.raises(ValueError, match="fields the JVM sent that Python lacks: \\['extra'\\]"):
        messages.Container.from_json({"id": "c", "extra": 1})


@pytest.mark.unit
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


def every_public_call(k: Knit, container_id: str) -> dict:
    """Each public call of a Knit with a started application, by name."""
    return {
        "status": lambda: k.status(),
        "waiting_reason": lambda: k.waiting_reason(),
        "get_containers": lambda: k.get_containers(),
        "pending_containers": lambda: k.pending_containers(),
        "add_containers": lambda: k.add_containers(1),
        "cancel_containers": lambda: k.cancel_containers(1),
        "add_role": lambda: k.add_role("extra", "sleep 1", memory=256),
        "read_log_file": lambda: k.read_log_file(container_id, "stdout"),
        "logs": lambda: k.logs(timeout=5),
        "one_log": lambda: k.logs(container_id, timeout=5),
        "read_staged_file": lambda: k.app.read_staged_file("knit-app.json"),
        "list_envs": lambda: k.list_envs(),
        "remove_env": lambda: k.remove_env("no-such-env"),
        "connect": lambda: k.connect(k.app_id, timeout=5),
        "remove_containers": lambda: k.remove_containers(container_id),
        "wait_for_completion": lambda: k.wait_for_completion(timeout=1),
        "kill": lambda: k.kill(timeout=5),
    }


def outcomes(calls: dict) -> dict:
    """What each call did: "ok" or the KnitException class it raised; anything else (a
    py4j error above all) fails the test."""
    done = {}
    for name, call in calls.items():
        try:
            call()
            done[name] = "ok"
        except KnitException as e:
            assert "py4j" not in str(e).lower(), (name, e)
            done[name] = type(e).__name__
        except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
            pytest.fail(f"{name} raised {type(e).__module__}.{type(e).__name__}: {e}")
    return done


def started(minicluster, **kwargs) -> tuple[Knit, str]:
    k = Knit(minicluster.conf_dir)
    k.start("sleep 600", num_containers=1, memory=256, **kwargs)
    wait_for(lambda: any(c.state == "RUNNING" for c in k.get_containers()), 60, "a container")
    return k, k.get_containers()[0].id


def test_every_public_call_survives_the_client_jvm_dying_under_it(minicluster):
    """kill -9 of the client JVM: the next call starts another and goes on, or says why
    in a KnitException."""
    k, container = started(minicluster)
    try:
        jvm = get_client()
        os.kill(jvm.proc.pid, signal.SIGKILL)
        jvm.proc.wait(10)
        done = outcomes(every_public_call(k, container))
        assert done["status"] == "ok" and done["list_envs"] == "ok"  # a new client JVM
        assert get_client() is not jvm
        assert not os.path.exists(jvm.log_dir)  # the dead one's log directory is not left
        assert done["kill"] == "ok"
        assert k.status().state in ("FINISHED", "KILLED")
    finally:
        k.kill()


def test_every_public_call_after_the_am_was_lost_raises_knit_exceptions(minicluster):
    """kill -9 of the only AM attempt: calls on the application say it is lost or ended."""
    k, container = started(minicluster, am_attempts=1)
    try:
        os.kill(am_jvm_pid(minicluster.work_dir, k.app_id), signal.SIGKILL)
        wait_for(lambda: k.status().state == "FAILED", 60, "YARN to fail the application")
        done = outcomes(every_public_call(k, container))
        for call in ("pending_containers", "add_containers", "cancel_containers", "add_role",
                     "read_log_file", "remove_containers", "connect", "read_staged_file"):
            assert done[call] in ("ApplicationMasterLostError", "ApplicationStateError"), done
        assert done["status"] == "ok" and done["kill"] == "ok"
    finally:
        k.kill()
