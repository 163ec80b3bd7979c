"""Store support for server-backed folders: header-only messages, remote flags, remaps.

An IMAP header sync stores each message with only its header block as the raw
(``messages.body_state = BODY_HEADERS``), kept in ``message_heads`` under the message's
id (not a shared, content-addressed blob: ``raw_key`` is NULL); :func:`replace_body`
later swaps in the whole message as a blob, drops the head, re-indexes its full-text row
(deleted with the values it was indexed with, as the FTS table is contentless) and marks
it ``BODY_FULL``.  ``Store.get``/``Store.raw`` read whichever raw is current.

When a folder's UIDVALIDITY changes, :func:`mark_stale` prefixes the folder's remote ids
with ``stale:``; :func:`ingest_remote` then *claims* a stale (or remote-id-less) local
message matching an incoming one (Message-ID, else raw sha256, else subject+date+size)
instead of inserting a second copy, and :func:`drop_stale` removes what no server
message claimed.  Every function runs one transaction on the store's writer thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.errors import NotFound
from services.store.events import IngestResult, StoreEvent
from services.store.ingest import WriterState, delete_messages, indexed_values, ingest_batch
from services.store.migrations import HASHED
from services.store.prepare import (
    DELETE_FTS,
    INSERT_FTS,
    PreparedMessage,
    fts_values,
    warnings_json,
)
from services.store.store import Store

__all__ = [
    "BODY_FULL",
    "BODY_HEADERS",
    "STALE_PREFIX",
    "RemoteIngest",
    "apply_remote_flags",
    "body_state",
    "drop_stale",
    "folder_index",
    "headers_only_ids",
    "ingest_remote",
    "mark_stale",
    "relocate",
    "replace_body",
]

BODY_FULL = 0
BODY_HEADERS = 1
STALE_PREFIX = "stale:"

_DELETE_FTS = DELETE_FTS
_INSERT_FTS = INSERT_FTS
_ORPHAN = "(remote_id IS NULL OR remote_id LIKE 'stale:%')"


@dataclass(frozen=True, slots=True)
class RemoteIngest:
    """``result``: what was inserted; ``claimed``: existing local messages that took the
    incoming remote id instead of a second copy being stored."""

    result: IngestResult
    claimed: tuple[int, ...] = ()


def _writer_state(store: Store) -> WriterState:
    return store._state  # the store package's own writer-thread cache


def _account_id(store: Store, account: str) -> int:
    rows = store.read_rows("SELECT id FROM accounts WHERE name = ?", (account,))
    if not rows:
        raise NotFound(f"no account named {account!r}")
    return int(rows[0][0])


#: Does the folder hold any orphan?  (Asked once per folder per batch: messages_orphan.)
HAS_ORPHANS = f"SELECT 1 FROM messages WHERE folder_id = ? AND {_ORPHAN} LIMIT 1"


def claim_probes(acc: int, folder: int, p: PreparedMessage) -> list[tuple[str, tuple[object, ...]]]:
    """The queries that look for an orphaned local copy of ``p``, most specific first."""
    # ``+folder_id``: probe by the message's own keys (message-id, sha, date indexes), not
    # by walking messages_orphan, which after a UIDVALIDITY change holds the whole folder
    base = f"SELECT id FROM messages WHERE account_id = ? AND +folder_id = ? AND {_ORPHAN}"
    probes: list[tuple[str, tuple[object, ...]]] = []
    if p.message_id:
        probes.append((" AND message_id = ?", (p.message_id,)))
    probes.append((f" AND sha256 = ? AND {HASHED}", (p.sha256,)))
    if not p.message_id:
        probes.append((" AND subject = ? AND date IS ? AND size = ?", (p.subject, p.date, p.size)))
    return [(f"{base}{extra} ORDER BY id LIMIT 1", (acc, folder, *params))
            for extra, params in probes]


def _claim(conn: sqlite3.Connection, acc: int, folder: int, p: PreparedMessage) -> int | None:
    for sql, params in claim_probes(acc, folder, p):
        row = conn.execute(sql, params).fetchone()
        if row is not None:
            return int(row[0])
    return None


def ingest_remote(
    store: Store, batch: Sequence[PreparedMessage], *, headers_only: bool
) -> RemoteIngest:
    """Insert server messages (one transaction), claiming orphaned local copies first.

    Messages already stored under the same (folder, remote id) are duplicates and skipped;
    ``headers_only`` marks the inserted ones ``BODY_HEADERS``."""
    state = _writer_state(store)
    items = list(batch)

    def task(conn: sqlite3.Connection) -> tuple[RemoteIngest, list[StoreEvent]]:
        try:
            claimed: list[int] = []
            inserts: list[PreparedMessage] = []
            orphans: dict[int, bool] = {}
            for p in items:
                acc = state.account_id(conn, p.account, p.channel)
                fid = state.folder_id(conn, acc, p.folder)
                if fid not in orphans:
                    orphans[fid] = conn.execute(HAS_ORPHANS, (fid,)).fetchone() is not None
                mid = _claim(conn, acc, fid, p) if orphans[fid] else None
                if mid is None:
                    inserts.append(p)
                    continue
                conn.execute(
                    "UPDATE messages SET remote_id = ?, flags = ? WHERE id = ?",
                    (p.remote_id, p.flags, mid),
                )
                claimed.append(mid)
            result, events = ingest_batch(conn, state, inserts, dedupe_content=False,
                                          headers_only=headers_only)
        except BaseException:
            state.clear()  # ids cached during a rolled-back transaction are void
            raise
        if claimed:
            events.append(StoreEvent("flags", tuple(claimed)))
        return RemoteIngest(result, tuple(claimed)), events

    return store.write(task)


def folder_index(store: Store, account: str, folder: str) -> dict[str, tuple[int, int]]:
    """Remote id → (local id, flag bits) for the folder's messages with a live remote id."""
    rows = store.read_rows(
        "SELECT m.remote_id, m.id, m.flags FROM messages m JOIN folders f ON f.id = m.folder_id "
        "JOIN accounts a ON a.id = m.account_id WHERE a.name = ? AND f.name = ? "
        "AND m.remote_id IS NOT NULL AND m.remote_id NOT LIKE 'stale:%'",
        (account, folder),
    )
    return {str(r): (int(i), int(b)) for r, i, b in rows}


