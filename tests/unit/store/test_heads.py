"""Header-only messages (an IMAP header sync): the header block is kept in
``message_heads`` under the message id, not as a shared blob; the body fetch replaces it,
a delete takes it along, and rows stored the older way (a blob) still read and update."""

from __future__ import annotations

import sqlite3

import pytest

from services.mime.fastheaders import parse_header_fields
from services.mime.parse import parse_message
from services.store import Store, StoreEvent
from services.store.ingest import indexed_values
from services.store.partial import (
    BODY_FULL,
    BODY_HEADERS,
    body_state,
    drop_stale,
    ingest_remote,
    mark_stale,
    replace_body,
)
from services.store.prepare import PreparedMessage, prepare

HEAD = (b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: quarterly plan\r\n"
        b"Date: Mon, 2 Jun 2025 10:00:00 +0000\r\nMessage-ID: <q1@example.test>\r\n\r\n")
FULL = HEAD[:-2] + b"Content-Type: text/plain\r\n\r\nthe whole body: budget figures\r\n"


def _head(store: Store, folder: str = "INBOX", uid: str = "7") -> PreparedMessage:
    message = parse_header_fields(HEAD, account="work", folder=folder, remote_id=uid)
    return prepare(message, HEAD, store.codec, compress=False)


def _full(store: Store) -> PreparedMessage:
    return prepare(parse_message(FULL, account="work", folder="INBOX", remote_id="7"), FULL,
                   store.codec)


def _count(store: Store, sql: str, *params: object) -> int:
    return int(store.read_rows(sql, params)[0][0])


def test_a_header_block_lives_by_message_id_and_the_body_replaces_it(store: Store) -> None:
    store.ensure_account("work", "imap")
    mid = ingest_remote(store, [_head(store)], headers_only=True).result.ids[0]
    assert body_state(store, mid) == BODY_HEADERS
    assert store.raw(mid) == HEAD and store.get(mid).subject == "quarterly plan"
    assert store.read_rows("SELECT raw_key, sha256 FROM messages WHERE id = ?",
                           (mid,)) == [(None, "")]  # no content hash for a header block
    assert _count(store, "SELECT count(*) FROM blobs") == 0  # nothing content-addressed
    assert _count(store, "SELECT count(*) FROM message_heads WHERE message_id = ?", mid) == 1

    replace_body(store, mid, _full(store))
    assert body_state(store, mid) == BODY_FULL and store.raw(mid) == FULL
    assert store.read_rows("SELECT raw_key, sha256 FROM messages WHERE id = ?",
                           (mid,)) == [(_full(store).sha256,) * 2]
    assert _count(store, "SELECT count(*) FROM message_heads") == 0
    assert "budget figures" in store.get(mid).body_text


def test_two_folders_with_the_same_header_block_keep_their_own_heads(store: Store) -> None:
    store.ensure_account("work", "imap")
    a = ingest_remote(store, [_head(store, "INBOX", "7")], headers_only=True).result.ids[0]
    b = ingest_remote(store, [_head(store, "Archive", "3")], headers_only=True).result.ids[0]
    store.delete([a])
    assert _count(store, "SELECT count(*) FROM message_heads") == 1  # a's went with it
    assert store.raw(b) == HEAD  # b's is untouched


def test_a_header_only_row_stored_as_a_blob_still_reads_and_is_replaced(store: Store) -> None:
    """Rows written before ``message_heads`` existed: the head is a blob under raw_key."""
    store.ensure_account("work", "imap")
    mid = ingest_remote(store, [_head(store)], headers_only=False).result.ids[0]
    store.write(lambda conn: (conn.execute(
        "UPDATE messages SET body_state = ? WHERE id = ?", (BODY_HEADERS, mid)), []))
    old_key = store.read_rows("SELECT raw_key FROM messages WHERE id = ?", (mid,))[0][0]
    assert old_key is not None and store.raw(mid) == HEAD

    replace_body(store, mid, _full(store))
    assert store.raw(mid) == FULL
    assert _count(store, "SELECT count(*) FROM blobs WHERE key = ?", old_key) == 0  # unused


@pytest.mark.parametrize("headers_only", [True, False])
def test_deleting_removes_the_index_row_and_the_raw(store: Store, headers_only: bool) -> None:
    store.ensure_account("work", "imap")
    mid = ingest_remote(store, [_head(store)], headers_only=headers_only).result.ids[0]
    store.delete([mid])
    assert _count(store, "SELECT count(*) FROM message_heads") == 0
    assert _count(store, "SELECT count(*) FROM blobs") == 0
    assert _count(store, "SELECT count(*) FROM messages") == 0


def test_the_full_text_row_of_a_head_is_what_a_blob_row_indexes(store: Store) -> None:
    store.ensure_account("work", "imap")
    a = ingest_remote(store, [_head(store, "INBOX", "7")], headers_only=True).result.ids[0]
    b = ingest_remote(store, [_head(store, "Archive", "3")], headers_only=False).result.ids[0]

    def both(conn: sqlite3.Connection) -> tuple[list[object], list[StoreEvent]]:
        return [indexed_values(conn, m, "quarterly plan", None, store.codec) for m in (a, b)], []

    first, second = store.write(both)
    assert first == second and first[1][0] == "quarterly plan"


def test_a_header_only_copy_without_message_id_is_claimed_after_a_remap(store: Store) -> None:
    """No content hash to match on: the subject, date and size probe finds the orphan."""
    store.ensure_account("work", "imap")
    head = HEAD.replace(b"Message-ID: <q1@example.test>\r\n", b"")
    first = prepare(parse_header_fields(head, account="work", folder="INBOX", remote_id="7"),
                    head, store.codec, compress=False)
    assert first.message_id is None
    mid = ingest_remote(store, [first], headers_only=True).result.ids[0]
    mark_stale(store, "work", "INBOX")  # UIDVALIDITY changed
    again = ingest_remote(store, [first._replace(remote_id="70")], headers_only=True)
    assert again.claimed == (mid,) and again.result.ids == ()
    assert drop_stale(store, "work", "INBOX") == 0
    assert store.raw(mid) == head
