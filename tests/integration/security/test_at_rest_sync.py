"""IMAP sync into an encrypted store (real Dovecot): headers first, the body fetched
later, flags both ways; afterwards nothing of the message is readable on disk."""

from __future__ import annotations

from pathlib import Path

from services.email.imap import ImapConfig, ImapService
from services.models import Flag
from services.query import EmailQuery
from services.security.secrets import MemorySecrets
from services.store import Store
from services.store.cipher import DatabaseKey
from services.store.partial import BODY_FULL, body_state
from services.store.syncstate import remote_ids
from tests.integration.security.test_at_rest import MARKER, MARKER_U, marked_message, scan
from tests.support.servers.dovecot import DovecotServer


async def test_imap_sync_into_an_encrypted_store(
    tmp_path: Path, clean_mailbox: DovecotServer
) -> None:
    raw = marked_message(to="alice@example.test")
    clean_mailbox.append("alice", "INBOX", raw)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    key = DatabaseKey.generate()
    store = Store.open(data_dir / "commhub.sqlite3", key=key)
    secrets = MemorySecrets()
    secrets.set("work", "password", clean_mailbox.users["alice"])
    account = store.ensure_account("work", "imap", address="alice@example.test")
    config = ImapConfig.from_mapping({
        "host": clean_mailbox.host, "port": clean_mailbox.imap_port, "security": "starttls",
        "username": "alice", "ca_file": str(clean_mailbox.ca_pem), "timeout": 10.0,
    })
    service = ImapService(account, store, config, secrets)
    try:
        report = await service.sync()
        assert report.added == 1 and report.errors == []
        [mid] = remote_ids(store, "work", "INBOX").values()
        assert store.count(EmailQuery.parse(f"subject:{MARKER_U}")) == 1
        full = await service.fetch_body(mid)
        assert MARKER_U in full.body_text
        assert body_state(store, mid) == BODY_FULL
        assert store.raw(mid).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
        assert store.search_ids(EmailQuery.parse(f"{MARKER.lower()[:7]}*")) == [mid]
        await service.set_flags(store.get(mid), add=[Flag.FLAGGED])
        with clean_mailbox.imap("alice") as client:
            client.select_folder("INBOX")
            [uid] = client.search(["ALL"])
            assert b"\\Flagged" in client.get_flags([uid])[uid]
    finally:
        await service.aclose()
        store.close()
    assert scan(data_dir) == []
    with Store.open(data_dir / "commhub.sqlite3", key=key) as again:
        assert again.count(EmailQuery.parse(MARKER.lower())) == 1
