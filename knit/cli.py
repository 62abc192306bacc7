"""The ``knit`` command line."""
from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from . import __version__, cli_apps, cli_dask, cli_env, cli_gateway
from .cli_common import KnitGroup
from .exceptions import KnitException
from .minicluster import MiniCluster


@click.group(cls=KnitGroup)
@click.version_option(__version__, "--version", prog_name="knit", message="%(prog)s %(version)s")
@click.option("--verbose", "-v", is_flag=True, help="Log what knit does.")
@click.option("--proxy-user", metavar="USER",
              help="Act as USER through Hadoop's proxy users (for services; the cluster "
                   "must allow this login to, see docs/gateway.md).")
def main(verbose: bool, proxy_user: str | None) -> None:
    """knit: run Python and Dask on Hadoop YARN."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # py4j logs its reconnection attempts at DEBUG; after Ctrl-C they reached stderr
    # beside the one-line message (seen once in a full CI run).
    logging.getLogger("py4j").setLevel(logging.INFO if verbose else logging.WARNING)


@main.command()
@click.option("--hadoop-conf-dir", type=click.Path(file_okay=False),
              help="The cluster's Hadoop configuration (default: $HADOOP_CONF_DIR, "
                   "$YARN_CONF_DIR, /etc/hadoop/conf).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def info(hadoop_conf_dir: str | None, as_json: bool) -> None:
    """What knit uses here: Java, Hadoop client, conf dir, ResourceManager, Kerberos."""
    import json
    from .info import format_info, info as report_info
    report = report_info(hadoop_conf_dir)
    click.echo(json.dumps(report, indent=2) if as_json else format_info(report))
    # Exit 1 when something knit needs is missing, for scripts.
    broken = [k for k in ("jar", "java", "conf_dir") if isinstance(report.get(k), dict)
              and "error" in report[k]]
    if broken or not report.get("resourcemanager", {}).get("answers", False):
        sys.exit(1)


@main.command("fetch-jars")
@click.option("--hadoop", "versions", multiple=True, default=("3.5.0",), show_default=True,
              help="Also the jars of an embedded cluster of this Hadoop line (repeatable).")
def fetch_jars(versions: tuple[str, ...]) -> None:
    """Fetch (once) the jars knit's client and MiniCluster run on, into knit's jar cache:
    to prepare a machine that will be offline."""
    from . import java
    from ._jarlock import cache_dir
    try:
        jars = java.client_classpath() + [j for v in versions for j in java.cluster_classpath(v)]
    except KnitException as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{len(set(jars))} jars in {cache_dir()}")


@main.command()
@click.option("--nodemanagers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Number of NodeManagers.")
@click.option("--conf-dir", type=click.Path(file_okay=False),
              help="Where to write the Hadoop client configuration (default: a temporary "
                   "directory, removed on exit).")
@click.option("--nodemanager-memory-mb", default=4096, show_default=True,
              type=click.IntRange(min=256), help="Memory each NodeManager offers.")
@click.option("--kerberos", is_flag=True,
              help="Secure the cluster: a KDC, Kerberos RPC, SPNEGO on the ResourceManager's "
                   "REST API; prints the krb5.conf, principal and keytab to use.")
def minicluster(nodemanagers: int, conf_dir: str | None, nodemanager_memory_mb: int,
                kerberos: bool) -> None:
    """Run an embedded HDFS + YARN cluster until Ctrl-C (or SIGTERM)."""
    cluster = MiniCluster(nodemanagers=nodemanagers, conf_dir=conf_dir,
                          nodemanager_memory_mb=nodemanager_memory_mb, kerberos=kerberos)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C stops it even when started with SIGINT ignored (inherited: a background job of
    # a script, or a parent that ignores it), where Python installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cluster.start()
    except KnitException as e:
        raise click.ClickException(str(e)) from e
    try:
        click.echo(f"HADOOP_CONF_DIR={cluster.conf_dir}")
        click.echo(f"ResourceManager web UI and REST API: {cluster.resourcemanager_web}")
        click.echo(f"HDFS: {cluster.default_fs}  WebHDFS: {cluster.webhdfs_url}")
        if kerberos:
            click.echo(f"KRB5_CONFIG={cluster.krb5_conf}")
            click.echo(f"kinit -kt {cluster.keytab} {cluster.principal}")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not cluster.running:
                raise click.ClickException("The MiniCluster JVM exited unexpectedly.")
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("Stopping the MiniCluster...")
        cluster.stop()


@main.command()
@click.option("--workers", default=4, show_default=True, type=click.IntRange(min=1),
              help="Dask workers to start in YARN containers.")
@click.option("--env/--no-env", "use_env", default=True, show_default=True,
              help="Ship a packed environment (built with create_env on first use, then "
                   "cached), or run the workers with this Python.")
def demo(workers: int, use_env: bool) -> None:
    """Dask on an embedded YARN cluster, end to end (needs knit[dask] and pandas)."""
    # SIGTERM unwinds like Ctrl-C, so the cluster and its temporary files are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        from .demo import run_demo
        results = run_demo(workers=workers, use_env=use_env)
    except ImportError as e:
        raise click.ClickException(f"The demo needs dask, distributed and pandas: {e}. "
                                   "pip install 'knit[demo]'") from e
    except KnitException as e:
        raise click.ClickException(str(e)) from e
    if not (results["groupby_ok"] and abs(results["array_mean"] - 0.5) < 0.01):
        raise click.ClickException("The demo computed wrong results.")


for _command in (cli_apps.start, cli_apps.ls, cli_apps.status, cli_apps.logs, cli_apps.scale,
                 cli_apps.kill, cli_apps.clean, cli_env.env, cli_dask.dask,
                 cli_gateway.gateway):
    main.add_command(_command)
