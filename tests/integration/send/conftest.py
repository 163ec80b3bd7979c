"""Fixtures of the send tests: a recording SMTP server (idle timeout 1 s) and a store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.compose import ComposeBuilder, Identity
from services.email.smtp import SmtpConfig, SmtpSender
from services.store import Store
from tests.integration.send.support import SendServer
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer
from tests.support.tls import TestCA

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture(scope="module")
def send_server(tls_ca: TestCA, dovecot: DovecotServer) -> Iterator[SendServer]:
    server = SendServer(tls_ca, users=dovecot.users, dovecot=dovecot, idle_timeout=1.0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def recording(send_server: SendServer, clean_mailbox: DovecotServer) -> SendServer:
    send_server.clear()
    send_server.tempfail.clear()
    send_server.tempfailed.clear()
    send_server.peers.clear()
    return send_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "commhub.sqlite3")
    try:
        yield s
    finally:
        s.close()


def smtp_sender(server: SmtpServer, *, password: str | None = None, ssl: bool = False,
                name: str = "smtp") -> SmtpSender:
    config = SmtpConfig(
        server.host,
        server.tls_port if ssl else server.port,
        security="ssl" if ssl else "starttls",
        username="alice",
        ssl_context=server.ssl_context(),
        timeout=10,
    )
    return SmtpSender(config, password=password or server.users["alice"], name=name)


def compose(subject: str, *to: str) -> ComposeBuilder:
    return ComposeBuilder(identity=Identity(ALICE, "Alice")).to(*(to or (ALICE,))).subject(
        subject
    ).body(f"Hello from the {subject} test: grüße, ünïcödé.\nSecond line.\n")
