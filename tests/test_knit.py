"""Knit against the embedded cluster: real ApplicationMasters, real containers."""
from __future__ import annotations

import getpass
import io
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests
from py4j.java_gateway import GatewayParameters, JavaGateway
from py4j.protocol import Py4JError

from helpers import cwd_of, wait_for
from knit import Knit
from knit.exceptions import InvalidArgumentError
from knit._procfs import processes_under
from knit.client_jvm import get_client


@pytest.fixture
def knit(minicluster):
    """A Knit on the embedded cluster whose application is killed after the test."""
    k = Knit(minicluster.conf_dir)
    yield k
    k.kill()


def worker_logs(k: Knit) -> dict[str, dict[str, str]]:
    """Logs of the worker containers (the AM's own container is left out)."""
    am_suffix = "_000001"
    return {c: f for c, f in k.logs().items() if not c.endswith(am_suffix)}


def running(k: Knit) -> list[dict]:
    return [c for c in k.get_containers() if c["state"] == "RUNNING"]


def hdfs_status(minicluster, path: str) -> dict | None:
    r = requests.get(minicluster.webhdfs_url + path,
                     params={"op": "GETFILESTATUS", "user.name": getpass.getuser()}, timeout=10)
    return r.json()["FileStatus"] if r.status_code == 200 else None


def test_three_containers_echo_their_container_id(knit):
    app_id = knit.start("echo hello from $CONTAINER_ID", num_containers=3, memory=256)
    assert app_id.startswith("application_")
    assert knit.wait_for_completion(timeout=120) == "SUCCEEDED"
    containers = knit.get_containers()
    assert len(containers) == 3  # never more than asked
    assert {c["outcome"] for c in containers} == {"SUCCEEDED"}
    assert {c["exit_status"] for c in containers} == {0}
    logs = worker_logs(knit)
    assert set(logs) == {c["id"] for c in containers}
    for container_id, files in logs.items():
        assert files.get("stdout") == f"hello from {container_id}\n", logs
    assert knit.status()["final_status"] == "SUCCEEDED"


def test_failing_command_fails_the_application_with_its_exit_status(knit):
    knit.start("echo about to fail >&2; exit 3", num_containers=2, memory=256)
    assert knit.wait_for_completion(timeout=120) == "FAILED"
    containers = knit.get_containers()
    assert [c["exit_status"] for c in containers] == [3, 3], (containers, knit.status(),
                                                               knit.logs())
    assert {c["outcome"] for c in containers} == {"FAILED"}
    assert "exited with status 3" in containers[0]["diagnostics"]
    assert "exited with status 3" in knit.status()["diagnostics"]
    assert all(f["stderr"] == "about to fail\n" for f in worker_logs(knit).values())


def test_bash_semantics_and_environment_variables(knit):
    cmd = """echo "two  spaces" && echo 'single "double" inside' && echo $GREETING-$((6*7)) \
&& test -n "$CONTAINER_ID" && echo "$NM_HOST" | grep -q . && echo ok"""
    knit.start(cmd, num_containers=1, memory=256,
               envvars={"GREETING": "hi there; $(not run)"})
    assert knit.wait_for_completion(timeout=120) == "SUCCEEDED", worker_logs(knit)
    (files,) = worker_logs(knit).values()
    assert files["stdout"] == ('two  spaces\nsingle "double" inside\n'
                               'hi there; $(not run)-42\nok\n')


