"""Kerberos for the Python half of knit: who the user is, and SPNEGO for REST calls.

The JVM half logs in itself (``knit.client.ClientLogin``); Python needs Kerberos only
for the ResourceManager's REST API when the cluster guards it with SPNEGO.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidArgumentError, KerberosError, MissingFileError


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
            import gssapi
            from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth
        except ImportError as e:
            raise KerberosError(
                "This cluster's ResourceManager REST API needs Kerberos (SPNEGO), which needs "
                "the requests-gssapi package: pip install 'knit[kerberos]' (it builds against "
                "the system's MIT Kerberos: apt-get install libkrb5-dev).") from e
        creds = None
        if self.keytab is not None:
            # MIT Kerberos gets a ticket from the keytab into a private in-memory cache.
            name = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
            creds = gssapi.Credentials(name=name, usage="initiate", store={
                "client_keytab": self.keytab, "ccache": f"MEMORY:knit-{id(self)}"})
        # Hadoop's SPNEGO filter does not send the mutual-authentication token on every answer.
        return HTTPSPNEGOAuth(creds=creds, mutual_authentication=OPTIONAL)


def uses_kerberos(config: Any) -> bool:
    """True when `config` (a HadoopConfig) says the cluster uses Kerberos."""
    return (config.get("hadoop.security.authentication") or "simple").strip().lower() == "kerberos"
