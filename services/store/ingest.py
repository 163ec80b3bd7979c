"""SQL side of ingestion, threading and deletion.  Runs on the writer thread only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from services.models import ChannelKind
from services.store.blobs import Codec, decode_blob
from services.store.events import IngestResult, StoreEvent
from services.store.migrations import HASHED
from services.store.prepare import (
    DELETE_FTS,
    INSERT_FTS,
    FtsRow,
    PreparedMessage,
    fts_values,
    warnings_json,
)

__all__ = ["WriterState", "delete_messages", "indexed_values", "ingest_batch"]

_FOLDER_ROLES = {
    "inbox": "inbox", "sent": "sent", "sent items": "sent", "sent mail": "sent",
    "drafts": "drafts", "trash": "trash", "deleted items": "trash", "junk": "junk",
    "spam": "junk", "archive": "archive",
}

_INSERT_MESSAGE = """
INSERT INTO messages (account_id, folder_id, channel, remote_id, message_id, in_reply_to,
    refs, thread_id, conversation, sender_addr, sender_name, subject, date, received_at,
    flags, priority, size, snippet, has_attachments, raw_key, text_key, sha256, parse_warnings,
    body_state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_FTS = INSERT_FTS
_DELETE_FTS = DELETE_FTS


class WriterState:
    """Caches owned by the writer thread (account and folder ids)."""

    def __init__(self) -> None:
        self.accounts: dict[str, int] = {}
        self.folders: dict[tuple[int, str], int] = {}

    def clear(self) -> None:
        self.accounts.clear()
        self.folders.clear()

    def account_id(self, conn: sqlite3.Connection, name: str, channel: str) -> int:
        found = self.accounts.get(name)
        if found is not None:
            return found
        row = conn.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is None:
            cur = conn.execute(
                "INSERT INTO accounts (name, provider, channel) VALUES (?, 'local', ?)",
                (name, channel),
            )
            ident = int(cur.lastrowid or 0)
        else:
            ident = int(row[0])
        self.accounts[name] = ident
        return ident

    def folder_id(self, conn: sqlite3.Connection, account_id: int, name: str) -> int:
        key = (account_id, name)
        found = self.folders.get(key)
        if found is not None:
            return found
        row = conn.execute(
            "SELECT id FROM folders WHERE account_id = ? AND name = ?", key
        ).fetchone()
        if row is None:
            folded = name.casefold()
            cur = conn.execute(
                "INSERT INTO folders (account_id, name, name_key, role) VALUES (?, ?, ?, ?)",
                (account_id, name, folded, _FOLDER_ROLES.get(folded)),
            )
            ident = int(cur.lastrowid or 0)
        else:
            ident = int(row[0])
        self.folders[key] = ident
        return ident


class _Threads:
    """The batch's new thread rows and later dates for older ones, written at its end:
    one ``executemany`` each instead of an INSERT or UPDATE per message.  A new thread's
    id is taken as SQLite takes it (one more than the largest); a row's ``last_date``
    moves as the per-message ``coalesce(last_date, 0) < date`` UPDATE would move it.
    Whatever reads the table during the batch (a subject lookup, a merge) calls
    :meth:`flush` first."""

    def __init__(self) -> None:
        self.next_id: int | None = None
        self.new: dict[int, tuple[str, int | None]] = {}  # id -> (subject_key, last_date)
        self.dates: dict[int, int] = {}  # an older thread's id -> the newest date given

    def create(self, conn: sqlite3.Connection, subject_key: str, date: int | None) -> int:
        if self.next_id is None:
            self.next_id = int(conn.execute(
                "SELECT coalesce(max(id), 0) + 1 FROM threads").fetchone()[0])
        tid = self.next_id
        self.next_id += 1
        self.new[tid] = (subject_key, date)
        return tid

    def touch(self, tid: int, date: int) -> None:
        """What ``UPDATE threads SET last_date = date WHERE id = tid AND
        coalesce(last_date, 0) < date`` does."""
        row = self.new.get(tid)
        if row is not None:
            if (row[1] or 0) < date:
                self.new[tid] = (row[0], date)
            return
        if self.dates.get(tid, date) <= date:
            self.dates[tid] = date

    def flush(self, conn: sqlite3.Connection) -> None:
        if self.new:
            conn.executemany("INSERT INTO threads (id, subject_key, last_date) VALUES (?, ?, ?)",
                             [(tid, *row) for tid, row in self.new.items()])
            self.new = {}
        if self.dates:
            conn.executemany(
                "UPDATE threads SET last_date = ? WHERE id = ? AND coalesce(last_date, 0) < ?",
                [(date, tid, date) for tid, date in self.dates.items()])
            self.dates = {}


class _Pending:
    """One batch's rows for the tables nothing reads back during the batch (inserted with
    one ``executemany`` each at its end, in the same order) and its known remote ids."""

    def __init__(self, batch: Sequence[PreparedMessage]) -> None:
        self.batch = batch
        self.participants: list[tuple[int, int, int, str, str]] = []
        self.attachments: list[tuple[object, ...]] = []
        self.labels: list[tuple[int, str, str]] = []
        self.fts: list[tuple[object, ...]] = []
        self.blobs: list[tuple[str, str, bytes]] = []
        self.heads: list[tuple[int, str, bytes]] = []
        self.remote: dict[tuple[int, int], set[str]] = {}
        self.msgids = _MsgIds()
        self.threads = _Threads()

    def remote_ids(self, conn: sqlite3.Connection, acc: int, folder: int,
                   p: PreparedMessage) -> set[str]:
        """The remote ids stored in (acc, folder) among those the batch brings for the
        same account and folder names: one query per folder instead of one per message."""
        key = (acc, folder)
        found = self.remote.get(key)
        if found is None:
            wanted = [q.remote_id for q in self.batch if q.remote_id is not None
                      and q.account == p.account and q.folder == p.folder]
            found = {str(r[0]) for r in conn.execute(
                "SELECT remote_id FROM messages WHERE account_id = ? AND folder_id = ? AND "
                "remote_id IN (SELECT value FROM json_each(?))",
                (acc, folder, json.dumps(wanted)),
            )}
            self.remote[key] = found
        return found

    def flush(self, conn: sqlite3.Connection) -> None:
        if self.blobs:
            conn.executemany(
                "INSERT OR IGNORE INTO blobs (key, codec, data) VALUES (?, ?, ?)", self.blobs)
        if self.heads:
            conn.executemany(
                "INSERT INTO message_heads (message_id, codec, data) VALUES (?, ?, ?)",
                self.heads)
        self.msgids.flush(conn)
        self.threads.flush(conn)
        if self.participants:
            conn.executemany(
                "INSERT INTO participants (message_id, role, position, address, name) "
                "VALUES (?, ?, ?, ?, ?)", self.participants)
        if self.attachments:
            conn.executemany(
                "INSERT INTO attachments (message_id, part_id, position, filename, "
                "content_type, size, content_id, inline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self.attachments)
        if self.labels:
            conn.executemany(
                "INSERT OR IGNORE INTO labels (message_id, label, label_key) VALUES (?, ?, ?)",
                self.labels)
        if self.fts:
            conn.executemany(_INSERT_FTS, self.fts)
        self.participants, self.attachments, self.labels, self.fts = [], [], [], []
        self.blobs, self.heads = [], []


class _MsgIds:
    """The batch's view of the ``msgids`` table: rows read once per batch (one query for
    every key the batch links to) and rows the batch adds, inserted at its end.  A row is
    ``[thread_id, message_id]``; thread merges retarget the cached rows as the UPDATE
    retargets the stored ones."""

    def __init__(self) -> None:
        self.rows: dict[str, list[int | None]] = {}
        self.loaded: set[str] = set()
        self.new: dict[str, list[int | None]] = {}  # rows to insert, in order

    def load(self, conn: sqlite3.Connection, keys: list[str]) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k not in self.loaded]
        if not wanted:
            return
        for msgid, tid, mid in conn.execute(
            "SELECT msgid, thread_id, message_id FROM msgids WHERE msgid IN "
            "(SELECT value FROM json_each(?))", (json.dumps(wanted),)
        ):
            self.rows.setdefault(str(msgid), [int(tid), mid])
        self.loaded.update(wanted)

    def get(self, conn: sqlite3.Connection, key: str) -> list[int | None] | None:
        if key not in self.loaded:
            self.load(conn, [key])
        return self.rows.get(key)

    def add(self, key: str, tid: int, mid: int | None) -> None:
        row: list[int | None] = [tid, mid]
        self.rows[key] = row
        self.loaded.add(key)
        self.new[key] = row

    def set_message(self, conn: sqlite3.Connection, key: str, mid: int) -> None:
        row = self.rows[key]
        if key not in self.new:
            conn.execute("UPDATE msgids SET message_id = ? WHERE msgid = ?", (mid, key))
        row[1] = mid

    def retarget(self, others: set[int], keep: int) -> None:
        for row in self.rows.values():
            if row[0] in others:
                row[0] = keep

    def flush(self, conn: sqlite3.Connection) -> None:
        if self.new:
            conn.executemany("INSERT INTO msgids (msgid, thread_id, message_id) "
                             "VALUES (?, ?, ?)", [(k, r[0], r[1]) for k, r in self.new.items()])
        self.new = {}


def _is_duplicate(
    conn: sqlite3.Connection, acc: int, p: PreparedMessage, by_content: bool,
    known: set[str] | None,
) -> bool:
    if by_content and conn.execute(
        f"SELECT 1 FROM messages WHERE account_id = ? AND sha256 = ? AND {HASHED}",
        (acc, p.sha256),
    ).fetchone():
        return True
    return known is not None and p.remote_id in known


def _thread_keys(acc: int, p: PreparedMessage) -> tuple[list[str], list[str]]:
    """(all keys, reference keys) linking this message into the msgid map."""
    if p.conversation is not None:
        key = f"conv:{acc}:{p.channel}:{p.conversation}"
        return [key], []
    refs = list(dict.fromkeys(p.refs))
    if p.in_reply_to and p.in_reply_to not in refs:
        refs.append(p.in_reply_to)
    if p.message_id:
        refs = [r for r in refs if r != p.message_id]
        return [p.message_id, *refs], refs
    return refs, refs


def _merge_threads(
    conn: sqlite3.Connection, keep: int, others: set[int], updated: list[int]
) -> None:
    for other in sorted(others):
        updated.extend(
            int(r[0]) for r in conn.execute("SELECT id FROM messages WHERE thread_id = ?", (other,))
        )
        conn.execute("UPDATE msgids SET thread_id = ? WHERE thread_id = ?", (keep, other))
        conn.execute("UPDATE messages SET thread_id = ? WHERE thread_id = ?", (keep, other))
        conn.execute(
            "UPDATE threads SET last_date = max(coalesce(last_date, 0), coalesce("
            "(SELECT last_date FROM threads WHERE id = ?), 0)) WHERE id = ?",
            (other, keep),
        )
        conn.execute("DELETE FROM threads WHERE id = ?", (other,))


def _assign_thread(
    conn: sqlite3.Connection, keys: list[str], refs: list[str], p: PreparedMessage,
    updated: list[int], msgids: _MsgIds, threads: _Threads,
) -> tuple[int, dict[str, int | None]]:
    existing: dict[str, int | None] = {}
    tids: set[int] = set()
    for key in keys:
        row = msgids.get(conn, key)
        if row is not None:
            assert row[0] is not None
            tids.add(row[0])
            existing[key] = row[1]
    if not tids:
        tid: int | None = None
        if p.conversation is None and not refs and p.reply_subject and p.subject_key:
            threads.flush(conn)
            row = conn.execute(
                "SELECT id FROM threads WHERE subject_key = ? "
                "ORDER BY last_date DESC, id DESC LIMIT 1",
                (p.subject_key,),
            ).fetchone()
            tid = int(row[0]) if row else None
        if tid is None:
            return threads.create(conn, p.subject_key, p.date), existing
    else:
        tid = min(tids)
        if len(tids) > 1:
            threads.flush(conn)
            _merge_threads(conn, tid, tids - {tid}, updated)
            msgids.retarget(tids - {tid}, tid)
    if p.date is not None:
        threads.touch(tid, p.date)
    return tid, existing


def _insert_one(
    conn: sqlite3.Connection,
    p: PreparedMessage,
    where: tuple[int, int, str],
    keys: tuple[list[str], list[str]],
    updated: list[int],
    by_content: bool,
    pending: _Pending,
    headers_only: bool,
) -> int | None:
    """Insert ``p`` into (account id, folder id, channel) ``where``; ``keys`` are its
    :func:`_thread_keys`."""
    acc, folder, channel = where
    known = pending.remote_ids(conn, acc, folder, p) if p.remote_id is not None else None
    if _is_duplicate(conn, acc, p, by_content, known):
        return None
    tid, existing = _assign_thread(conn, keys[0], keys[1], p, updated, pending.msgids,
                                   pending.threads)
    if not headers_only:
        pending.blobs.append((p.sha256, p.raw_codec, p.raw_data))
    if p.text_key is not None:
        pending.blobs.append((p.text_key, p.text_codec, p.text_data))
    cur = conn.execute(
        _INSERT_MESSAGE,
        (acc, folder, channel, p.remote_id, p.message_id, p.in_reply_to, " ".join(p.refs),
         tid, p.conversation, p.sender_addr, p.sender_name, p.subject, p.date, p.received_at,
         p.flags, p.priority, p.size, p.snippet, int(p.has_attachments),
         None if headers_only else p.sha256, p.text_key, "" if headers_only else p.sha256,
         warnings_json(p.parse_warnings), int(headers_only)),  # body_state 1: BODY_HEADERS
    )
    mid = int(cur.lastrowid or 0)
    if headers_only:
        pending.heads.append((mid, p.raw_codec, p.raw_data))
    own = p.message_id if p.conversation is None else None
    for key in keys[0]:
        if key not in existing:
            pending.msgids.add(key, tid, mid if key == own else None)
        elif key == own and existing[key] is None:
            pending.msgids.set_message(conn, key, mid)
    if known is not None and p.remote_id is not None:
        known.add(p.remote_id)
    if p.participants:
        pending.participants.extend([(mid, *row) for row in p.participants])
    if p.attachments:
        pending.attachments.extend(
            [(mid, row[0], pos, *row[1:]) for pos, row in enumerate(p.attachments)])
    if p.labels:
        pending.labels.extend([(mid, label, label.casefold()) for label in p.labels])
    pending.fts.append((mid, *p.fts))
    return mid


def ingest_batch(
    conn: sqlite3.Connection,
    state: WriterState,
    batch: Sequence[PreparedMessage],
    *,
    dedupe_content: bool = True,
    headers_only: bool = False,
) -> tuple[IngestResult, list[StoreEvent]]:
    """Insert one batch (the caller holds the transaction).

    A message is a duplicate when its account already has the same (folder, remote id);
    with ``dedupe_content`` (imports) also when the account has the same raw bytes
    anywhere.  Server accounts pass ``False``: the same bytes in two folders are two
    server objects, each with its own flags and remote id.  ``headers_only``: the raws
    are header blocks (``body_state`` 1, see ``services.store.partial``), kept in
    ``message_heads`` by message id rather than as shared blobs.
    """
    ids: list[int] = []
    updated: list[int] = []
    duplicates = warnings = 0
    pending = _Pending(batch)
    places: list[tuple[int, int, str]] = []
    keys: list[tuple[list[str], list[str]]] = []
    for p in batch:
        channel = p.channel or str(ChannelKind.EMAIL)
        acc = state.account_id(conn, p.account, channel)
        places.append((acc, state.folder_id(conn, acc, p.folder), channel))
        keys.append(_thread_keys(acc, p))
    pending.msgids.load(conn, [key for all_keys, _ in keys for key in all_keys])
    for p, where, thread_keys in zip(batch, places, keys, strict=True):
        mid = _insert_one(conn, p, where, thread_keys, updated, dedupe_content, pending,
                          headers_only)
        if mid is None:
            duplicates += 1
            continue
        ids.append(mid)
        warnings += bool(p.parse_warnings)
    pending.flush(conn)
    events: list[StoreEvent] = []
    if ids:
        events.append(StoreEvent("added", tuple(ids)))
    stale = sorted(set(updated) - set(ids))
    if stale:
        events.append(StoreEvent("updated", tuple(stale)))
    return IngestResult(len(ids), duplicates, warnings, tuple(ids)), events


def indexed_values(
    conn: sqlite3.Connection, mid: int, subject: str, text_key: object, codec: Codec
) -> tuple[tuple[tuple[int, int, str, str], ...], FtsRow]:
    """(participants, the exact FTS values the row was indexed with).

    A contentless FTS5 row can only be deleted with the values it was inserted with;
    every delete and re-index goes through here so they always agree."""
    parts = tuple(
        (int(r[0]), int(r[1]), str(r[2]), str(r[3]))
        for r in conn.execute(
            "SELECT role, position, address, name FROM participants WHERE message_id = ? "
            "ORDER BY role, position",
            (mid,),
        )
    )
    names = [str(r[0]) for r in conn.execute(
        "SELECT filename FROM attachments WHERE message_id = ? ORDER BY position", (mid,)
    )]
    body = ""
    if text_key is not None:
        blob = conn.execute("SELECT codec, data FROM blobs WHERE key = ?", (text_key,)).fetchone()
        if blob is not None:
            body = decode_blob(str(blob[0]), bytes(blob[1]), codec).decode(
                "utf-8", "surrogatepass"
            )
    row = fts_values(subject, parts, body, names)
    # extracted attachment text (services.store.attachments), in attachment order
    att_text = "\n".join(
        decode_blob(str(r[0]), bytes(r[1]), codec).decode("utf-8", "surrogatepass")
        for r in conn.execute(
            "SELECT b.codec, b.data FROM attachments a JOIN blobs b ON b.key = a.text_key "
            "WHERE a.message_id = ? ORDER BY a.position", (mid,))
    )
    return parts, (*row[:7], att_text, row[8]) if att_text else row


def delete_messages(
    conn: sqlite3.Connection, ids: Sequence[int], codec: Codec
) -> tuple[int, list[StoreEvent]]:
    """Remove messages, their FTS rows and any blob no other message uses."""
    gone: list[int] = []
    for mid in ids:
        row = conn.execute(
            "SELECT subject, raw_key, text_key, sha256 FROM messages WHERE id = ?", (mid,)
        ).fetchone()
        if row is None:
            continue
        subject, raw_key, text_key = str(row[0]), row[1], row[2]
        _, indexed = indexed_values(conn, mid, subject, text_key, codec)
        conn.execute(_DELETE_FTS, (mid, *indexed))
        conn.execute("UPDATE msgids SET message_id = NULL WHERE message_id = ?", (mid,))
        conn.execute("DELETE FROM messages WHERE id = ?", (mid,))  # its head goes with it
        keys = [k for k in (raw_key, text_key) if k is not None]
        if not keys:
            gone.append(mid)
            continue
        still_used = conn.execute(
            "SELECT 1 FROM messages WHERE account_id IN (SELECT id FROM accounts) "
            f"AND sha256 = ? AND {HASHED} LIMIT 1",
            (row[3],),
        ).fetchone()
        if still_used is None:
            conn.executemany("DELETE FROM blobs WHERE key = ?", [(k,) for k in keys])
        gone.append(mid)
    return len(gone), ([StoreEvent("deleted", tuple(gone))] if gone else [])
