"""Proxy users: a service logged in as itself acts as alice and bob (Hadoop's proxy-user
mechanism), as dask-gateway's backend does. The applications, staging dirs, HDFS files
and delegation tokens are the users'; one user cannot reach another's application; a user
the cluster does not allow is refused with the setting to change; a Kerberized service's
own login renews itself from its keytab, over tickets that live seconds; and dask-gateway
with knit's backend serves alice on that Kerberized bed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from helpers import hdfs_status, wait_for
from knit import ClusterClient, Knit, KnitException, PermissionDeniedError, client_jvm
from test_kerberos import kerberized

# A container writes one file to its user's HDFS home, as whoever HDFS takes it for
# (hdfs-native: HADOOP_USER_NAME without Kerberos, the delegation tokens with).
WRITE_HOME = (f"{sys.executable} -c \"import os; from hdfs_native import Client; "
              "w = Client().create('/user/' + os.environ['USER'] + '/out-' + os.environ['CONTAINER_ID']); "
              "w.write(b'hi'); w.close()\"")


def knit_cli(mc, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knit", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, HADOOP_CONF_DIR=mc.conf_dir))


def written_by_containers(mc, app, user: str) -> list[str]:
    """The paths the app's worker containers wrote to `user`'s home."""
    return [f"/user/{user}/out-{c.id}" for c in app.get_containers() if not c.id.endswith("_000001")]


def secure_owner(mc, path: str) -> str:
    """The owner of `path` on a Kerberized MiniCluster (FsShell, with a fresh ticket of
    its user: the bed's tickets live seconds)."""
    subprocess.run(["kinit", "-kt", mc.keytab, mc.principal], check=True, capture_output=True,
                   timeout=30)
    run = mc.run_hadoop_class("org.apache.hadoop.fs.FsShell", "-stat", "%u", path)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip().splitlines()[-1]


def test_a_service_acts_as_alice_and_bob_and_each_sees_only_their_own(minicluster):
    mc = minicluster
    alice = Knit(mc.conf_dir, proxy_user="alice")
    assert alice.user == "alice"
    alice.start(WRITE_HOME, num_containers=1, memory=256, keep_alive=True)
    try:
        assert alice.status().user == "alice"  # the user YARN shows
        wait_for(lambda: alice.get_containers() and all(
            c.state == "COMPLETED" for c in alice.get_containers() if not c.id.endswith("_000001")),
            60, "alice's container to finish")
        [written] = [hdfs_status(mc, p) for p in written_by_containers(mc, alice.app, "alice")]
        assert written is not None and written["owner"] == "alice"
        staging = hdfs_status(mc, f"/user/alice/.knit/{alice.app_id}")
        assert (staging["owner"], staging["permission"]) == ("alice", "700")

        # Bob, through the same service, neither lists nor reaches alice's application.
        bob = ClusterClient(mc.conf_dir, proxy_user="bob")
        assert alice.app_id not in [a["app_id"] for a in bob.applications()]
        with pytest.raises(KnitException):
            bob.connect(alice.app_id, timeout=10)

        # The command line acts as the user it is told to.
        shown = knit_cli(mc, "--proxy-user", "alice", "status", alice.app_id, "--json")
        assert shown.returncode == 0, shown.stderr
        shown = json.loads(shown.stdout)
        assert shown["report"]["user"] == "alice"
        assert shown["containers"]  # read through alice's private staging dir: as alice
    finally:
        alice.kill()
    assert alice.status().final_status in ("SUCCEEDED", "KILLED")
    wait_for(lambda: hdfs_status(mc, f"/user/alice/.knit/{alice.app_id}") is None, 30,
             "alice's staging dir to go")


def test_a_user_the_cluster_does_not_allow_is_refused_with_the_setting_to_change(minicluster):
    before = {a["app_id"] for a in ClusterClient(minicluster.conf_dir).applications(include_finished=True)}
    with pytest.raises(PermissionDeniedError, match=r"hadoop\.proxyuser\.\w+\.users"):
        Knit(minicluster.conf_dir, proxy_user="mallory")
    refused = knit_cli(minicluster, "--proxy-user", "mallory", "ls")
    assert refused.returncode == 5 and "hadoop.proxyuser" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    with pytest.raises(KnitException, match="proxy_user must be a user name"):
        Knit(minicluster.conf_dir, proxy_user="alice; rm -rf /")
    after = {a["app_id"] for a in ClusterClient(minicluster.conf_dir).applications(include_finished=True)}
    assert after == before  # nothing was submitted


def test_a_dask_cluster_for_bob(minicluster):
    pytest.importorskip("distributed")
    from distributed import Client

    from knit.dask import YarnCluster
    with YarnCluster(n_workers=1, worker_memory=512, proxy_user="bob",
                     hadoop_conf_dir=minicluster.conf_dir, progress=False) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)
            assert client.submit(sum, range(10)).result(timeout=60) == 45
            assert client.run(lambda: __import__("os").environ["HADOOP_USER_NAME"]) \
                and set(client.run(lambda: __import__("os").environ["HADOOP_USER_NAME"]).values()) == {"bob"}
        assert cluster.knit.status().user == "bob"


# Tickets of the Kerberized bed's KDC live this long (s); the calls below go on for several.
TICKET_LIFETIME_S = 10
RELOGIN = {"hadoop.kerberos.min.seconds.before.relogin": "1"}


