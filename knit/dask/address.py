"""Which address a local-mode scheduler advertises: one the NodeManagers can reach.

``socket.gethostname()`` is not: on Debian and Ubuntu a host's own name maps to
127.0.1.1 in /etc/hosts, so workers on other hosts would dial their own loopback. The
address this machine uses to reach the ResourceManager is, by construction, on a route
the cluster's hosts share with it.
"""
from __future__ import annotations

import ipaddress
import logging
import socket

from ..config import HadoopConfig
from ..exceptions import InvalidArgumentError, KnitException

logger = logging.getLogger(__name__)


def scheduler_host(config: HadoopConfig, host: str | None = None,
                   interface: str | None = None) -> str:
    """The host a local scheduler listens on and advertises to its workers.

    Parameters
    ----------
    config : HadoopConfig
        The cluster's configuration (where its ResourceManagers are).
    host : str, optional
        An address or host name chosen by the user: used as it is.
    interface : str, optional
        A network interface (e.g. ``"eth0"``): its IPv4 address.

    By default, the local address of this machine's route to the ResourceManager (the
    first of an HA pair that resolves). That is a loopback address only when the
    ResourceManager itself is on this machine's loopback, a one-host cluster.
    """
    if host and interface:
        raise InvalidArgumentError(
            f"Give scheduler_host or interface, not both (got {host!r} and {interface!r}).")
    if host:
        return host
    if interface:
        return _interface_address(interface)
    return route_to_resourcemanager(config)


def _interface_address(interface: str) -> str:
    from distributed.utils import get_ip_interface
    try:
        return get_ip_interface(interface)
    except ValueError as e:  # unknown interface, or one without IPv4
        raise InvalidArgumentError(f"interface: {e}") from None


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
