from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.errors import NotFound, StoreError
from services.store import Store
from services.store.blobs import PlainCodec, decode_blob, encode_blob
from services.store.migrations import MIGRATIONS, migrate, schema_version
from services.store.paths import DB_FILENAME, default_data_dir, default_db_path

from .helpers import item, make_raw


def _conn(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_migrates_from_v0_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = _conn(path)
    assert schema_version(conn) == 0
    assert migrate(conn) == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "folders", "messages", "participants", "attachments", "blobs",
            "threads", "msgids", "contacts", "contact_identities", "fts", "labels"} <= tables
    assert migrate(conn) == len(MIGRATIONS)  # nothing to do the second time
    conn.close()
    with Store.open(path) as store:
        store.ingest([item(make_raw(1))])
    with Store.open(path) as store:  # reopen keeps data, applies nothing
        assert store.account_stats() == {"acct": 1}
    check = _conn(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(check) == len(MIGRATIONS)


def test_a_later_migration_upgrades_and_a_failing_one_rolls_back(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "db.sqlite3")
    migrate(conn)
    v2 = ("ALTER TABLE accounts ADD COLUMN color TEXT;\n"
          "CREATE INDEX accounts_color ON accounts(color);")
    assert migrate(conn, (*MIGRATIONS, v2)) == len(MIGRATIONS) + 1
    assert "color" in {r[1] for r in conn.execute("PRAGMA table_info(accounts)")}
    bad = "CREATE TABLE partial (x INTEGER);\nTHIS IS NOT SQL;"
    with pytest.raises(StoreError, match="version"):
        migrate(conn, (*MIGRATIONS, v2, bad))
    assert schema_version(conn) == len(MIGRATIONS) + 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='partial'").fetchone() is None


def test_version_7_makes_three_indexes_partial_and_keeps_every_row(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "db.sqlite3")
    assert migrate(conn, MIGRATIONS[:6]) == 6
    conn.execute("INSERT INTO accounts (id, name, provider) VALUES (1, 'a', 'imap')")
    conn.execute("INSERT INTO messages (account_id, channel, sha256, has_attachments, date) "
                 "VALUES (1, 'sms', 'h1', 1, 5), (1, 'email', '', 0, 6), (1, 'email', 'h2', 1, 7)")
    assert migrate(conn) == len(MIGRATIONS) >= 7
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    assert sql["messages_attach"].endswith("WHERE has_attachments = 1")
    assert sql["messages_channel"].endswith("WHERE channel <> 'email'")
    assert sql["messages_sha"].endswith("WHERE sha256 <> ''")

    def ids(index: str, where: str) -> list[int]:
        return [r[0] for r in conn.execute(
            f"SELECT id FROM messages INDEXED BY {index} WHERE {where} ORDER BY id")]

    assert ids("messages_attach", "has_attachments = 1") == [1, 3]
    assert ids("messages_channel", "channel = 'sms' AND channel <> 'email'") == [1]
    assert ids("messages_sha", "account_id = 1 AND sha256 <> ''") == [1, 3]


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "db.sqlite3")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer"):
        migrate(conn)


def test_data_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COMMHUB_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    assert default_db_path() == tmp_path / "x" / DB_FILENAME
    monkeypatch.delenv("COMMHUB_DATA_DIR")
    assert default_data_dir().name == "commhub"


class XorCodec:
    """A toy 'encryption' proving every content byte goes through the codec."""

    name = "xor"

    def encode(self, data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)

    def decode(self, data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)


def test_blob_round_trip_compresses_when_it_helps() -> None:
    codec = PlainCodec()
    for data in (b"", b"short", b"a" * 10_000, bytes(range(256)) * 3):
        column, stored = encode_blob(data, codec)
        assert decode_blob(column, stored, codec) == data
    column, stored = encode_blob(b"a" * 10_000, codec)
    assert column == "zlib:plain" and len(stored) < 200
    assert encode_blob(b"short", codec)[0] == "none:plain"
    with pytest.raises(StoreError, match="codec"):
        decode_blob(column, stored, XorCodec())


def test_every_content_byte_goes_through_the_codec(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    # the snippet (first ~200 chars) is plaintext metadata by design: put the secret after it
    secret_body = "filler words " * 30 + "zebra-quokka-" * 3 + "unique body phrase"
    raw = make_raw(1, body=secret_body, subject="plain subject")
    incompressible = make_raw(2, body="filler " * 40 + "xq7Jk2Lm9Pz", subject="tiny")
    with Store.open(path, codec=XorCodec()) as store:
        result = store.ingest([item(raw), item(incompressible)])
        assert store.raw(result.ids[0]) == raw
        assert store.raw(result.ids[1]) == incompressible
        assert "unique body phrase" in store.get(result.ids[0]).body_text
        codecs = {r[0] for r in store._read("SELECT codec FROM blobs")}
        assert codecs and all(c.endswith(":xor") for c in codecs)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"zebra-quokka" not in data and b"xq7Jk2Lm9Pz" not in data
    with Store.open(path) as plain, pytest.raises(StoreError, match="codec"):
        plain.raw(1)


def test_missing_message_is_not_found(store: Store) -> None:
    for call in (store.get, store.raw, store.thread):
        with pytest.raises(NotFound):
            call(999)
