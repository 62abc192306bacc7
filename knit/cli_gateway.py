"""``knit gateway --minicluster``: a dask-gateway server with knit's backend on an embedded
cluster, to try the gateway on one machine (docs/gateway.md covers a real cluster)."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from .exceptions import KnitException
from .minicluster import MiniCluster

#: How long the gateway has to answer once started, and to stop (its clusters with it).
_START_S = 60
_STOP_S = 120
_HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((_HOST, 0))
        return s.getsockname()[1]


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


def _healthy(url: str) -> bool:
    import requests
    try:
        return requests.get(f"{url}/api/health", timeout=5).ok
    except requests.RequestException:
        return False


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
        config = Path(work, "dask_gateway_config.py")
        config.write_text(gateway_config(cluster.conf_dir, port, free_port(), password))
        with open(Path(work, "gateway.log"), "ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "dask_gateway_server", "-f", str(config)], cwd=work,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://{_HOST}:{port}"
        deadline = time.monotonic() + _START_S
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(
                    "The gateway did not start; its log: "
                    + Path(work, "gateway.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        click.echo(f"dask-gateway at {url} (knit's backend; users: {', '.join(names)}; "
                   f"password: {password})")
        click.echo(f"HADOOP_CONF_DIR={cluster.conf_dir}")
        click.echo(f"Its log: {work}/gateway.log")
        click.echo("Connect from Python:\n")
        click.echo(f"    from dask_gateway import Gateway, BasicAuth\n"
                   f"    gateway = Gateway({url!r}, auth=BasicAuth({names[0]!r}, {password!r}))\n"
                   f"    cluster = gateway.new_cluster()\n"
                   f"    cluster.scale(2)\n"
                   f"    client = cluster.get_client()\n")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if server.poll() is not None:
                raise click.ClickException(f"The gateway exited ({server.returncode}); see "
                                           f"{work}/gateway.log.")
            if not cluster.running:
                raise click.ClickException("The MiniCluster JVM exited unexpectedly.")
    except KeyboardInterrupt:
        pass
    except KnitException as e:
        raise click.ClickException(str(e)) from e
    finally:
        click.echo("Stopping the gateway (and its clusters) and the MiniCluster...")
        if server is not None:
            _stop(server)
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM: the gateway stops its clusters and its proxy; SIGKILL to its process group
    if it takes too long."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(_STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
