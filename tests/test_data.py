"""Data on HDFS from Dask on YARN: hdfs:// paths on the client and in the workers, through
hdfs-native (no JVM, no libhdfs), with the configuration knit ships to the containers."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("hdfs_native")
pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")

import dask.bag as db  # noqa: E402
import fsspec  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, wait  # noqa: E402

from knit import Knit  # noqa: E402
from knit.dask import YarnCluster  # noqa: E402


@pytest.fixture
def hdfs_client_conf(minicluster, monkeypatch):
    """The client's HADOOP_CONF_DIR, as a user on an edge node has it."""
    monkeypatch.setenv("HADOOP_CONF_DIR", minicluster.conf_dir)
    fsspec.get_filesystem_class("hdfs").clear_instance_cache()  # none made for another conf
    fs = fsspec.filesystem("hdfs", skip_instance_cache=True)
    yield fs


def frame(n: int = 20_000) -> pd.DataFrame:
    return pd.DataFrame({"key": [i % 7 for i in range(n)], "value": range(n),
                         "label": [f"row-{i}" for i in range(n)]})


def test_the_client_reads_and_writes_hdfs_paths(hdfs_client_conf):
    fs = hdfs_client_conf
    assert type(fs).__module__.startswith("hdfs_native")
    with fs.open("/user/data-test/hello.txt", "wb") as f:
        f.write(b"hello hdfs\n")
    with fsspec.open("hdfs:///user/data-test/hello.txt", "rb") as f:
        assert f.read() == b"hello hdfs\n"
    fs.rm("/user/data-test", recursive=True)


def test_workers_read_and_write_parquet_csv_and_bags_on_hdfs(minicluster, hdfs_client_conf):
    fs = hdfs_client_conf
    base = f"{minicluster.default_fs}/user/{os.environ.get('USER', 'root')}/knit-data-test"
    if fs.exists(base):
        fs.rm(base, recursive=True)
    expected = frame()
    dd.from_pandas(expected, npartitions=4).to_parquet(f"{base}/table")  # from the client
    with YarnCluster(n_workers=2, worker_memory="1 GiB", hadoop_conf_dir=minicluster.conf_dir,
                     progress=False) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        table = dd.read_parquet(f"{base}/table")
        sums = table.groupby("key")["value"].sum().compute()
        pd.testing.assert_series_equal(sums.sort_index(), expected.groupby("key")["value"].sum(),
                                       check_names=False)
        # Both workers read: each holds some of the partitions it loaded.
        loaded = client.persist(table)
        wait(loaded)
        holders = {w for ws in client.who_has(loaded).values() for w in ws}
        assert len(holders) == 2
        doubled = table.assign(value=table["value"] * 2)
        doubled.to_parquet(f"{base}/doubled")
        doubled.to_csv(f"{base}/csv/part-*.csv", index=False)
        again = dd.read_parquet(f"{base}/doubled").compute().sort_values("value")
        assert again["value"].tolist() == [2 * v for v in expected["value"]]
        csv = dd.read_csv(f"{base}/csv/part-*.csv").compute()
        assert len(csv) == len(expected) and csv["value"].sum() == 2 * expected["value"].sum()
        lines = db.read_text(f"{base}/csv/part-*.csv").filter(lambda line: line.rstrip().endswith(",row-3"))
        assert lines.count().compute() == 1

        def listing(path):  # in a worker, with HADOOP_CONF_DIR as knit set it
            import fsspec as worker_fsspec
            import os as worker_os
            return (worker_os.environ.get("HADOOP_CONF_DIR", ""),
                    sorted(p.rsplit("/", 1)[-1] for p in worker_fsspec.filesystem("hdfs").ls(path, detail=False)))
        conf_dir, names = client.submit(listing, base.replace(minicluster.default_fs, "")).result()
        assert conf_dir.endswith("/knit-hadoop-conf")
        assert names == ["csv", "doubled", "table"]
    fs.rm(base, recursive=True)


def test_a_plain_application_reads_hdfs_with_the_shipped_configuration(minicluster,
                                                                        hdfs_client_conf):
    hdfs_client_conf.pipe("/tmp/knit-plain-read.txt", b"42\n")
    script = ("import fsspec; print('read', fsspec.open('hdfs:///tmp/knit-plain-read.txt', 'rt')"
              ".open().read().strip())")
    import sys
    with Knit(minicluster.conf_dir) as k:
        k.start(f"{sys.executable} -c \"{script}\"", num_containers=1, memory=512)
        assert k.wait_for_completion(timeout=120) == "SUCCEEDED"
        (files,) = [f for c, f in k.logs().items() if not c.endswith("_000001")]
        assert "read 42" in files["stdout"], files["stderr"][-2000:]




