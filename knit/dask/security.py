"""TLS for a YarnCluster: the credentials its scheduler, workers and client use.

Dask's scheduler and workers listen on the network; with TLS and a shared certificate
(made per cluster, never written outside a private temp dir and
the application's private staging dir) only holders of the key can join or connect.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile

from distributed.security import Security

from .._tls import new_certificate
from ..exceptions import InvalidArgumentError

logger = logging.getLogger(__name__)

# role -> (Security attribute, file name in the container) for what the containers need.
_FILES = {
    "ca": ("tls_ca_file", "dask-ca.pem"),
    "worker-cert": ("tls_worker_cert", "dask-worker-cert.pem"),
    "worker-key": ("tls_worker_key", "dask-worker-key.pem"),
    "scheduler-cert": ("tls_scheduler_cert", "dask-scheduler-cert.pem"),
    "scheduler-key": ("tls_scheduler_key", "dask-scheduler-key.pem"),
}


def temporary_security() -> Security:
    """Mutual-TLS credentials for one cluster: a self-signed EC P-256 certificate that is
    its own CA, shared by scheduler, workers and client (as ``Security.temporary()``
    does with RSA; EC keys are made in a millisecond instead of 50 to 200)."""
    cert, key = new_certificate(common_name="knit dask cluster")
    return Security(tls_ca_file=cert, tls_client_cert=cert, tls_client_key=key,
                    tls_scheduler_cert=cert, tls_scheduler_key=key,
                    tls_worker_cert=cert, tls_worker_key=key, require_encryption=True)


def make_security(security: Security | bool) -> Security | None:
    """`True`: new temporary credentials; `False`: none (plain TCP); or the user's own."""
    if security is True:
        return temporary_security()
    if security is False or security is None:
        logger.warning("Dask cluster without TLS: anyone who can reach the scheduler can "
                       "run code on it and its workers.")
        return None
    if isinstance(security, Security):
        if not (security.tls_ca_file and security.tls_worker_cert and security.tls_worker_key):
            raise InvalidArgumentError("security must have tls_ca_file, tls_worker_cert and "
                                "tls_worker_key set (Security(tls_ca_file=..., ...)).")
        return security
    raise InvalidArgumentError(f"security must be True, False or a distributed.Security, "
                        f"got {security!r}")


COMBINED_FILE = "dask-tls.pem"


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----\n?", re.S)


def split_combined(text: str) -> tuple[str, str]:
    """(certificate, key) PEM text from a combined file (see CredentialFiles)."""
    found = {m.group(1): m.group(0) for m in _PEM_BLOCK.finditer(text)}
    cert, key = found.get("CERTIFICATE"), found.get("PRIVATE KEY")
    if not (cert and key):
        raise InvalidArgumentError("Not a PEM file with a certificate and a PKCS#8 private key.")
    return cert, key


def _one_certificate(security: Security) -> bool:
    """Whether every role uses the same in-memory certificate (its own CA) and key, as
    :func:`temporary_security`'s do."""
    cert, key = security.tls_worker_cert, security.tls_worker_key
    return bool(cert and key) and "-----BEGIN" in cert and "-----BEGIN" in key and \
        security.tls_ca_file == cert and security.tls_scheduler_cert in (None, cert) and \
        security.tls_scheduler_key in (None, key)


class CredentialFiles:
    """The TLS files containers need, in a private temporary directory, shipped with
    ``Knit.start(files=...)``; removed by `remove`."""

    def __init__(self, security: Security) -> None:
        self.dir = tempfile.mkdtemp(prefix="knit-dask-tls-")  # mode 700
        self.paths: dict[str, str] = {}
        if _one_certificate(security):
            # One file, key then certificate, for every role: each file shipped is one
            # more for every NodeManager to localize before a worker starts. Python's ssl
            # reads the certificate, the key and the CA from it alike.
            path = os.path.join(self.dir, COMBINED_FILE)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(security.tls_worker_key + security.tls_worker_cert)
            self.paths = {role: path for role in _FILES}
            return
        for role, (attr, name) in _FILES.items():
            value = getattr(security, attr)
            if not value:
                continue
            path = os.path.join(self.dir, name)
            if "-----BEGIN" in value:  # in-memory PEM (Security.temporary)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(value)
            elif os.path.isfile(value):
                shutil.copyfile(value, path)
                os.chmod(path, 0o600)
            else:
                self.remove()
                raise InvalidArgumentError(f"security.{attr} is neither PEM text nor a file: {value!r}")
            self.paths[role] = path

    def files(self, *roles: str) -> list[str]:
        return list(dict.fromkeys(self.paths[r] for r in roles if r in self.paths))

    def flags(self, who: str) -> str:
        """`dask worker` / `dask scheduler` TLS options naming the shipped files."""
        names = {role: os.path.basename(p) for role, p in self.paths.items()}
        return (f"--tls-ca-file {names['ca']} --tls-cert {names[who + '-cert']} "
                f"--tls-key {names[who + '-key']}")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
