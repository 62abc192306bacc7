"""Why an application or its container requests wait, in the ResourceManager's words.

YARN explains an application that is not activated in its report's diagnostics ("Queue's
AM resource limit exceeded ..."); it says nothing about container requests that wait, so
knit compares them with what the nodes have free and how full the queue is.
"""
from __future__ import annotations

from typing import Any, Callable

_WAITING_STATES = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED")


def application_reason(report: dict) -> str | None:
    """Why an application's ApplicationMaster is not running yet, or None if it is (or
    YARN does not say)."""
    if report.get("state") not in _WAITING_STATES:
        return None
    said = " ".join((report.get("diagnostics") or "").split())
    return said or f"the application is {report.get('state')}: YARN has not started its ApplicationMaster yet"


def requests_reason(pending: dict[str, int], nodes: list[dict], queue: dict | None) -> str | None:
    """Why `pending` container requests ({"<memory>x<vcores>": count}) wait: the most free
    memory and vcores on one running node, and the queue's use of its capacity."""
    if not pending:
        return None
    asks = ", ".join(f"{n} of {size.split('x')[0]} MB and {size.split('x')[1]} vcores"
                     for size, n in sorted(pending.items()))
    parts = [f"waiting for containers ({asks})"]
    if nodes:
        memory = max(n.get("availMemoryMB", 0) for n in nodes)
        vcores = max(n.get("availableVirtualCores", 0) for n in nodes)
        parts.append(f"the most free on one of {len(nodes)} running nodes is {memory} MB and "
                     f"{vcores} vcores")
    else:
        parts.append("no NodeManager is running")
    if queue:
        parts.append(f"queue {queue.get('queueName')} uses {queue.get('usedCapacity', 0):.0f} % of "
                     f"its capacity (at most {queue.get('maxCapacity', 100):.0f} %)")
    return "; ".join(parts)


def find_queue(scheduler_info: dict, name: str) -> dict | None:
    """The capacity scheduler's entry for leaf queue `name` ("default", or a path such as
    "root.default", as Hadoop 3.4+ reports it); None for other schedulers."""
    leaf = name.rsplit(".", 1)[-1]

    def walk(queue: dict) -> dict | None:
        if queue.get("queueName") == leaf and not (queue.get("queues") or {}).get("queue"):
            return queue
        for child in (queue.get("queues") or {}).get("queue") or []:
            found = walk(child)
            if found:
                return found
        return None
    return walk(scheduler_info) if scheduler_info.get("type") == "capacityScheduler" else None


def reason(report: dict, pending: Callable[[], dict[str, int]],
           rm_get: Callable[[str], Any]) -> str | None:
    """Why the application waits, now: its activation, else its container requests."""
    waiting_app = application_reason(report)
    if waiting_app or report.get("state") != "RUNNING":
        return waiting_app
    asks = pending()
    if not asks:
        return None
    nodes = (rm_get("/ws/v1/cluster/nodes?states=RUNNING").get("nodes") or {}).get("node") or []
    scheduler = rm_get("/ws/v1/cluster/scheduler")["scheduler"]["schedulerInfo"]
    return requests_reason(asks, nodes, find_queue(scheduler, report.get("queue", "")))