def apply_remote_flags(store: Store, bits: Mapping[int, int]) -> tuple[int, ...]:
    """Set each message's flag bits (local id → bits) where they differ; returns the
    ids that changed."""
    wanted = [(int(b), int(i), int(b)) for i, b in bits.items()]
    if not wanted:
        return ()

    def task(conn: sqlite3.Connection) -> tuple[tuple[int, ...], list[StoreEvent]]:
        changed: list[int] = []
        for new, mid, _ in wanted:
            row = conn.execute(
                "UPDATE messages SET flags = ? WHERE id = ? AND flags != ? RETURNING id",
                (new, mid, new),
            ).fetchone()
            if row is not None:
                changed.append(mid)
        return tuple(changed), ([StoreEvent("flags", tuple(changed))] if changed else [])

    return store.write(task)


def mark_stale(store: Store, account: str, folder: str) -> int:
    """Orphan the folder's messages (UIDVALIDITY changed): their remote ids get the
    ``stale:`` prefix until a server message claims them.  Returns how many."""
    acc = _account_id(store, account)

    def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
        cur = conn.execute(
            "UPDATE messages SET remote_id = ? || remote_id WHERE account_id = ? AND folder_id = "
            "(SELECT id FROM folders WHERE account_id = ? AND name = ?) "
            "AND remote_id IS NOT NULL AND remote_id NOT LIKE 'stale:%'",
            (STALE_PREFIX, acc, acc, folder),
        )
        return cur.rowcount, []

    return store.write(task)


def drop_stale(store: Store, account: str, folder: str) -> int:
    """Delete the folder's stale messages no server message claimed; returns how many."""
    acc = _account_id(store, account)
    codec = store.codec

    def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
        ids = [int(r[0]) for r in conn.execute(
            "SELECT id FROM messages WHERE account_id = ? AND folder_id = "
            "(SELECT id FROM folders WHERE account_id = ? AND name = ?) "
            "AND remote_id LIKE 'stale:%'",
            (acc, acc, folder),
        )]
        return delete_messages(conn, ids, codec)

    return store.write(task)