@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    """A Kerberized cluster whose tokens live an hour (test_kerberos's live 20 s)."""
    from test_kerberos import kerberized
    hour = str(3600 * 1000)
    yield from kerberized(tmp_path_factory, config={
        "dfs.namenode.delegation.token.max-lifetime": hour,
        "dfs.namenode.delegation.token.renew-interval": hour})


def test_on_a_kerberized_cluster_workers_use_delegation_tokens_alone(secure, monkeypatch):
    """The client logged in from a ticket cache (kinit); the workers have no keytab and no
    ticket, only the HDFS delegation token knit ships, which hdfs-native reads from
    HADOOP_TOKEN_FILE_LOCATION (knit adds it under the NameNode's host:port as well as
    Hadoop's ip:port, which is how hdfs-native looks it up)."""
    monkeypatch.setenv("HADOOP_CONF_DIR", secure.conf_dir)
    # fsspec caches file systems by their options: one made for `hdfs:///` in an earlier
    # test still points at the other cluster. Full URLs name this one.
    fsspec.get_filesystem_class("hdfs").clear_instance_cache()
    fs = fsspec.filesystem("hdfs", skip_instance_cache=True)
    user = secure.principal.split("@")[0].split("/")[0]
    base = f"{secure.default_fs}/user/{user}/secure-data"
    expected = frame(1000)
    dd.from_pandas(expected, npartitions=2).to_parquet(base)  # with the ticket

    def worker_reads(path):
        import os as worker_os
        import dask.dataframe as worker_dd
        cache = worker_os.environ.get("KRB5CCNAME", f"FILE:/tmp/krb5cc_{worker_os.getuid()}")
        assert not worker_os.path.exists(cache.removeprefix("FILE:")), "a ticket in the worker"
        assert "HADOOP_TOKEN_FILE_LOCATION" in worker_os.environ
        table = worker_dd.read_parquet(path)
        table.assign(value=table["value"] + 1).to_parquet(f"{path}-plus-one")
        return int(table["value"].sum().compute(scheduler="sync"))

    with YarnCluster(n_workers=1, worker_memory="1 GiB", hadoop_conf_dir=secure.conf_dir,
                     progress=False) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        assert client.submit(worker_reads, base, pure=False).result() == expected["value"].sum()
    again = dd.read_parquet(f"{base}-plus-one").compute()  # the client, with its ticket
    assert again["value"].sum() == expected["value"].sum() + len(expected)
    fs.rm(base, recursive=True)
    fs.rm(f"{base}-plus-one", recursive=True)


def test_viewfs_paths_resolve_through_the_shipped_mount_table(minicluster, tmp_path, monkeypatch):
    """A client configuration with a ViewFS mount table: viewfs:// paths work on the client
    and in the workers, which get the same core-site.xml."""
    import shutil
    import xml.etree.ElementTree as ET
    conf = tmp_path / "conf"
    shutil.copytree(minicluster.conf_dir, conf)
    tree = ET.parse(conf / "core-site.xml")
    prop = ET.SubElement(tree.getroot(), "property")
    ET.SubElement(prop, "name").text = "fs.viewfs.mounttable.knitview.link./data"
    ET.SubElement(prop, "value").text = f"{minicluster.default_fs}/tmp/knit-viewfs"
    fallback = ET.SubElement(tree.getroot(), "property")  # hdfs-native wants one
    ET.SubElement(fallback, "name").text = "fs.viewfs.mounttable.knitview.linkFallback"
    ET.SubElement(fallback, "value").text = f"{minicluster.default_fs}/"
    tree.write(conf / "core-site.xml")
    monkeypatch.setenv("HADOOP_CONF_DIR", str(conf))
    fsspec.get_filesystem_class("hdfs").clear_instance_cache()
    dd.from_pandas(frame(500), npartitions=2).to_parquet("viewfs://knitview/data/table")
    with YarnCluster(n_workers=1, worker_memory="1 GiB", hadoop_conf_dir=str(conf),
                     progress=False) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        total = client.submit(lambda: int(__import__("dask.dataframe", fromlist=["x"]).read_parquet(
            "viewfs://knitview/data/table")["value"].sum().compute(scheduler="sync")),
            pure=False).result()
    assert total == sum(range(500))
    assert fsspec.filesystem("hdfs").exists("/tmp/knit-viewfs/table")  # where the link points
    fsspec.filesystem("hdfs").rm("/tmp/knit-viewfs", recursive=True)
