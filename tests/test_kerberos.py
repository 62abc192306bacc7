"""Knit on a Kerberized embedded cluster: MiniKdc, secured HDFS and YARN, SPNEGO on the
ResourceManager's REST API, delegation tokens, and their renewal from a keytab.

The renewal (check_keytab_renewal, 70 s) runs once, in test_kerberos_compat.py, on the
oldest line (Hadoop 3.3.6, Java 11 NodeManagers): the AM's renewal code and the Hadoop APIs
it calls are the same on every line (knit.jar is compiled against 3.3.6)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest
import requests

from helpers import ON_CI, require_java
from helpers import NO_CLASS_ARCHIVE, children_with_arg, pids_with_arg, wait_for
from knit import client_jvm
from knit import (ConfigurationError, InvalidArgumentError, KerberosError, Knit, KnitException,
                  MiniCluster, MissingFileError, java)
from knit.kerberos import Identity

# Delegation tokens die 30 s after they are issued, whatever renews them: long enough for
# short applications (20 s was not, on a loaded 2-core machine: a container running four
# Hadoop client JVMs one after the other outlived it), short enough to outlive in a test.
TOKEN_LIFETIME_MS = 30000


def kerberized(tmp_path_factory, config: dict[str, str] | None = None, **cluster_options):
    """A Kerberized MiniCluster, with KRB5_CONFIG pointing at its KDC and a ticket cache
    of its user (`kinit -kt`) as KRB5CCNAME, while it runs (a generator for fixtures)."""
    require_java()
    if shutil.which("kinit") is None:
        (pytest.fail if ON_CI else pytest.skip)("needs MIT Kerberos' kinit (apt-get install krb5-user)")
    pytest.importorskip("requests_gssapi")
    cluster = MiniCluster(nodemanagers=1, kerberos=True, config={**NO_CLASS_ARCHIVE,
        "dfs.namenode.delegation.token.max-lifetime": str(TOKEN_LIFETIME_MS),
        "dfs.namenode.delegation.token.renew-interval": str(TOKEN_LIFETIME_MS), **(config or {})},
        **cluster_options)
    try:
        cluster.start()
    except KnitException as e:
        (pytest.fail if ON_CI else pytest.skip)(f"the Kerberized cluster did not start: {e}")
    saved = {k: os.environ.get(k) for k in ("KRB5_CONFIG", "KRB5CCNAME")}
    cache = tmp_path_factory.mktemp("krb5") / "ccache"
    os.environ.update(KRB5_CONFIG=cluster.krb5_conf, KRB5CCNAME=f"FILE:{cache}")
    try:
        subprocess.run(["kinit", "-kt", cluster.keytab, cluster.principal], check=True,
                       capture_output=True, timeout=30)
        yield cluster
    finally:
        # The client JVMs of this cluster's identities end with it, not at exit.
        for identity in [i for i in client_jvm._clients if i and i.krb5_config == cluster.krb5_conf]:
            client_jvm.close_client(identity)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cluster.stop()


@pytest.fixture(scope="module")
def secure_cluster(tmp_path_factory):
    """The embedded Kerberized cluster (Hadoop 3.5.0, one JVM) of this module's tests."""
    yield from kerberized(tmp_path_factory)


def hdfs(cluster: MiniCluster, *args: str) -> str:
    """Run `hadoop fs` with the module's ticket cache; returns stdout."""
    run = cluster.run_hadoop_class("org.apache.hadoop.fs.FsShell", *args)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def without_log_lines(text: str) -> str:
    """Hadoop's client in a container logs its native-code warning to stdout."""
    return "".join(line for line in text.splitlines(True) if " WARN " not in line)


def fs_shell(cluster: MiniCluster) -> tuple[str, dict[str, str]]:
    """A `hadoop fs` for containers: they run on this machine, with the cluster's jars."""
    cp = os.pathsep.join(java.cluster_classpath(cluster.hadoop_version))
    return '"$JAVA_HOME/bin/java" -cp "$HADOOP_CONF_DIR:$CP" org.apache.hadoop.fs.FsShell', {"CP": cp}


