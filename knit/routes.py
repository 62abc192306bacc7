"""This machine's address on its route to the cluster: what a server on this machine
(a local Dask scheduler) gives the cluster's hosts to reach it.

``socket.gethostname()`` is not that address: on Debian and Ubuntu a host's own name maps
to 127.0.1.1 in /etc/hosts, so another host would dial its own loopback. The address this
machine uses to reach the ResourceManager is, by construction, on a route the cluster's
hosts share with it.
"""
from __future__ import annotations

import ipaddress
import logging
import socket

from .config import HadoopConfig
from .exceptions import KnitException

logger = logging.getLogger(__name__)


def route_to_resourcemanager(config: HadoopConfig) -> str:
    """This machine's source address toward the ResourceManager. A UDP socket's connect()
    only asks the kernel for a route: no packet is sent."""
    tried = []
    for address in config.resourcemanager_addresses:
        host, _, port = address.rpartition(":")
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((host, int(port)))
                local = s.getsockname()[0]
        except (OSError, ValueError) as e:
            tried.append(f"{address}: {e}")
            continue
        if ipaddress.ip_address(local).is_loopback and not _is_loopback(host):
            tried.append(f"{address}: routed through loopback ({local})")
            continue
        logger.debug("Scheduler address %s: this machine's route to %s", local, address)
        return local
    raise KnitException(
        "Could not find this machine's address toward the ResourceManager "
        f"({'; '.join(tried) or 'no address configured'}). Pass scheduler_host= (an "
        "address the cluster's nodes can reach) or interface= to YarnCluster.")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False
