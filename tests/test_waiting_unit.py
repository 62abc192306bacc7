"""Why an application waits, from the ResourceManager's answers (pure logic)."""
import pytest

from knit import waiting

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit

QUEUE_LIMIT = ("Application is added to the scheduler and is not yet activated. Queue's AM "
               "resource limit exceeded.  Details : AM Partition = <DEFAULT_PARTITION>; AM "
               "Resource Request = <memory:1024, vCores:1>; Queue Resource Limit for AM = "
               "<memory:1024, vCores:1>;")


def test_an_application_not_activated_gives_yarns_own_reason():
    report = {"state": "ACCEPTED", "diagnostics": QUEUE_LIMIT}
    assert "Queue's AM resource limit exceeded" in waiting.application_reason(report)
    assert "not yet started" not in waiting.application_reason(report)
    assert "ACCEPTED" in waiting.application_reason({"state": "ACCEPTED", "diagnostics": ""})
    assert waiting.application_reason({"state": "RUNNING", "diagnostics": "x"}) is None


def test_waiting_requests_are_compared_with_the_nodes_and_the_queue():
    nodes = [{"availMemoryMB": 512, "availableVirtualCores": 3},
             {"availMemoryMB": 3072, "availableVirtualCores": 1}]
    queue = {"queueName": "default", "usedCapacity": 87.5, "maxCapacity": 100.0}
    text = waiting.requests_reason({"4096x1": 2}, nodes, queue)
    assert text.startswith("waiting for containers (2 of 4096 MB and 1 vcores)")
    assert "the most free on one of 2 running nodes is 3072 MB and 3 vcores" in text
    assert "queue default uses 88 % of its capacity (at most 100 %)" in text
    assert "no NodeManager is running" in waiting.requests_reason({"1024x1": 1}, [], None)
    assert waiting.requests_reason({}, nodes, queue) is None


def test_the_leaf_queue_is_found_in_the_capacity_schedulers_tree():
    tree = {"type": "capacityScheduler", "queueName": "root", "queues": {"queue": [
        {"queueName": "a", "queues": {"queue": [{"queueName": "default", "usedCapacity": 1}]}},
        {"queueName": "b"}]}}
    assert waiting.find_queue(tree, "default") == {"queueName": "default", "usedCapacity": 1}
    assert waiting.find_queue(tree, "root.a.default") == {"queueName": "default", "usedCapacity": 1}
    assert waiting.find_queue(tree, "a") is None  # a parent, not a leaf
    assert waiting.find_queue({"type": "fairScheduler"}, "default") is None