def test_without_a_ticket_knit_fails_at_once_saying_what_to_do(secure_cluster, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'empty-cache'}")
    jvms = set(children_with_arg("knit.client.ClientMain"))
    started = time.monotonic()
    with pytest.raises(KerberosError) as caught:
        Knit(secure_cluster.conf_dir)
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "kinit" in message and "keytab" in message and "Kerberos" in message
    # The JVM that tried is gone (Hadoop would cache its failed login).
    assert set(children_with_arg("knit.client.ClientMain")) <= jvms


def test_kerberos_arguments_are_checked(secure_cluster, minicluster, tmp_path):
    keytab = tmp_path / "user.keytab"
    keytab.write_bytes(b"")
    with pytest.raises(InvalidArgumentError, match="together"):
        Knit(secure_cluster.conf_dir, principal=secure_cluster.principal)
    with pytest.raises(MissingFileError, match="keytab"):
        Knit(secure_cluster.conf_dir, principal=secure_cluster.principal,
             keytab=tmp_path / "missing.keytab")
    with pytest.raises(KerberosError, match="keytab"):  # not a keytab of that principal
        Knit(secure_cluster.conf_dir, principal=secure_cluster.principal, keytab=keytab)
    with pytest.raises(ConfigurationError, match="does not use Kerberos"):
        Knit(minicluster.conf_dir, principal="someone@EXAMPLE.COM", keytab=keytab)


def test_rest_api_needs_spnego_and_knit_speaks_it(secure_cluster):
    url = f"{secure_cluster.resourcemanager_web}/ws/v1/cluster/info"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"user.name": "root"}, timeout=10).status_code == 401
    answer = requests.get(url, auth=Identity.from_arguments(None, None).http_auth(), timeout=10)
    assert answer.status_code == 200 and answer.json()["clusterInfo"]["state"] == "STARTED"


def test_with_a_ticket_cache_containers_read_and_write_hdfs(secure_cluster, tmp_path):
    user = secure_cluster.principal.split("@")[0]
    source = tmp_path / "hello.txt"
    source.write_text("hello from a Kerberized HDFS\n")
    hdfs(secure_cluster, "-put", "-f", str(source), f"/user/{user}/hello.txt")
    shell, envvars = fs_shell(secure_cluster)
    with Knit(secure_cluster.conf_dir) as k:  # start() checks the cluster over SPNEGO REST
        dtutil = shell.replace("org.apache.hadoop.fs.FsShell", "org.apache.hadoop.security.token.DtUtilShell")
        # Two JVMs at a time, not four in a row: each takes seconds to start here.
        k.start(f"{shell} -cat /user/{user}/hello.txt | {shell} -put -f - /user/{user}/copy-$CONTAINER_ID.txt && "
                f'{dtutil} print "$HADOOP_TOKEN_FILE_LOCATION" | '
                f"{shell} -put -f - /user/{user}/tokens-$CONTAINER_ID.txt",
                num_containers=2, memory=512, envvars=envvars)
        assert k.wait_for_completion(timeout=120) == "SUCCEEDED", k.status()["diagnostics"]
        containers = [c["id"] for c in k.get_containers()]
    for cid in containers:
        copy = hdfs(secure_cluster, "-cat", f"/user/{user}/copy-{cid}.txt")
        assert without_log_lines(copy) == source.read_text()
        # The client's delegation tokens reached the container; the AM's own did not.
        tokens = hdfs(secure_cluster, "-cat", f"/user/{user}/tokens-{cid}.txt")
        assert "HDFS_DELEGATION_TOKEN" in tokens and "RM_DELEGATION_TOKEN" in tokens, tokens
        assert "YARN_AM_RM_TOKEN" not in tokens


