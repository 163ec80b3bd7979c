"""A header sync fetches only the header fields the store reads (``HEADER.FIELDS``), against
the real Dovecot: it stores the same rows, participants, threads and full-text values as a
sync of the whole header, leaves the rest of the header (Received chains) to the body
fetch, and takes the user's extra fields or the whole header when asked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.email.imap import ImapConfig
from services.email.imap.protocol import SYNC_HEADER_FIELDS, header_items
from services.errors import ConfigurationError
from services.mime import fastheaders
from services.store import Store
from services.store.ingest import indexed_values
from services.store.syncstate import remote_ids
from tests.integration.imap.conftest import inbox_service
from tests.support.corpus import generate_messages
from tests.support.servers.dovecot import DovecotServer

pytestmark = pytest.mark.integration
COUNT = 120
EXTRA = (
    b"Received: from mx.example.net by mx.example.test; Mon, 2 Jun 2025 10:00:00 +0000\r\n"
    b"X-Custom: kept on request\r\n"
    b"List-Id: Team list <team.example.test>\r\n"
    b"List-Unsubscribe: <mailto:leave@example.test>\r\n"
)


def _with_extra(raw: bytes) -> bytes:
    return EXTRA + raw


@pytest.fixture
def mailbox(clean_mailbox: DovecotServer) -> DovecotServer:
    raws = [m.raw for m in generate_messages(COUNT, seed=11)]
    raws[:10] = [_with_extra(r) for r in raws[:10]]
    clean_mailbox.append_many("alice", "INBOX", raws)
    return clean_mailbox


async def _sync(server: DovecotServer, path: Path, **cfg: object) -> Store:
    store = Store.open(path)
    service = inbox_service(server, store, "h", fetch_chunk=25, parse_workers=0, **cfg)
    try:
        report = await service.sync()
    finally:
        await service.aclose()
    assert report.added == COUNT and report.errors == []
    return store


def _first(store: Store) -> int:
    """The local id of the first message appended (the lowest UID: with the extra fields)."""
    ids = remote_ids(store, "h", "INBOX")
    return ids[min(ids, key=int)]


def _rows(store: Store, path: Path) -> dict[str, tuple[object, ...]]:
    """Per UID: what the list, the threads and the search index hold for the message."""
    ids = remote_ids(store, "h", "INBOX")
    threads: dict[object, list[str]] = {}
    out: dict[str, tuple[object, ...]] = {}
    conn = sqlite3.connect(path)
    try:
        for uid, mid in ids.items():
            m = store.get(mid)
            threads.setdefault(m.thread_id, []).append(uid)
            row = conn.execute("SELECT subject, text_key, sender_addr, sender_name, date, "
                               "received_at, flags, priority, size, has_attachments, "
                               "message_id, in_reply_to, refs, body_state FROM messages "
                               "WHERE id = ?", (mid,)).fetchone()
            parts, fts = indexed_values(conn, mid, row[0], row[1], store.codec)
            out[uid] = (row, parts, fts, m.subject, m.sender, m.to, m.cc, m.bcc, m.reply_to,
                        m.date, m.message_id, m.in_reply_to, m.references, m.priority,
                        [(a.filename, a.content_type) for a in m.attachments])
    finally:
        conn.close()
    # thread ids differ between stores; the way messages are grouped must not
    partition = {uid: tuple(sorted(group)) for group in threads.values() for uid in group}
    return {uid: (*row, partition[uid]) for uid, row in out.items()}


async def test_the_field_sync_stores_what_a_whole_header_sync_stores(
    mailbox: DovecotServer, tmp_path: Path
) -> None:
    fields = await _sync(mailbox, tmp_path / "fields.sqlite3")
    full = await _sync(mailbox, tmp_path / "full.sqlite3", full_headers=True)
    try:
        got = _rows(fields, tmp_path / "fields.sqlite3")
        want = _rows(full, tmp_path / "full.sqlite3")
        assert got == want and len(got) == COUNT
        assert any(row[1] for row in got.values())  # participants were compared
        assert len({row[-1] for row in got.values()}) < COUNT  # and some real threads

        uid, mid = max(remote_ids(fields, "h", "INBOX").items(), key=lambda kv: int(kv[0]))
        partial, whole = fields.raw(mid), full.raw(remote_ids(full, "h", "INBOX")[uid])
        assert b"From:" in partial and b"Message-ID:" in partial
        assert len(partial) < len(whole)
        head = fields.raw(_first(fields))
        assert b"List-Id: Team list" in head and b"List-Unsubscribe:" in head
        assert b"Received:" not in head and b"X-Custom" not in head  # they come with the body
        assert b"Received:" in full.raw(_first(full))
    finally:
        fields.close()
        full.close()


async def test_extra_headers_are_fetched_too(mailbox: DovecotServer, tmp_path: Path) -> None:
    store = await _sync(mailbox, tmp_path / "extra.sqlite3", extra_headers="X-Custom")
    try:
        head = store.raw(_first(store))
        assert b"X-Custom: kept on request" in head and b"Received:" not in head
    finally:
        store.close()


def test_the_fetched_fields_cover_everything_the_header_parser_reads() -> None:
    fetched = {f.lower() for f in SYNC_HEADER_FIELDS}
    # Received is read only for whole messages (IMAP has INTERNALDATE for the arrival)
    assert fastheaders._FIELD_KEYS - {"received"} <= fetched
    items = header_items(["X-Spam-Flag", "subject"])
    assert items[:4] == ("UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE")
    assert items[4].startswith("BODY.PEEK[HEADER.FIELDS (FROM ") and items[4].endswith(
        " X-SPAM-FLAG)]")
    assert items[4].count("SUBJECT") == 1
    assert header_items(full=True)[4] == "BODY.PEEK[HEADER]"


@pytest.mark.parametrize("bad", ["X)Evil", "A B", "", "Subject:", "X-\r\nA", "Ä-Name"])
def test_extra_header_names_are_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="extra_headers"):
        ImapConfig.from_mapping({"host": "imap.example.test", "username": "a",
                                 "extra_headers": [bad]})


def test_a_bad_name_never_reaches_the_wire() -> None:
    """What the check is for: a name is spliced into the FETCH command line."""
    config = ImapConfig.from_mapping({"host": "imap.example.test", "username": "a",
                                      "extra_headers": ["List-Post", "X-Spam-Flag"]})
    assert config.extra_headers == ("List-Post", "X-Spam-Flag")
    assert "LIST-POST X-SPAM-FLAG)]" in header_items(config.extra_headers)[4]
