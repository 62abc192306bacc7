"""``knit dask start|stop``: Dask clusters that keep running, from the shell."""
from __future__ import annotations

import click

from .cli_common import login, MEMORY, app_argument, conf_option


@click.group("dask")
def dask() -> None:
    """Dask clusters on YARN (the scheduler in a container: remote mode)."""


@dask.command("start")
@click.option("--workers", "-n", default=1, show_default=True, type=click.IntRange(min=0),
              help="Workers to start with.")
@click.option("--worker-memory", default="2 GiB", show_default=True, type=MEMORY,
              help="Per worker: MB (2048), or a size ('2 GiB', 2GB).")
@click.option("--worker-vcores", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--worker-gpus", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--scheduler-memory", default="2 GiB", show_default=True, type=MEMORY,
              help="The scheduler's container: MB, or a size.")
@click.option("--env", type=click.Path(exists=True, dir_okay=False),
              help="A packed environment (knit env create) for scheduler and workers.")
@click.option("--queue", default="default", show_default=True)
@click.option("--name", default="dask", show_default=True, help="Application name.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for the workers to connect before returning.")
@conf_option
def start(workers, worker_memory, worker_vcores, worker_gpus, scheduler_memory, env, queue,
          name, wait, hadoop_conf_dir):
    """Start a Dask cluster that keeps running; print its application id, then its
    scheduler's address. Connect with YarnCluster.from_application_id(APP)."""
    from .dask import YarnCluster
    cluster = YarnCluster(n_workers=workers, worker_memory=worker_memory,
                          worker_vcores=worker_vcores, worker_gpus=worker_gpus,
                          scheduler_memory=scheduler_memory, env=env, queue=queue,
                          app_name=name, deploy_mode="remote", shutdown_on_close=False,
                          hadoop_conf_dir=hadoop_conf_dir, progress=False, **login())
    try:
        if wait and workers:
            cluster.wait_for_workers(workers)
        click.echo(cluster.application_id)
        click.echo(cluster.scheduler_address)
    except BaseException:
        cluster.shutdown_on_close = True  # nothing half-started is left behind
        raise
    finally:
        cluster.close()


@dask.command("stop")
@app_argument
@conf_option
def stop(app_id, hadoop_conf_dir):
    """End a Dask cluster (final status SUCCEEDED)."""
    from .dask import YarnCluster
    YarnCluster.from_application_id(app_id, hadoop_conf_dir, progress=False, **login()).close()
    click.echo(f"{app_id}: stopped")
