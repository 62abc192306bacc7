"""`knit demo`: Dask on an embedded YARN cluster, end to end, on one machine.

Builds or reuses a packed environment with the versions of dask, distributed, pandas,
numpy and pyarrow this Python has (unless --no-env), starts a MiniCluster, starts a
YarnCluster with 4 workers, runs a dask.array reduction and a
dask.dataframe groupby on generated data, prints the results, how long the workers took
to join and where the dashboard was, then tears everything down.
"""
from __future__ import annotations

import logging
import time

import click

logger = logging.getLogger(__name__)
# Workers must unpickle what this client sends: same versions as here.
PACKAGES = ["dask", "distributed", "pandas", "numpy", "pyarrow"]


def pinned_packages() -> list[str]:
    """PACKAGES at the versions installed in this Python."""
    from importlib.metadata import version
    return [f"{name}=={version(name)}" for name in PACKAGES]


def run_demo(workers: int = 4, use_env: bool = False) -> dict:
    """Run the demo; return what it computed and measured."""
    import getpass
    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client

    from . import MiniCluster, create_env
    from .dask import YarnCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # keep the story readable
    results: dict = {}
    began = time.monotonic()
    env = None
    if use_env:
        packages = pinned_packages()
        click.echo(f"Packing an environment with {', '.join(packages)} "
                   "(cached after the first time)...")
        t = time.monotonic()
        env = create_env("knit-demo", packages=packages, hdfs=True)
        results["env_seconds"] = time.monotonic() - t
        click.echo(f"  {env} ({results['env_seconds']:.1f} s)")
    click.echo("Starting an embedded HDFS + YARN cluster (2 NodeManagers)...")
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=8192) as mc:
        click.echo(f"  ready in {time.monotonic() - began:.1f} s; ResourceManager "
                   f"{mc.resourcemanager_web}")
        t = time.monotonic()
        with YarnCluster(n_workers=workers, worker_memory="1 GiB", env=env,
                         hadoop_conf_dir=mc.conf_dir, app_name="knit-demo") as cluster, \
                Client(cluster) as client:
            cluster.wait_for_workers(workers, timeout=300)
            results["workers_join_seconds"] = time.monotonic() - t
            results["dashboard"] = cluster.dashboard_link
            click.echo(f"{workers} workers joined in {results['workers_join_seconds']:.1f} s "
                       f"(YARN application {cluster.application_id}); dashboard: "
                       f"{cluster.dashboard_link}")

            x = da.random.RandomState(42).random_sample((20_000, 2_000), chunks=(2_000, 2_000))
            results["array_mean"] = float(x.mean().compute())
            click.echo(f"dask.array: mean of 40 million uniform numbers = "
                       f"{results['array_mean']:.5f} (expected about 0.5)")

            # Generated on the workers and written to HDFS (hdfs-native, no JVM), then
            # read back from there: the real job of Dask on a Hadoop cluster.
            values = da.arange(1_000_000, chunks=125_000).astype("float64")
            generated = dd.from_dask_array(da.stack([values % 10, values], axis=1),
                                           columns=["key", "value"])
            table = f"{mc.default_fs}/user/{getpass.getuser()}/knit-demo/table"
            t = time.monotonic()
            generated.to_parquet(table)
            ddf = dd.read_parquet(table)
            results["hdfs_table"] = table
            click.echo(f"wrote 1 million rows to {table} from the workers "
                       f"({time.monotonic() - t:.1f} s), and read them back from HDFS")
            grouped = ddf.groupby("key")["value"].sum().compute().sort_index()
            local = np.arange(1_000_000, dtype="float64")
            expected = pd.Series(local).groupby(local % 10).sum()
            results["groupby_ok"] = bool(np.allclose(grouped.to_numpy(), expected.to_numpy()))
            click.echo(f"dask.dataframe: groupby-sum over 1 million rows on the workers "
                       f"{'matches' if results['groupby_ok'] else 'DOES NOT MATCH'} pandas")
            ran_on = client.run(lambda: __import__("os").environ["CONTAINER_ID"])
            click.echo("workers ran in containers: " + ", ".join(sorted(ran_on.values())))
    results["total_seconds"] = time.monotonic() - began
    click.echo(f"All torn down; total {results['total_seconds']:.1f} s.")
    return results