def check_keytab_renewal(secure_cluster: MiniCluster, tmp_path) -> None:
    """Two applications read HDFS every second for 1.75 token lifetimes: the one started
    with a keytab gets new tokens from its AM and succeeds; the one started from the
    ticket cache (tokens the ResourceManager cannot renew past their end) fails, says that
    its tokens expired, and is not replaced by containers that would get the same tokens.
    (Hadoop's own client: hdfs-native skips tokens within a minute of their end, so 20 s
    tokens are never used by it; see test_a_ticket_cache_container_past_its_tokens_...)"""
    user = secure_cluster.principal.split("@")[0]
    source = tmp_path / "data.txt"
    source.write_text("still readable\n")
    hdfs(secure_cluster, "-put", "-f", str(source), f"/user/{user}/data.txt")
    shell, envvars = fs_shell(secure_cluster)
    seconds = int(TOKEN_LIFETIME_MS / 1000 * 1.75)
    reader = (f"start=$(date +%s); n=0; while [ $(( $(date +%s) - start )) -lt {seconds} ]; do "
              f"{shell} -cat /user/{user}/data.txt > got || exit 3; n=$((n+1)); sleep 1; done; "
              f'echo "$n reads in $(( $(date +%s) - start )) s" >> got && '
              f"{shell} -put -f got /user/{user}/renewed-$CONTAINER_ID.txt || exit 4")
    renewing = Knit(secure_cluster.conf_dir, principal=secure_cluster.principal,
                    keytab=secure_cluster.keytab)
    plain = Knit(secure_cluster.conf_dir)
    try:
        renewing.start(reader, memory=512, envvars=envvars, app_name="renewing")
        plain.start(reader, memory=512, envvars=envvars, app_name="not-renewing", max_restarts=2)
        assert plain.wait_for_completion(timeout=180) == "FAILED"
        diagnostics = plain.status()["diagnostics"]  # the read after the expiry
        assert "status 3" in diagnostics and "delegation tokens expire at" in diagnostics, diagnostics
        # Not replaced: it would get the same tokens. (Asked first: the AM that ends first
        # keeps its final list only for a while.)
        (failed,) = plain.get_containers()
        assert "delegation tokens expire at" in failed.diagnostics
        assert renewing.wait_for_completion(timeout=180) == "SUCCEEDED", \
            renewing.status()["diagnostics"]
        (container,) = renewing.get_containers()
        got = without_log_lines(
            hdfs(secure_cluster, "-cat", f"/user/{user}/renewed-{container['id']}.txt"))
        reads, _, rest = got.splitlines()[-1].partition(" reads in ")
        assert got.startswith("still readable") and int(rest.split()[0]) >= seconds
        assert int(reads) >= 5
        # The token updaters ended with their containers.
        wait_for(lambda: not pids_with_arg("knit.container.TokenUpdater"), 30,
                 "the containers' token updaters to exit")
    finally:
        renewing.kill()
        plain.kill()


def test_a_ticket_cache_container_past_its_tokens_lifetime_is_told_so(tmp_path_factory):
    """hdfs-native in a container of an application started from a ticket cache: it reads
    with the delegation token while the token is good, then fails with GSS's "No Kerberos
    credentials", which says nothing of tokens; knit's words for the container say that
    the tokens expired and what to do, and no replacement is started with the same tokens.
    Tokens of 80 s: hdfs-native uses a token until a minute before its end."""
    import contextlib
    pytest.importorskip("hdfs_native")
    lifetime = str(80_000)
    with contextlib.contextmanager(kerberized)(tmp_path_factory, config={
            "dfs.namenode.delegation.token.max-lifetime": lifetime,
            "dfs.namenode.delegation.token.renew-interval": lifetime}) as cluster:
        user = cluster.principal.split("@")[0].split("/")[0]
        marker = f"/user/{user}/first-read"
        # A new client for each read, as a new worker process would be: an open
        # connection authenticated once stays usable past the token's end.
        read = f"import fsspec; fsspec.filesystem('hdfs').pipe('{marker}', b'read with the token')"
        with Knit(cluster.conf_dir) as k:
            k.start(f"while {sys.executable} -c {shlex.quote(read)}; do sleep 1; done; exit 5",
                    memory=512, max_restarts=2)
            assert k.wait_for_completion(timeout=150) == "FAILED"
            (failed,) = k.get_containers()
            assert "status 5" in failed.diagnostics, failed.diagnostics
            assert "delegation tokens expire at" in failed.diagnostics
            assert "keytab" in k.status()["diagnostics"]
        assert "read with the token" in hdfs(cluster, "-cat", marker)  # worked at first


def test_yarn_cluster_runs_dask_workers_on_a_kerberized_cluster(secure_cluster):
    distributed = pytest.importorskip("distributed")
    from knit.dask import YarnCluster

    with YarnCluster(n_workers=2, worker_memory="1 GiB", hadoop_conf_dir=secure_cluster.conf_dir,
                     principal=secure_cluster.principal, keytab=secure_cluster.keytab) as cluster:
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            assert client.submit(sum, range(10)).result(timeout=60) == 45
    assert cluster.knit.status()["state"] in ("KILLED", "FINISHED")
