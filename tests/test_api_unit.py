"""The public surface: a Knit answers every public call of its Application and the
cluster-wide calls of its ClusterClient (it holds both; it is neither)."""
import inspect

import pytest

from knit import Application, ClusterClient, Knit

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit

#: Application.attach connects a handle to its AM (what start() and connect() do);
#: Knit.attach adopts an application by id instead.
NOT_FORWARDED = {"attach"}


def public(cls) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls) if not name.startswith("_")}


def test_a_knit_answers_every_public_call_of_an_application():
    missing = public(Application) - public(Knit) - NOT_FORWARDED
    assert not missing, f"Knit lacks {sorted(missing)}"


def test_a_knit_answers_the_cluster_wide_calls_of_a_cluster_client():
    missing = public(ClusterClient) - public(Knit)
    assert not missing, f"Knit lacks {sorted(missing)}"


def test_a_knit_is_composed_not_a_cluster_client():
    assert not issubclass(Knit, ClusterClient)
    assert inspect.signature(Knit.start).return_annotation in (str, "str")


def test_forwarded_calls_keep_their_signatures_and_docs():
    for name in ("add_containers", "scale", "logs", "get_containers"):
        assert inspect.signature(getattr(Knit, name)) == inspect.signature(getattr(Application, name))
        assert getattr(Knit, name).__doc__ == getattr(Application, name).__doc__
    assert inspect.signature(Knit.create_env) == inspect.signature(ClusterClient.create_env)


def test_calls_before_a_start_say_so():
    k = Knit.__new__(Knit)  # no cluster needed to be refused
    k.app = None
    from knit import ApplicationStateError
    with pytest.raises(ApplicationStateError, match="call start"):
        k.get_containers()
    k.kill()  # idempotent, also before any start
