"""TLS for the connection from Python to an ApplicationMaster's gateway.

For each application the client makes a self-signed certificate and key; the key reaches
the AM only through YARN credentials (like the gateway token), and the client trusts
that certificate alone: it talks to its own AM and nobody on the wire reads the token.
"""
from __future__ import annotations

import datetime
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def new_certificate(days: int = 3650, common_name: str = "knit application master"
                    ) -> tuple[str, str]:
    """(certificate PEM, PKCS#8 private key PEM): a fresh self-signed EC P-256 pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert_pem, key_pem


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client context that accepts exactly `cert_pem` (verification on; the AM's host
    name is not known when the certificate is made, so the pin stands in for it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=cert_pem)
    return context
