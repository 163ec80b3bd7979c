"""TLS, certificate verification and authentication of the IMAP service (real Dovecot)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from types import SimpleNamespace

import pytest

from services.email.imap import ImapConfig
from services.errors import AuthenticationError, ConfigurationError, ConnectionFailed
from services.security.secrets import MemorySecrets
from tests.integration.imap.conftest import ServiceFactory
from tests.support.servers.dovecot import BAD_LOGIN_SOURCE_IP, DovecotServer
from tests.support.tls import TestCA, make_test_ca


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_tls_modes_verify_against_the_test_ca(
    dovecot: DovecotServer, make_service: ServiceFactory, security: str
) -> None:
    port = dovecot.imaps_port if security == "ssl" else dovecot.imap_port
    service = make_service(dovecot, security=security, port=port)
    folders = await service.list_folders()
    assert any(f.name == "INBOX" and f.role == "inbox" for f in folders)


def test_plaintext_refused_unless_allowed_explicitly(dovecot: DovecotServer) -> None:
    base = {"host": "imap.example.org", "port": dovecot.imap_port, "username": "alice",
            "security": "plain"}
    with pytest.raises(ConfigurationError, match="allow_plaintext"):
        ImapConfig.from_mapping(base)
    assert ImapConfig.from_mapping({**base, "allow_plaintext": True}).security == "plain"
    # this machine's own server (loopback) may be plaintext without the flag
    assert ImapConfig.from_mapping({**base, "host": dovecot.host}).security == "plain"
    with pytest.raises(ConfigurationError, match=r"unknown setting.*'hots'"):
        ImapConfig.from_mapping({**base, "hots": "x"})
    with pytest.raises(ConfigurationError, match=r"missing required setting.*username"):
        ImapConfig.from_mapping({"host": "h"})


async def test_plaintext_connection_works_when_allowed(
    dovecot: DovecotServer, make_service: ServiceFactory
) -> None:
    service = make_service(dovecot, security="plain", allow_plaintext=True, ca_file=None)
    assert await service.list_folders()


async def test_untrusted_certificate_is_a_clear_connection_failure(
    dovecot: DovecotServer, make_service: ServiceFactory
) -> None:
    other, directory = make_test_ca()  # a CA that did not sign the server's certificate
    try:
        service = make_service(dovecot, security="ssl", port=dovecot.imaps_port,
                               ca_file=str(other.ca_pem))
        with pytest.raises(ConnectionFailed, match=r"certificate for 127\.0\.0\.1 not trusted"):
            await service.connect()
        starttls = make_service(dovecot, ca_file=str(other.ca_pem))
        with pytest.raises(ConnectionFailed, match="not trusted"):
            await starttls.connect()
    finally:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


async def test_a_certificate_for_another_host_is_refused_with_a_clear_error(
    tls_ca: TestCA, make_service: ServiceFactory
) -> None:
    """Signed by the trusted CA but issued for another name: hostname checking refuses it
    (a real TLS handshake with a server on loopback that presents that certificate)."""
    leaf = tls_ca.ca.issue_cert("mail.other.example")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server_ctx)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    handshakes: list[str] = []

    def serve() -> None:
        with contextlib.suppress(OSError):  # ssl.SSLError is one: the client hangs up
            conn, _ = listener.accept()
            with conn, server_ctx.wrap_socket(conn, server_side=True) as tls:
                handshakes.append("completed")  # must not happen
                tls.sendall(b"* OK IMAP4rev1 ready\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    server = SimpleNamespace(host="127.0.0.1", imap_port=listener.getsockname()[1],
                             ca_pem=tls_ca.ca_pem, users={})
    service = make_service(server, security="ssl")  # type: ignore[arg-type]
    try:
        with pytest.raises(ConnectionFailed,
                           match=r"certificate for 127\.0\.0\.1 not trusted: .*mismatch"):
            await service.connect()
    finally:
        thread.join(10)
        listener.close()
    assert handshakes == []


async def test_wrong_password_fails_fast_with_one_attempt(
    dovecot: DovecotServer, make_service: ServiceFactory
) -> None:
    service = make_service(dovecot, source_address=BAD_LOGIN_SOURCE_IP)
    assert isinstance(service.secrets, MemorySecrets)
    service.secrets.set("work", "password", "not-the-password")
    since = dovecot.log_size()
    t0 = time.monotonic()
    with pytest.raises(AuthenticationError, match=r"login refused for alice@127\.0\.0\.1: .*"):
        await service.connect()
    assert time.monotonic() - t0 < 3.0
    time.sleep(0.2)  # let Dovecot write its log lines
    log = dovecot.log_text(since)
    assert log.count("Password mismatch") == 1, log
    assert "127.0.0.2" in log
