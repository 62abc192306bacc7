"""Reading a dataset from HDFS into Dask workers on YARN: hdfs:// (hdfs-native, knit's way)
against webhdfs:// (fsspec's WebHDFS, the fallback), the same files, the same run.

An embedded cluster (one JVM: NameNode, DataNode, ResourceManager, 2 NodeManagers), a
``YarnCluster`` of 4 workers (1 vcore and 2 GiB each). The workers write a dataset of at
least --mib MiB (random float64 columns, so Parquet cannot compress it) as Parquet and
as CSV. Each read loads every partition into the workers and counts its rows
(``dd.read_parquet(url).map_partitions(len).compute()``, the same for ``read_csv``):
the bytes read from HDFS are the dataset's size on HDFS; throughput = size / time.
--runs runs of each, alternating which goes first; medians. Goal: hdfs:// at least 2x
webhdfs:// for Parquet and CSV. A third read, ``csv_bytes``, fetches the CSV files' bytes
in read_csv's blocks without parsing them: the transport's share of the CSV read.

Run: .venv/bin/python benchmarks/hdfs_io.py [--mib 512] [--runs 3]
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

import dask.array as da
import dask.dataframe as dd
import fsspec
from distributed import Client

from knit import MiniCluster
from knit.dask import YarnCluster

RESULTS = Path(__file__).resolve().parent / "results" / "hdfs_io.json"
COLUMNS = 4


def dataset(workers_mib: int, partitions: int) -> dd.DataFrame:
    """Random float64 columns of about `workers_mib` MiB, made on the workers."""
    rows = workers_mib * 2**20 // (8 * COLUMNS)
    x = da.random.RandomState(7).random_sample((rows, COLUMNS), chunks=(rows // partitions, COLUMNS))
    return dd.from_dask_array(x, columns=[f"c{i}" for i in range(COLUMNS)])


def csv_bytes(url: str, **options):
    """The CSV files' bytes alone, in the blocks read_csv reads (64 MiB), no parsing: the
    transport's share of a CSV read."""
    import dask
    from dask.bytes import read_bytes
    _, blocks = read_bytes(url, delimiter=b"\n", blocksize=64 * 2**20, **options)
    sizes = [dask.delayed(len)(b) for file_blocks in blocks for b in file_blocks]
    return dd.from_delayed([dask.delayed(lambda n: __import__("pandas").DataFrame({"n": [n]}))(x)
                            for x in sizes], meta={"n": "int64"})


def timed_read(reader, url: str, **options) -> tuple[float, int]:
    started = time.monotonic()
    rows = int(reader(url, **options).map_partitions(len).compute().sum())
    return time.monotonic() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=512, help="Parquet dataset size (MiB).")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.WARNING)
    user = getpass.getuser()
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=6144) as mc:
        os.environ["HADOOP_CONF_DIR"] = mc.conf_dir
        web = urlparse(mc.webhdfs_url)
        base = f"/user/{user}/hdfs-io"
        hdfs_url = f"{mc.default_fs}{base}"
        webhdfs_url = f"webhdfs://{web.hostname}:{web.port}{base}"
        with YarnCluster(n_workers=4, worker_memory="2 GiB", hadoop_conf_dir=mc.conf_dir,
                         progress=False) as cluster, Client(cluster) as client:
            client.wait_for_workers(4, timeout=300)
            frame = dataset(args.mib, partitions=16)
            frame.to_parquet(f"{hdfs_url}/parquet")
            frame.partitions[: 16 // 2].to_csv(f"{hdfs_url}/csv/part-*.csv", index=False)
            fs = fsspec.filesystem("hdfs")
            sizes = {kind: fs.du(f"{base}/{kind}") for kind in ("parquet", "csv")}
            readers = {"parquet": dd.read_parquet, "csv": dd.read_csv, "csv_bytes": csv_bytes}
            results: dict = {"dataset_bytes": sizes, "workers": 4, "runs": args.runs,
                             "hadoop": mc.hadoop_version}
            for kind, reader in readers.items():
                times: dict[str, list[float]] = {"hdfs": [], "webhdfs": []}
                for run in range(args.runs):
                    order = ["hdfs", "webhdfs"] if run % 2 == 0 else ["webhdfs", "hdfs"]
                    for scheme in order:
                        folder = "csv" if kind.startswith("csv") else kind
                        files = f"/{folder}" + ("/*.csv" if folder == "csv" else "")
                        if scheme == "hdfs":
                            took, rows = timed_read(reader, hdfs_url + files)
                        else:
                            took, rows = timed_read(reader, webhdfs_url + files,
                                                    storage_options={"user": user})
                        times[scheme].append(took)
                        size = sizes[folder]
                        print(f"{kind} {scheme:8s} run {run + 1}: {took:6.2f} s, {rows} rows, "
                              f"{size / 2**20 / took:6.1f} MiB/s", flush=True)
                medians = {s: statistics.median(t) for s, t in times.items()}
                results[kind] = {
                    "seconds": times, "median_seconds": medians,
                    "median_mib_per_s": {s: size / 2**20 / m for s, m in medians.items()},
                    "ratio_hdfs_over_webhdfs": medians["webhdfs"] / medians["hdfs"],
                }
            fs.rm(base, recursive=True)
    ratio = results["parquet"]["ratio_hdfs_over_webhdfs"]
    csv_ratio = results["csv"]["ratio_hdfs_over_webhdfs"]
    results["goal"] = {"hdfs_at_least_2x_webhdfs_parquet": ratio >= 2.0,
                       "hdfs_at_least_2x_webhdfs_csv": csv_ratio >= 2.0}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for kind in readers:
        r = results[kind]["median_mib_per_s"]
        print(f"{kind}: hdfs:// {r['hdfs']:.1f} MiB/s, webhdfs:// {r['webhdfs']:.1f} MiB/s, "
              f"ratio {results[kind]['ratio_hdfs_over_webhdfs']:.2f}")
    print(f"goal (Parquet, hdfs:// >= 2x webhdfs://): {'PASS' if ratio >= 2.0 else 'FAIL'} "
          f"({ratio:.2f}x)")
    print(f"goal (CSV, hdfs:// >= 2x webhdfs://): {'PASS' if csv_ratio >= 2.0 else 'FAIL'} "
          f"({csv_ratio:.2f}x); saved {RESULTS}")


if __name__ == "__main__":
    main()
