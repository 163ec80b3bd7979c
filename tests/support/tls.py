"""One throw-away certificate authority for every TLS test server (Dovecot, aiosmtpd).

Clients verify against it exactly like production code verifies against the system store:
``ssl.create_default_context(cafile=test_ca.ca_pem)`` or ``test_ca.client_context()``.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


class TestCA:
    """A trustme CA plus one leaf certificate for localhost/127.0.0.1/::1, written to ``directory``.

    Attributes: ``ca_pem`` (CA certificate path), ``cert_pem`` (leaf chain path),
    ``key_pem`` (leaf key path).
    """

    __test__ = False  # not a test class, despite the name

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="Commhub test CA")
        self.leaf = self.ca.issue_cert(*SERVER_NAMES)
        self.ca_pem = self.directory / "ca.pem"
        self.cert_pem = self.directory / "cert.pem"
        self.key_pem = self.directory / "key.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.cert_pem.write_bytes(b"".join(b.bytes() for b in self.leaf.cert_chain_pems))
        self.leaf.private_key_pem.write_to_path(str(self.key_pem))
        # Readable by Dovecot's unprivileged processes; the key only needs root (config process),
        # but a test-only key in a private temp dir is no secret.
        for p in (self.ca_pem, self.cert_pem, self.key_pem):
            p.chmod(0o644)

    def client_context(self) -> ssl.SSLContext:
        """A client context that verifies server certificates against this CA only."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
        self.ca.configure_trust(ctx)
        return ctx

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting the localhost certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(ctx)
        return ctx


def make_test_ca() -> tuple[TestCA, Path]:
    """Create a TestCA in a fresh world-traversable temp dir (Dovecot's unprivileged
    processes must reach it; pytest's own tmp dirs sit under a 0700 parent)."""
    directory = Path(tempfile.mkdtemp(prefix="commhub-ca-"))
    directory.chmod(0o755)
    return TestCA(directory), directory


# --------------------------------------------------------------------------- pytest fixture


@pytest.fixture(scope="session")
def tls_ca() -> Iterator[TestCA]:
    """Session-wide test CA shared by Dovecot and the SMTP server.

    ``tls_ca.client_context()`` verifies any test server; ``tls_ca.ca_pem`` is a CA file path.
    """
    ca, directory = make_test_ca()
    try:
        yield ca
    finally:
        shutil.rmtree(directory, ignore_errors=True)
