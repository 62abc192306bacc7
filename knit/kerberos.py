"""Kerberos for the Python half of knit: who the user is, and SPNEGO for REST calls.

The JVM half logs in itself (``knit.client.ClientLogin``); Python needs Kerberos only
for the ResourceManager's REST API when the cluster guards it with SPNEGO.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from .exceptions import InvalidArgumentError, KerberosError, MissingFileError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """Whose Kerberos credentials a client JVM uses. One JVM per identity: Hadoop keeps
    one login per JVM.

    ``principal`` and ``keytab`` are None for the ticket cache (``KRB5CCNAME``, as after
    ``kinit``); ``krb5_config`` is ``$KRB5_CONFIG`` (None: the system's krb5.conf).
    """

    principal: str | None = None
    keytab: str | None = None
    krb5_config: str | None = None
    ccache: str | None = None

    @classmethod
    def from_arguments(cls, principal: str | None, keytab: str | os.PathLike | None) -> "Identity":
        """Check `principal` and `keytab` (both or neither) and read the Kerberos env vars.

        Raises
        ------
        InvalidArgumentError
            Only one of the two is given, or one is not a string.
        MissingFileError
            The keytab is not a readable file.
        """
        if (principal is None) != (keytab is None):
            raise InvalidArgumentError(
                "Pass principal and keytab together (a keytab login), or neither (the ticket "
                f"cache, after kinit); got principal={principal!r}, keytab={keytab!r}.")
        if principal is not None and (not isinstance(principal, str) or not principal.strip()
                                      or any(c.isspace() for c in principal)):
            raise InvalidArgumentError(f"principal must be a name like user@REALM, got {principal!r}")
        if keytab is not None:
            if not isinstance(keytab, (str, os.PathLike)):
                raise InvalidArgumentError(f"keytab must be a path, got {keytab!r}")
            keytab = os.path.abspath(os.fspath(keytab))
            if not os.path.isfile(keytab) or not os.access(keytab, os.R_OK):
                raise MissingFileError(f"The keytab {keytab} does not exist or is not readable.")
        return cls(principal, keytab, os.environ.get("KRB5_CONFIG"), os.environ.get("KRB5CCNAME"))

    def jvm_options(self) -> list[str]:
        """Java reads ``java.security.krb5.conf``, not ``KRB5_CONFIG``: pass it on."""
        return [f"-Djava.security.krb5.conf={self.krb5_config}"] if self.krb5_config else []

    def jvm_env(self) -> dict[str, str]:
        return {"KRB5CCNAME": self.ccache} if self.ccache else {}

    def http_auth(self) -> Any:
        """A requests auth object doing SPNEGO as this identity.

        Raises
        ------
        KerberosError
            ``requests-gssapi`` is not installed.
        """
        try:
            from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth
        except ImportError as e:
            raise KerberosError(
                "This cluster's ResourceManager REST API needs Kerberos (SPNEGO), which needs "
                "the requests-gssapi package: pip install 'knit[kerberos]' (it builds against "
                "the system's MIT Kerberos: apt-get install libkrb5-dev).") from e
        if self.keytab is not None:
            return _KeytabSpnego(self.principal, self.keytab)
        # Hadoop's SPNEGO filter does not send the mutual-authentication token on every answer.
        return HTTPSPNEGOAuth(mutual_authentication=OPTIONAL)


class _KeytabSpnego(requests.auth.AuthBase):
    """SPNEGO as a keytab's principal, for as long as the process lives: MIT Kerberos gets
    a ticket from the keytab into a private in-memory cache, and a new one once a fifth
    of the ticket's lifetime is left (a service's login outlives its tickets)."""

    _RENEW_AFTER_FRACTION = 0.8

    def __init__(self, principal: str, keytab: str) -> None:
        self._principal, self._keytab = principal, keytab
        self._lock = threading.Lock()
        self._renew()

    def _renew(self) -> None:
        import gssapi
        from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth
        name = gssapi.Name(self._principal, gssapi.NameType.kerberos_principal)
        self._creds = gssapi.Credentials(name=name, usage="initiate", store={
            "client_keytab": self._keytab, "ccache": f"MEMORY:knit-{secrets.token_hex(8)}"})
        self._renew_at = time.monotonic() + self._RENEW_AFTER_FRACTION * (self._creds.lifetime or 0)
        self._auth = HTTPSPNEGOAuth(creds=self._creds, mutual_authentication=OPTIONAL)

    def __call__(self, request):
        with self._lock:
            if time.monotonic() >= self._renew_at:
                logger.info("Renewing the Kerberos ticket of %s from its keytab", self._principal)
                self._renew()
            auth = self._auth
        return auth(request)


def uses_kerberos(config: Any) -> bool:
    """True when `config` (a HadoopConfig) says the cluster uses Kerberos."""
    return (config.get("hadoop.security.authentication") or "simple").strip().lower() == "kerberos"
