"""Attachments in the store: analysis results, extracted text and the attachment view.

Extracted text is a blob (``atext:<sha256 of the content>``) written through the
store's codec and named by ``attachments.text_key``; it is indexed in the message's
``att_text`` full-text column, so a search for a word inside an attachment finds the
message.  Because the index is contentless, :func:`record_attachment` deletes the
message's row with the values it was indexed with (``ingest.indexed_values``, which
reads the attachment texts back) before inserting the new one.

:class:`StoreCache` keeps derived data (thumbnails, extraction results) in the blob
table under ``derived:<key>``, through the codec, so it is encrypted with the rest.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.models import ChannelKind
from services.store.blobs import decode_blob, encode_blob
from services.store.events import StoreEvent
from services.store.ingest import indexed_values
from services.store.prepare import DELETE_FTS, INSERT_FTS

if TYPE_CHECKING:
    from services.store.store import Store

__all__ = [
    "AttachmentRecord",
    "StoreCache",
    "attachment_text",
    "list_attachments",
    "prune_derived",
    "record_attachment",
    "unanalysed_attachments",
]

_DERIVED = "derived:"


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """One row of the attachment view: an attachment with its message's context."""

    message_id: int
    part_id: str
    filename: str
    content_type: str
    size: int
    inline: bool
    sha256: str | None
    kind: str | None
    status: str | None
    risks: tuple[str, ...]
    has_text: bool
    channel: ChannelKind
    account: str
    sender: str
    sender_name: str
    subject: str
    date: datetime | None


class StoreCache:
    """A :class:`services.attachments.cache.DerivedCache` in the store's blob table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str) -> bytes | None:
        rows = self._store.read_rows("SELECT codec, data FROM blobs WHERE key = ?",
                                     (_DERIVED + key,))
        if not rows:
            return None
        return decode_blob(str(rows[0][0]), bytes(rows[0][1]), self._store.codec)

    def put(self, key: str, data: bytes) -> None:
        column, stored = encode_blob(data, self._store.codec)

        def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
            conn.execute("INSERT OR REPLACE INTO blobs (key, codec, data) VALUES (?, ?, ?)",
                         (_DERIVED + key, column, stored))
            return None, []

        self._store.write(task)


def record_attachment(
    store: Store, message_id: int, part_id: str, *, sha256: str, kind: str, status: str,
    risks: Iterable[str] = (), text: str = "",
) -> None:
    """Store an attachment's analysis and extracted text, and re-index its message."""
    text_key = f"atext:{sha256}" if text else None
    blob = encode_blob(text.encode("utf-8", "surrogatepass"), store.codec) if text else None
    risk_json = json.dumps(sorted(risks))
    codec = store.codec

    def task(conn: sqlite3.Connection) -> tuple[bool, list[StoreEvent]]:
        row = conn.execute("SELECT subject, text_key FROM messages WHERE id = ?",
                           (message_id,)).fetchone()
        if row is None or conn.execute(
            "SELECT 1 FROM attachments WHERE message_id = ? AND part_id = ?",
            (message_id, part_id)).fetchone() is None:
            return False, []
        subject, body_key = str(row[0]), row[1]
        _, old = indexed_values(conn, message_id, subject, body_key, codec)
        if blob is not None:
            conn.execute("INSERT OR IGNORE INTO blobs (key, codec, data) VALUES (?, ?, ?)",
                         (text_key, *blob))
        conn.execute(
            "UPDATE attachments SET sha256 = ?, kind = ?, status = ?, risks = ?, text_key = ? "
            "WHERE message_id = ? AND part_id = ?",
            (sha256, kind, status, risk_json, text_key, message_id, part_id))
        _, new = indexed_values(conn, message_id, subject, body_key, codec)
        if new != old:
            conn.execute(DELETE_FTS, (message_id, *old))
            conn.execute(INSERT_FTS, (message_id, *new))
        return True, [StoreEvent("updated", (message_id,))]

    store.write(task)


