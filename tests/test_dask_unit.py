"""YarnCluster's pure parts: argument checks, TLS credential files, the progress display."""
from __future__ import annotations

import io
import logging
import os
import stat

import pytest

pytest.importorskip("distributed")
from distributed.security import Security  # noqa: E402

from knit import KnitException  # noqa: E402
from knit.dask import YarnCluster  # noqa: E402
from knit.dask.progress import Counts, Progress  # noqa: E402
from knit.dask.security import CredentialFiles, make_security  # noqa: E402

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kwargs, message", [
    ({"deploy_mode": "cloud"}, "deploy_mode must be one of"),
    ({"n_workers": -1}, "n_workers must be >= 0"),
    ({"worker_memory": "lots"}, "worker_memory must be an integer number of MB"),
    ({"worker_memory": 0}, "worker_memory must be at least 1 MB"),
    ({"scheduler_memory": "1 KiB"}, "scheduler_memory must be at least 1 MB"),
    ({"worker_vcores": 0}, "must be at least 1"),
    ({"security": "yes"}, "security must be True, False or a distributed.Security"),
    ({"security": Security()}, "security must have tls_ca_file"),
    ({"shutdown_on_close": False}, "shutdown_on_close=False needs deploy_mode='remote'"),
    ({"application_id": "application_1_0001", "n_workers": 2, "env": "e.tar.gz"},
     "env, n_workers: these are the running cluster's when attaching"),
])
def test_bad_arguments_are_refused_before_anything_starts(kwargs, message, tmp_path):
    # A conf dir that does not exist: the check must come before any use of the cluster.
    with pytest.raises(KnitException, match=message):
        YarnCluster(hadoop_conf_dir=str(tmp_path / "missing"), **kwargs)


def test_credential_files_are_private_and_named_in_flags():
    creds = CredentialFiles(make_security(True))
    try:
        assert stat.S_IMODE(os.stat(creds.dir).st_mode) == 0o700
        for path in creds.paths.values():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        flags = creds.flags("worker")
        # A temporary certificate (its own CA) and its key: one file ships them.
        assert flags == "--tls-ca-file dask-tls.pem --tls-cert dask-tls.pem --tls-key dask-tls.pem"
        assert [os.path.basename(p) for p in creds.files("ca", "worker-cert", "worker-key")] \
            == ["dask-tls.pem"]
    finally:
        creds.remove()
    assert not os.path.exists(creds.dir)


def test_a_combined_credential_file_serves_mutual_tls():
    """Python's ssl takes the certificate, its key and the CA from the one file."""
    import socket
    import ssl
    import threading
    creds = CredentialFiles(make_security(True))
    try:
        (path,) = creds.files("ca", "worker-cert", "worker-key")

        def context(side):
            ctx = ssl.SSLContext(side)
            ctx.load_cert_chain(path, path)
            ctx.load_verify_locations(cafile=path)
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.check_hostname = False
            return ctx
        with socket.create_server(("127.0.0.1", 0)) as listener:
            def serve():
                conn, _ = listener.accept()
                with context(ssl.PROTOCOL_TLS_SERVER).wrap_socket(conn, server_side=True) as s:
                    s.sendall(b"ok " + s.recv(8))
            t = threading.Thread(target=serve)
            t.start()
            with context(ssl.PROTOCOL_TLS_CLIENT).wrap_socket(
                    socket.create_connection(listener.getsockname())) as client:
                client.sendall(b"hi")
                assert client.recv(8) == b"ok hi"
                assert client.getpeercert()  # verified against the CA in the file
            t.join(10)
    finally:
        creds.remove()


def test_a_combined_file_splits_into_its_certificate_and_key():
    from knit.dask.security import split_combined
    security = make_security(True)
    creds = CredentialFiles(security)
    try:
        (path,) = creds.files("ca")
        with open(path) as f:
            assert split_combined(f.read()) == (security.tls_worker_cert, security.tls_worker_key)
    finally:
        creds.remove()
    with pytest.raises(KnitException, match="certificate and a PKCS#8 private key"):
        split_combined(security.tls_worker_cert)


