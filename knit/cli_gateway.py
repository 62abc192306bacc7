"""``knit gateway --minicluster``: a dask-gateway server with knit's backend on an embedded
cluster, to try the gateway on one machine (docs/gateway.md covers a real cluster)."""
from __future__ import annotations

import secrets
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

import click

from ._gateway_process import HOST as _HOST
from ._gateway_process import GatewayProcess, free_port
from .exceptions import KnitException
from .minicluster import MiniCluster

__all__ = ["gateway", "gateway_config", "free_port"]


def gateway_config(hadoop_conf_dir: str, port: int, api_port: int, password: str) -> str:
    """The gateway's configuration file for the embedded cluster: knit's backend, a
    simple authenticator with one password, its clusters stopped with it."""
    return f"""\
c.DaskGateway.address = "{_HOST}:{api_port}"
c.Proxy.address = "{_HOST}:{port}"
c.DaskGateway.backend_class = "knit.gateway.KnitBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = {password!r}
c.KnitBackend.hadoop_conf_dir = {hadoop_conf_dir!r}
c.KnitBackend.stop_clusters_on_shutdown = True
c.KnitClusterConfig.scheduler_memory = "1 G"
c.KnitClusterConfig.worker_memory = "1 G"
"""


@click.command("gateway")
@click.option("--minicluster", is_flag=True, required=True,
              help="Run an embedded HDFS + YARN cluster for the gateway (required: for a "
                   "real cluster run dask-gateway-server with knit's backend, see "
                   "docs/gateway.md).")
@click.option("--users", default="alice,bob", show_default=True,
              help="Comma-separated users who may have clusters (the embedded cluster lets "
                   "this OS user act as them, and makes their HDFS homes).")
@click.option("--port", default=0, type=click.IntRange(0, 65535),
              help="The gateway's port on 127.0.0.1 (default: a free one).")
@click.option("--nodemanagers", default=2, show_default=True, type=click.IntRange(min=1))
def gateway(minicluster: bool, users: str, port: int, nodemanagers: int) -> None:
    """A dask-gateway server with knit's backend on an embedded cluster, until Ctrl-C
    (or SIGTERM); then its clusters, the gateway and the embedded cluster end."""
    try:
        import dask_gateway_server  # noqa: F401
    except ImportError as e:
        raise click.ClickException(f"knit gateway needs dask-gateway-server: pip install "
                                   f"'knit[gateway]' ({e})") from e
    names = tuple(u.strip() for u in users.split(",") if u.strip())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.default_int_handler)
    work = tempfile.mkdtemp(prefix="knit-gateway-")  # mode 700: the password is in it
    cluster = MiniCluster(nodemanagers=nodemanagers, proxy_users=names)
    server = None
    try:
        cluster.start()
        port = port or free_port()
        password = secrets.token_urlsafe(16)
        server = GatewayProcess(Path(work), gateway_config(cluster.conf_dir, port, free_port(),
                                                           password), port)
        server.start()
        url = server.address
        click.echo(f"dask-gateway at {url} (knit's backend; users: {', '.join(names)}; "
                   f"password: {password})")
        click.echo(f"HADOOP_CONF_DIR={cluster.conf_dir}")
        click.echo(f"Its log: {server.log}")
        click.echo("Connect from Python:\n")
        click.echo(f"    from dask_gateway import Gateway, BasicAuth\n"
                   f"    gateway = Gateway({url!r}, auth=BasicAuth({names[0]!r}, {password!r}))\n"
                   f"    cluster = gateway.new_cluster()\n"
                   f"    cluster.scale(2)\n"
                   f"    client = cluster.get_client()\n")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not server.running:
                raise click.ClickException(f"The gateway exited; see {server.log}.")
            if not cluster.running:
                raise click.ClickException("The MiniCluster JVM exited unexpectedly.")
    except KeyboardInterrupt:
        pass
    except KnitException as e:
        raise click.ClickException(str(e)) from e
    finally:
        click.echo("Stopping the gateway (and its clusters) and the MiniCluster...")
        if server is not None:
            server.stop()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