def attachment_text(store: Store, message_id: int, part_id: str) -> str:
    """The stored extracted text of one attachment ('' when there is none)."""
    rows = store.read_rows(
        "SELECT b.codec, b.data FROM attachments a JOIN blobs b ON b.key = a.text_key "
        "WHERE a.message_id = ? AND a.part_id = ?", (message_id, part_id))
    if not rows:
        return ""
    return decode_blob(str(rows[0][0]), bytes(rows[0][1]), store.codec).decode(
        "utf-8", "surrogatepass")


def unanalysed_attachments(store: Store, limit: int = 100) -> list[tuple[int, str]]:
    """``(message_id, part_id)`` of attachments not analysed yet, oldest message first."""
    return [(int(r[0]), str(r[1])) for r in store.read_rows(
        "SELECT a.message_id, a.part_id FROM attachments a JOIN messages m "
        "ON m.id = a.message_id WHERE a.sha256 IS NULL AND m.body_state = 0 "
        "ORDER BY a.message_id, a.position LIMIT ?", (limit,))]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fts_terms(words: Sequence[str]) -> str:
    quoted = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    return "{att_names att_text} : (" + quoted + ")"


_SELECT = (
    "SELECT v.message_id, v.part_id, v.filename, v.content_type, v.size, v.inline, v.sha256, "
    "v.kind, v.status, v.risks, v.text_key, v.channel, v.account, v.sender_addr, "
    "v.sender_name, v.subject, v.date FROM attachment_view v"
)


def list_attachments(
    store: Store, *, text: str = "", kind: str | None = None, account: str | None = None,
    sender: str | None = None, channel: str | None = None, include_inline: bool = False,
    limit: int = 100, offset: int = 0,
) -> list[AttachmentRecord]:
    """Attachments across every channel, newest first.

    ``text``: words that must all appear in the attachment's name or extracted text
    (the full-text index finds the messages, each attachment is then checked)."""
    where: list[str] = []
    params: list[object] = []
    words = [w for w in text.split() if w]
    if words:
        where.append("v.message_id IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
        params.append(_fts_terms(words))
    for column, value in (("v.kind", kind), ("v.account", account), ("v.channel", channel)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(str(value))
    if sender is not None:
        where.append("v.sender_addr = ? COLLATE NOCASE")
        params.append(sender)
    if not include_inline:
        where.append("v.inline = 0")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY v.date IS NULL, v.date DESC, v.message_id DESC, v.position"
    out: list[AttachmentRecord] = []
    skipped = 0
    folded = [_fold(w) for w in words]
    for r in store.read_rows(sql, params):
        if folded:
            haystack = _fold(str(r[2]) + "\n" + attachment_text(store, int(r[0]), str(r[1])))
            if not all(w in haystack for w in folded):
                continue
        if skipped < offset:
            skipped += 1
            continue
        out.append(AttachmentRecord(
            message_id=int(r[0]), part_id=str(r[1]), filename=str(r[2]),
            content_type=str(r[3]), size=int(r[4]), inline=bool(r[5]),
            sha256=r[6], kind=r[7], status=r[8],
            risks=tuple(json.loads(r[9])) if r[9] else (), has_text=r[10] is not None,
            channel=ChannelKind(str(r[11])), account=str(r[12]), sender=str(r[13]),
            sender_name=str(r[14]), subject=str(r[15]),
            date=datetime.fromtimestamp(int(r[16]), UTC) if r[16] is not None else None))
        if len(out) >= limit:
            break
    return out


def prune_derived(store: Store) -> int:
    """Delete extracted texts and cached derived data of content no stored attachment
    has any more (after messages were deleted); returns how many blobs went."""

    def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
        live = {str(r[0]) for r in conn.execute(
            "SELECT DISTINCT sha256 FROM attachments WHERE sha256 IS NOT NULL")}
        dead = []
        for (key,) in conn.execute(
                "SELECT key FROM blobs WHERE key LIKE 'atext:%' OR key LIKE 'derived:%'"):
            parts = str(key).split(":")
            sha = parts[1] if parts[0] == "atext" else (parts[2] if len(parts) > 2 else "")
            if sha not in live:
                dead.append((key,))
        conn.executemany("DELETE FROM blobs WHERE key = ?", dead)
        return len(dead), []

    return store.write(task)