def test_credential_files_of_users_own_files_keep_their_roles(tmp_path):
    from knit._tls import new_certificate
    cert, key = new_certificate(common_name="own")
    (tmp_path / "ca.pem").write_text(cert)
    (tmp_path / "w.pem").write_text(cert)
    (tmp_path / "w.key").write_text(key)
    creds = CredentialFiles(make_security(Security(
        tls_ca_file=str(tmp_path / "ca.pem"), tls_worker_cert=str(tmp_path / "w.pem"),
        tls_worker_key=str(tmp_path / "w.key"))))
    try:
        assert [os.path.basename(p) for p in creds.files("ca", "worker-cert", "worker-key")] \
            == ["dask-ca.pem", "dask-worker-cert.pem", "dask-worker-key.pem"]
        assert "--tls-key dask-worker-key.pem" in creds.flags("worker")
    finally:
        creds.remove()


def test_credential_files_refuse_a_missing_file():
    bad = Security(tls_ca_file="/no/such/ca.pem", tls_worker_cert="/no/cert",
                   tls_worker_key="/no/key")
    with pytest.raises(KnitException, match="neither PEM text nor a file"):
        CredentialFiles(make_security(bad))


def test_progress_in_a_terminal_rewrites_one_line(monkeypatch):
    out = io.StringIO()
    out.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", out)
    p = Progress(3)
    p.update(Counts(3, 1, 2, 0))
    p.update(Counts(3, 1, 2, 0))  # unchanged: not drawn again
    p.update(Counts(3, 0, 3, 3))
    p.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("3/3 connected | requested 3, "
                                                   "allocated 0, running 3\n")


def test_progress_without_a_terminal_logs_changes(caplog):
    caplog.set_level(logging.INFO, logger="knit.dask.progress")
    p = Progress(2)
    p.update(Counts(2, 2, 0, 0))
    p.update(Counts(2, 0, 2, 1))
    p.close()
    assert [r.getMessage() for r in caplog.records] == [
        "workers: 0/2 connected | requested 2, allocated 2, running 0",
        "workers: 1/2 connected | requested 2, allocated 0, running 2"]


def test_progress_html_is_a_table_of_the_four_counts():
    html = Counts(5, 1, 3, 2).html(5)
    for cell in ("<th>Requested</th>", "<td>5</td>", "<td>1</td>", "<td>3</td>", "<td>2</td>"):
        assert cell in html


# ---------------------------------------------------------------- the scheduler's address
def _config_with_rm(tmp_path, address: str):
    from knit.config import HadoopConfig
    (tmp_path / "yarn-site.xml").write_text(
        "<configuration><property><name>yarn.resourcemanager.address</name>"
        f"<value>{address}</value></property></configuration>")
    return HadoopConfig.load(str(tmp_path))


def test_the_scheduler_uses_this_machines_route_to_the_resourcemanager(tmp_path):
    from knit.dask.address import scheduler_host
    # A ResourceManager on this host's loopback (a one-host cluster): loopback is the route.
    assert scheduler_host(_config_with_rm(tmp_path, "127.0.0.1:8032")) == "127.0.0.1"
    assert scheduler_host(_config_with_rm(tmp_path, "localhost:8032")) == "127.0.0.1"


def test_the_scheduler_address_can_be_chosen(tmp_path):
    from knit.dask.address import scheduler_host
    config = _config_with_rm(tmp_path, "127.0.0.1:8032")
    assert scheduler_host(config, host="10.1.2.3") == "10.1.2.3"
    assert scheduler_host(config, interface="lo") == "127.0.0.1"
    with pytest.raises(KnitException, match="not a valid network interface"):
        scheduler_host(config, interface="no-such-if0")
    with pytest.raises(KnitException, match="not both"):
        scheduler_host(config, host="10.1.2.3", interface="lo")


def test_no_route_to_the_resourcemanager_says_what_to_pass(tmp_path):
    from knit.dask.address import scheduler_host
    with pytest.raises(KnitException, match="scheduler_host="):
        scheduler_host(_config_with_rm(tmp_path, "no-such-host.invalid:8032"))
