"""Shared fixtures for the IMAP service tests (real Dovecot, real store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from services.email.imap import ImapConfig, ImapService
from services.security.secrets import MemorySecrets
from services.store import Store
from tests.support.servers.dovecot import DovecotServer

ACCOUNT = "work"


def make_raw(n: int, *, subject: str | None = None, body: str | None = None,
             days_ago: float = 0.0, msgid: str | None = None) -> bytes:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return (
        f"From: Sender {n} <s{n}@example.test>\r\n"
        f"To: alice@example.test\r\n"
        f"Subject: {subject or f'message {n}'}\r\n"
        f"Date: {format_datetime(when)}\r\n"
        f"Message-ID: {msgid or make_msgid(f'm{n}', 'example.test')}\r\n"
        f"\r\n{body or f'body of message {n}'}\r\n"
    ).encode()


def inbox_service(server: DovecotServer, store: Store, account: str,
                  **cfg: Any) -> ImapService:
    """alice's INBOX over plain IMAP on loopback for the account ``account`` (made if
    missing), with ``cfg`` on top of the defaults."""
    row = store.ensure_account(account, "imap")
    secrets = MemorySecrets()
    secrets.set(account, "password", server.users["alice"])
    config = ImapConfig.from_mapping({
        "host": server.host, "port": server.imap_port, "security": "plain",
        "allow_plaintext": True, "username": "alice", "include_folders": ["INBOX"],
        "timeout": 30.0, **cfg,
    })
    return ImapService(row, store, config, secrets)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "commhub.sqlite3")
    s.ensure_account(ACCOUNT, "imap", address="alice@example.test")
    yield s
    s.close()


ServiceFactory = Callable[..., ImapService]


@pytest.fixture
async def make_service(store: Store) -> AsyncIterator[ServiceFactory]:
    made: list[ImapService] = []

    def factory(server: DovecotServer, user: str = "alice", **cfg: Any) -> ImapService:
        settings: dict[str, Any] = {
            "host": server.host, "port": server.imap_port, "security": "starttls",
            "username": user, "ca_file": str(server.ca_pem), "timeout": 10.0,
        }
        settings.update(cfg)
        secrets = MemorySecrets()
        secrets.set(ACCOUNT, "password", server.users.get(user, "x"))
        account = store.ensure_account(ACCOUNT, "imap", address=f"{user}@example.test")
        service = ImapService(account, store, ImapConfig.from_mapping(settings), secrets)
        made.append(service)
        return service

    yield factory
    for service in made:
        await service.aclose()