def relocate(store: Store, message_id: int, folder: str, remote_id: str | None) -> None:
    """Move a stored message to ``folder`` under a new remote id (after a server MOVE)."""
    state = _writer_state(store)

    def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
        row = conn.execute(
            "SELECT account_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        try:
            fid = state.folder_id(conn, int(row[0]), folder)
        except BaseException:
            state.clear()
            raise
        conn.execute(
            "UPDATE messages SET folder_id = ?, remote_id = ? WHERE id = ?",
            (fid, remote_id, message_id),
        )
        return None, [StoreEvent("updated", (message_id,))]

    store.write(task)


def body_state(store: Store, message_id: int) -> int:
    rows = store.read_rows("SELECT body_state FROM messages WHERE id = ?", (message_id,))
    if not rows:
        raise NotFound(f"no message with id {message_id}")
    return int(rows[0][0])


def headers_only_ids(store: Store, account: str, folder: str | None = None) -> list[int]:
    sql = (
        "SELECT m.id FROM messages m JOIN accounts a ON a.id = m.account_id "
        "LEFT JOIN folders f ON f.id = m.folder_id WHERE a.name = ? AND m.body_state = ?"
    )
    params: list[object] = [account, BODY_HEADERS]
    if folder is not None:
        sql += " AND f.name = ?"
        params.append(folder)
    return [int(r[0]) for r in store.read_rows(sql + " ORDER BY m.id", params)]


def replace_body(store: Store, message_id: int, full: PreparedMessage) -> None:
    """Replace a message's raw with the whole message ``full`` (prepared from the full
    raw) and re-index its body and attachments; header columns stay as they are."""
    codec = store.codec

    def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
        row = conn.execute(
            "SELECT subject, raw_key, text_key, sha256 FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        subject, old_raw, old_text, old_sha = str(row[0]), row[1], row[2], str(row[3])
        parts, old_fts = indexed_values(conn, message_id, subject, old_text, codec)
        conn.execute(_DELETE_FTS, (message_id, *old_fts))
        conn.execute(
            "INSERT OR IGNORE INTO blobs (key, codec, data) VALUES (?, ?, ?)",
            (full.sha256, full.raw_codec, full.raw_data),
        )
        if full.text_key is not None:
            conn.execute(
                "INSERT OR IGNORE INTO blobs (key, codec, data) VALUES (?, ?, ?)",
                (full.text_key, full.text_codec, full.text_data),
            )
        conn.execute(
            "UPDATE messages SET raw_key = ?, text_key = ?, sha256 = ?, size = ?, snippet = ?, "
            "has_attachments = ?, parse_warnings = ?, body_state = ? WHERE id = ?",
            (full.sha256, full.text_key, full.sha256, full.size, full.snippet,
             int(full.has_attachments), warnings_json(full.parse_warnings), BODY_FULL,
             message_id),
        )
        conn.execute("DELETE FROM attachments WHERE message_id = ?", (message_id,))
        if full.attachments:
            conn.executemany(
                "INSERT INTO attachments (message_id, part_id, position, filename, "
                "content_type, size, content_id, inline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(message_id, r[0], pos, *r[1:]) for pos, r in enumerate(full.attachments)],
            )
        body = full.fts[5]
        conn.execute(_INSERT_FTS, (message_id, *fts_values(
            subject, parts, body, [a[1] for a in full.attachments]
        )))
        conn.execute("DELETE FROM message_heads WHERE message_id = ?", (message_id,))
        if old_raw is not None and old_sha != full.sha256 and conn.execute(
            "SELECT 1 FROM messages WHERE sha256 = ? LIMIT 1", (old_sha,)
        ).fetchone() is None:
            conn.executemany(
                "DELETE FROM blobs WHERE key = ?",
                [(k,) for k in _unused(old_raw, old_text, full) if k is not None],
            )
        return None, [StoreEvent("updated", (message_id,))]

    store.write(task)


def _unused(old_raw: object, old_text: object, full: PreparedMessage) -> Iterable[str | None]:
    for key in (old_raw, old_text):
        if isinstance(key, str) and key not in (full.sha256, full.text_key):
            yield key