def test_files_and_archives_are_visible_in_the_container(knit, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("plain file\n")
    tgz = tmp_path / "pkg.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        payload = b"from the tarball\n"
        info = tarfile.TarInfo("inner/hello.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    zipped = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("inside.txt", "from the zip\n")
    knit.start("cat data.txt pkg.tar.gz/inner/hello.txt bundle.zip/inside.txt",
               num_containers=1, memory=256, files=[data, str(tgz), zipped])
    assert knit.wait_for_completion(timeout=120) == "SUCCEEDED", worker_logs(knit)
    (files,) = worker_logs(knit).values()
    assert files["stdout"] == "plain file\nfrom the tarball\nfrom the zip\n"


def test_add_and_remove_containers(knit):
    knit.start("echo up; sleep 600", num_containers=1, memory=256)
    wait_for(lambda: len(running(knit)) == 1, 60, "the first container")
    knit.add_containers(2)
    live = wait_for(lambda: (r := running(knit)) and len(r) == 3 and r, 60, "3 containers")
    # YARN rounds sizes up to its minimum allocation (1024 MB by default).
    assert all(c["memory_mb"] >= 256 for c in live)
    victim = live[0]["id"]
    knit.remove_containers(victim)
    wait_for(lambda: len(running(knit)) == 2, 60, "2 containers after the removal")
    removed = next(c for c in knit.get_containers() if c["id"] == victim)
    assert (removed["state"], removed["outcome"]) == ("COMPLETED", "RELEASED")
    assert knit.status()["state"] == "RUNNING"  # a removal is not a failure or an end
    logs = knit.logs()  # from the NodeManagers while running
    assert all(logs[c["id"]]["stdout"] == "up\n" for c in running(knit))
    (am,) = [c for c in logs if c.endswith("_01_000001")]  # the AM's own, as aggregated
    assert "Registered attempt 1" in logs[am]["stderr"]
    with pytest.raises(Exception, match="Not running containers"):
        knit.remove_containers("container_1_0001_01_999999")


def test_kill_ends_the_application_and_every_process(knit, minicluster):
    app_id = knit.start("sleep 600", num_containers=2, memory=256)
    wait_for(lambda: len(running(knit)) == 2, 60, "2 sleeping containers")
    staging = f"/user/{getpass.getuser()}/.knit/{app_id}"
    assert hdfs_status(minicluster, staging)["permission"] == "700"

    def app_processes() -> list[int]:
        return [p for p in processes_under(minicluster.work_dir) if app_id in cwd_of(p)]

    assert len(app_processes()) >= 3  # the AM and two containers
    knit.kill()
    assert (knit.status().state, knit.status().final_status) == ("FINISHED", "SUCCEEDED")
    # YARN ended them before the AM finished, not when its container ends later.
    assert [(c["state"], c["outcome"]) for c in knit.get_containers()] == \
        [("COMPLETED", "RELEASED")] * 2
    wait_for(lambda: not app_processes(), 30, "the application's processes to end")
    assert hdfs_status(minicluster, staging) is None
    knit.kill()  # idempotent


def test_am_gateway_is_tls_pinned_and_refuses_connections_without_the_token(knit):
    import ssl

    from knit._tls import new_certificate, pinned_context
    knit.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
    report = knit.status()
    host, port = report["am_host"], report["am_port"]
    # The channel is TLS 1.3, and the AM presents the certificate this client made.
    with socket.create_connection((host, port), timeout=10) as raw, \
            pinned_context(knit.app._tls_cert).wrap_socket(raw) as tls:
        assert tls.version() == "TLSv1.3"
        assert ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True)).strip() == \
            knit.app._tls_cert.strip()
    # Right certificate, no token or a wrong one: refused.
    for token in (None, "not-the-token-" + "x" * 32):
        gateway = JavaGateway(gateway_parameters=GatewayParameters(
            address=host, port=port, auth_token=token, enable_memory_management=False,
            ssl_context=pinned_context(knit.app._tls_cert)))
        with pytest.raises(Py4JError):
            gateway.entry_point.containers()
        gateway.close()
    # A client pinned to another certificate refuses this AM (no token is ever sent).
    with socket.create_connection((host, port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            pinned_context(new_certificate()[0]).wrap_socket(raw)
    # Plain text, even with the right token: refused.
    gateway = JavaGateway(gateway_parameters=GatewayParameters(
        address=host, port=port, auth_token="x" * 43, enable_memory_management=False,
        read_timeout=10))
    with pytest.raises(Py4JError):
        gateway.entry_point.containers()
    gateway.close()
    # A raw Py4J command without the auth handshake gets nothing back.
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"c\nt\ncontainers\ne\n")
        try:
            answer = s.recv(1024)
        except (ConnectionResetError, socket.timeout):
            answer = b""
        assert not answer.startswith(b"!ys")
    # The real client, holding the certificate and the token, still works.
    assert knit.get_containers() == []


def test_two_knits_in_one_process_run_at_once(minicluster):
    with Knit(minicluster.conf_dir) as a, Knit(minicluster.conf_dir) as b:
        first = a.start("sleep 8; echo A", num_containers=1, memory=256, app_name="knit-a")
        second = b.start("sleep 8; echo B", num_containers=1, memory=256, app_name="knit-b")
        assert first != second
        assert a.status()["state"] == b.status()["state"] == "RUNNING"
        assert a.wait_for_completion(120) == b.wait_for_completion(120) == "SUCCEEDED"
        assert [f["stdout"] for f in worker_logs(a).values()] == ["A\n"]
        assert [f["stdout"] for f in worker_logs(b).values()] == ["B\n"]
    assert get_client() is get_client()  # one client JVM for the process


def test_workers_get_neither_the_amrm_token_nor_the_gateway_token(knit, minicluster):
    # Each container greps its own credentials file for the two secrets' names.
    check = ('for s in YARN_AM_RM_TOKEN knit.gateway.token knit.gateway.tls.key; do '
             'grep -c "$s" "$HADOOP_TOKEN_FILE_LOCATION" || true; done; sleep 600')
    app_id = knit.start(check, num_containers=1, memory=256)
    wait_for(lambda: len(running(knit)) == 1, 60, "the worker")
    # Control: the AM's own credentials file, on this machine, does hold all three.
    am_tokens = next(Path(minicluster.work_dir).rglob(
        f"container_{app_id[len('application_'):]}_01_000001/container_tokens"))
    for secret in (b"YARN_AM_RM_TOKEN", b"knit.gateway.token", b"knit.gateway.tls.key"):
        assert secret in am_tokens.read_bytes()
    out = wait_for(lambda: next(iter(worker_logs(knit).values()))["stdout"].split(), 30,
                   "the worker's grep counts")
    assert out == ["0", "0", "0"]


def test_after_an_external_kill_the_handle_shows_it_and_the_staging_dir_goes(minicluster):
    """`yarn application -kill` from outside: the handle says KILLED, lists the containers
    ended, and removes the staging dir the AM had no chance to."""
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=2, memory=256)
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 2, 60,
                 "2 running containers")
        staging = f"/user/{getpass.getuser()}/.knit/{app_id}"
        assert hdfs_status(minicluster, staging) is not None
        run = minicluster.run_hadoop_class("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                                           "application", "-kill", app_id)
        assert run.returncode == 0, run.stderr[-2000:]
        assert k.wait_for_completion(timeout=60) == "KILLED"
        containers = k.get_containers()
        assert {(c.state, c.outcome) for c in containers} == {("COMPLETED", "KILLED")}
        assert all("KILLED" in c.diagnostics for c in containers)
        assert hdfs_status(minicluster, staging) is None


def test_a_killed_last_attempt_removes_its_staging_dir_itself(minicluster):
    """The AM's last attempt removes the staging dir as YARN kills it: with no knit
    handle looking (the client that started it has let go)."""
    k = Knit(minicluster.conf_dir)
    app_id = k.start("sleep 600", num_containers=1, memory=256, detached=True, am_attempts=1)
    wait_for(lambda: any(c.state == "RUNNING" for c in k.get_containers()), 60, "a container")
    k.app.detach()
    staging = f"/user/{getpass.getuser()}/.knit/{app_id}"
    assert hdfs_status(minicluster, staging) is not None
    run = minicluster.run_hadoop_class("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                                       "application", "-kill", app_id)
    assert run.returncode == 0, run.stderr[-2000:]
    wait_for(lambda: hdfs_status(minicluster, staging) is None, 30, "the staging dir to go")
    watcher = Knit(minicluster.conf_dir)
    watcher.app_id = app_id
    assert watcher.status().state == "KILLED"


def test_each_container_of_a_role_gets_its_own_variables(knit, minicluster):
    """Four greeters asked at once, each its own GREETING; a container of a whole node
    fits only beside no AM, so one runs at a time and the rest wait: the third is withdrawn
    by its value before YARN grants it, and the others run in the order asked."""
    knit.start("sleep 600", num_containers=0, memory=256, keep_alive=True)
    knit.add_role("greet", 'echo "hello $GREETING $ROLE_WIDE"; sleep 600',
                  memory=minicluster.nodemanager_memory_mb,
                  envvars={"ROLE_WIDE": "all"})
    knit.add_containers(4, role="greet", envvars=[{"GREETING": g} for g in "abcd"])

    def greeter(name: str) -> dict:
        return wait_for(lambda: next((c for c in running(knit)
                                      if c["envvars"] == {"GREETING": name}), None),
                        120, f"greeter {name} running")

    a = greeter("a")
    assert knit.pending_containers("greet") == 3
    assert knit.cancel_container_with("GREETING", "c", role="greet")
    assert not knit.cancel_container_with("GREETING", "c", role="greet"), "withdrawn once"
    assert not knit.cancel_container_with("GREETING", "a", role="greet"), "granted already"
    assert knit.pending_containers("greet") == 2
    knit.remove_containers(a["id"])
    b = greeter("b")
    knit.remove_containers(b["id"])
    d = greeter("d")
    assert knit.pending_containers("greet") == 0
    greeters = [c for c in knit.get_containers() if c["role"] == "greet"]
    assert [c["envvars"]["GREETING"] for c in greeters] == ["a", "b", "d"]
    logs = wait_for(lambda: (lg := knit.logs()) and lg[d["id"]]["stdout"] and lg, 60, "d's output")
    assert [logs[c["id"]]["stdout"] for c in greeters] == [f"hello {g} all\n" for g in "abd"]
    with pytest.raises(InvalidArgumentError, match="list of 2 mappings"):
        knit.add_containers(2, role="greet", envvars={"GREETING": "e"})
    with pytest.raises(InvalidArgumentError, match="bad entry"):
        knit.add_containers(1, role="greet", envvars=[{"NOT A NAME": "e"}])
