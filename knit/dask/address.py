"""Which address a local-mode scheduler advertises: one the NodeManagers can reach (see
knit.routes), or the user's choice."""
from __future__ import annotations

from ..config import HadoopConfig
from ..exceptions import InvalidArgumentError
from ..routes import route_to_resourcemanager


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