@pytest.fixture(scope="module")
def short_tickets(tmp_path_factory):
    # Delegation tokens as long-lived as clusters make them: this bed is about tickets.
    tokens = {f"dfs.namenode.delegation.token.{k}": str(24 * 3600 * 1000)
              for k in ("max-lifetime", "renew-interval")}
    yield from kerberized(tmp_path_factory, config={**RELOGIN, **tokens}, proxy_users=["alice"],
                          ticket_lifetime=TICKET_LIFETIME_S)


def test_a_kerberized_service_acts_as_alice_and_renews_its_own_login(short_tickets, caplog):
    """The service logs in from its keytab (not the ticket cache); alice's application
    gets alice's delegation tokens and no keytab; over four ticket lifetimes of calls, the
    service's login (JVM) and its SPNEGO ticket (Python) renew themselves."""
    mc = short_tickets
    caplog.set_level("INFO", logger="knit.kerberos")
    service = ClusterClient(mc.conf_dir, principal=mc.principal, keytab=mc.keytab,
                            proxy_user="alice", **RELOGIN)
    app = service.start(WRITE_HOME, num_containers=1, memory=256)
    assert app.wait_for_completion(timeout=120) == "SUCCEEDED", app.status().diagnostics
    assert app.status().user == "alice"
    [written] = written_by_containers(mc, app, "alice")
    assert secure_owner(mc, written) == "alice"

    deadline = time.monotonic() + 4 * TICKET_LIFETIME_S
    calls = 0
    while time.monotonic() < deadline:
        assert app.status().state == "FINISHED"          # RPC, as alice
        assert app.app_id in [a["app_id"] for a in service.applications(include_finished=True)]  # REST
        calls += 1
        time.sleep(1)
    jvm_log = client_jvm.get_client(service.identity).log_tail(400)
    jvm_renewals = [line for line in jvm_log.splitlines() if "was renewed from its keytab" in line]
    spnego_renewals = [r for r in caplog.records if "Renewing the Kerberos ticket" in r.getMessage()]
    assert len(jvm_renewals) >= 3, jvm_log[-3000:]
    assert len(spnego_renewals) >= 3
    print(f"{calls} calls over {4 * TICKET_LIFETIME_S} s; {len(jvm_renewals)} renewals of the "
          f"JVM's login, {len(spnego_renewals)} of the SPNEGO ticket")


# dask-gateway's Gateway.__del__ closes a client closed already, and its loop is gone.
@pytest.mark.filterwarnings(
    r"ignore:Exception ignored in.*Gateway\.__del__:pytest.PytestUnraisableExceptionWarning")
def test_a_kerberized_gateway_serves_alice_with_her_tokens_alone(short_tickets, tmp_path):
    """dask-gateway with knit's backend, its service logged in from a keytab (tickets of
    seconds, so it renews meanwhile): alice's cluster is her YARN application, and her
    workers write and read her HDFS files with her delegation tokens; no keytab and no
    ticket reach her containers."""
    pytest.importorskip("dask_gateway")
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from test_gateway import GatewayServer
    # Defined here, so that they are pickled by value: the workers cannot import tests.
    def _write_csv(path: str, frame) -> None:
        import fsspec
        with fsspec.open(path, "w") as f:
            frame.to_csv(f, index=False)

    def _read_csv(path: str):
        import fsspec
        import pandas as pd
        with fsspec.open(path) as f:
            return pd.read_csv(f)

    mc = short_tickets
    server = GatewayServer(tmp_path, mc.conf_dir)
    server.start(more_config=f"c.KnitBackend.principal = {mc.principal!r}\n"
                             f"c.KnitBackend.keytab = {mc.keytab!r}\n")
    frame = pd.DataFrame({"key": [i % 7 for i in range(700)], "value": range(700)})
    try:
        with server.gateway("alice") as gateway:
            cluster = gateway.new_cluster()
            try:
                cluster.scale(2)
                with cluster.get_client() as client:
                    client.wait_for_workers(2, timeout=180)
                    # Longer than a ticket: the work outlives the service's tickets.
                    time.sleep(TICKET_LIFETIME_S)
                    # HDFS is reached from the workers alone: this process has no
                    # credentials of alice's (a client listing files would need them).
                    paths = [f"{mc.default_fs}/user/alice/kerberized-{i}.csv" for i in range(2)]
                    parts = [frame.iloc[i::2] for i in range(2)]
                    client.gather(client.map(_write_csv, paths, parts))
                    sums = dd.from_delayed([dask.delayed(_read_csv)(p) for p in paths],
                                           meta=frame.head(0))
                    sums = sums.groupby("key")["value"].sum().compute()
                    pd.testing.assert_series_equal(sums.sort_index(),
                                                   frame.groupby("key")["value"].sum())
                    credentials = client.run(lambda: sorted(
                        k for k in __import__("os").environ if k.startswith(("KRB5", "HADOOP_TOKEN"))))
                    assert all(c == ["HADOOP_TOKEN_FILE_LOCATION"] for c in credentials.values()), credentials
                name = cluster.name
            finally:
                cluster.shutdown()
        as_alice = ClusterClient(mc.conf_dir, principal=mc.principal, keytab=mc.keytab,
                                 proxy_user="alice", **RELOGIN)
        assert [a for a in as_alice.applications(include_finished=True)
                if a["name"] == f"dask-gateway-{name}"], "alice's application"
        assert secure_owner(mc, "/user/alice/kerberized-0.csv") == "alice"
        assert "knit.keytab" not in subprocess.run(
            ["find", mc.work_dir, "-name", "knit.keytab"], capture_output=True, text=True).stdout
    finally:
        server.stop()
