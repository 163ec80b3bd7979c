"""The outbox: every message to send, persisted *before* any network I/O.

Rows live in the ``outbox`` table (migration 2); the raw message goes through the
store's blob codec like every other content (key ``"outbox-" + sha256``, a namespace of
its own so deleting a stored message of the same bytes never removes a queued one).

Life of a row::

    draft ──enqueue──► queued ──claim──► sending ──► sent
                         ▲                  │
                         └──── mark_retry ──┤ (next_attempt in the future)
                                            └──► failed

``message_id`` (RFC 5322 Message-ID without angle brackets) is the idempotency key:
enqueueing the same id twice returns the existing row (a draft is replaced by the queued
version).  ``attempts`` counts tries on the current route (``provider``); it restarts at
0 when the sender fails over to another route.  ``error_type`` classifies the last
failure (``TEMPORARY``, ``CONNECTION``, ``UNCERTAIN``, ``INTERRUPTED``, ``QUOTA``...);
``UNCERTAIN``/``INTERRUPTED`` mean the previous try may have reached the server.
Times are unix seconds (floats: sub-second retry schedules are kept).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from services.errors import NotFound, StoreError, ValidationError
from services.store.blobs import blob_key, decode_blob, encode_blob
from services.store.events import StoreEvent
from services.store.store import Store

__all__ = [
    "OutboxItem",
    "OutboxStatus",
    "claim",
    "due",
    "enqueue",
    "get",
    "list_items",
    "load_raw",
    "mark_failed",
    "mark_retry",
    "mark_sending",
    "mark_sent",
    "next_due",
    "save_draft",
    "stuck_sending",
]

OutboxStatus = Literal["draft", "queued", "sending", "sent", "failed"]
_COLUMNS = (
    "id, account, message_id, raw_key, sender, recipients, status, attempts, next_attempt, "
    "last_error, error_type, provider, created_at, updated_at, sent_at"
)
_NONE: list[StoreEvent] = []


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    account: str
    message_id: str
    raw_key: str
    sender: str
    recipients: tuple[str, ...]
    status: OutboxStatus
    attempts: int
    next_attempt: float
    last_error: str | None
    error_type: str | None
    provider: str | None
    created_at: float
    updated_at: float
    sent_at: float | None


def _item(row: Sequence[Any]) -> OutboxItem:
    return OutboxItem(
        id=int(row[0]),
        account=str(row[1]),
        message_id=str(row[2]),
        raw_key=str(row[3]),
        sender=str(row[4]),
        recipients=tuple(json.loads(row[5])),
        status=row[6],
        attempts=int(row[7]),
        next_attempt=float(row[8]),
        last_error=row[9],
        error_type=row[10],
        provider=row[11],
        created_at=float(row[12]),
        updated_at=float(row[13]),
        sent_at=None if row[14] is None else float(row[14]),
    )


def _norm_id(message_id: str) -> str:
    mid = message_id.strip()
    if mid.startswith("<") and mid.endswith(">"):
        mid = mid[1:-1].strip()
    if not mid or any(c.isspace() for c in mid):
        raise ValidationError(f"not a usable Message-ID: {message_id!r}")
    return mid


def _one(conn: sqlite3.Connection, message_id: str) -> OutboxItem | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE message_id = ?", (message_id,)
    ).fetchone()
    return None if row is None else _item(row)


def _put_raw(conn: sqlite3.Connection, raw: bytes, store: Store) -> str:
    key = "outbox-" + blob_key(raw)
    codec_column, data = encode_blob(raw, store.codec)
    conn.execute(
        "INSERT OR IGNORE INTO blobs (key, codec, data) VALUES (?, ?, ?)",
        (key, codec_column, data),
    )
    return key


def enqueue(
    store: Store,
    account: str,
    raw: bytes,
    sender: str,
    recipients: Iterable[str],
    message_id: str,
    *,
    status: Literal["queued", "draft"] = "queued",
    now: float | None = None,
) -> OutboxItem:
    """Persist a message to send (or a draft); idempotent by ``message_id``.

    An existing row with the same Message-ID is returned unchanged, except a draft, which
    is replaced by the new content (and queued when ``status`` is ``"queued"``).
    """
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise ValidationError("the message must be non-empty bytes")
    rcpts = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if status == "queued" and not rcpts:
        raise ValidationError("a message to send needs at least one recipient")
    mid = _norm_id(message_id)
    stamp = time.time() if now is None else now
    data = bytes(raw)

    def task(conn: sqlite3.Connection) -> tuple[OutboxItem, list[StoreEvent]]:
        existing = _one(conn, mid)
        if existing is not None and existing.status != "draft":
            return existing, _NONE
        key = _put_raw(conn, data, store)
        if existing is None:
            conn.execute(
                "INSERT INTO outbox (account, message_id, raw_key, sender, recipients, status, "
                "next_attempt, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, mid, key, sender, json.dumps(rcpts), status, stamp, stamp, stamp),
            )
        else:
            conn.execute(
                "UPDATE outbox SET raw_key = ?, sender = ?, recipients = ?, status = ?, "
                "next_attempt = ?, updated_at = ? WHERE id = ?",
                (key, sender, json.dumps(rcpts), status, stamp, stamp, existing.id),
            )
        item = _one(conn, mid)
        assert item is not None
        return item, _NONE

    return store.write(task)


def save_draft(
    store: Store,
    account: str,
    raw: bytes,
    sender: str,
    recipients: Iterable[str],
    message_id: str,
) -> OutboxItem:
    """Keep a draft (status ``draft``, never sent until enqueued with the same id)."""
    return enqueue(store, account, raw, sender, recipients, message_id, status="draft")


def get(store: Store, message_id: str) -> OutboxItem:
    rows = store.read_rows(
        f"SELECT {_COLUMNS} FROM outbox WHERE message_id = ?", (_norm_id(message_id),)
    )
    if not rows:
        raise NotFound(f"no outbox message with Message-ID {message_id}")
    return _item(rows[0])


def list_items(
    store: Store, status: OutboxStatus | None = None, *, account: str | None = None
) -> list[OutboxItem]:
    """Rows, oldest first, optionally of one status and/or account."""
    where: list[str] = ["1"]
    params: list[object] = []
    if status is not None:
        if status not in get_args(OutboxStatus):
            raise ValidationError(f"unknown outbox status {status!r}")
        where.append("status = ?")
        params.append(status)
    if account is not None:
        where.append("account = ?")
        params.append(account)
    return [_item(r) for r in store.read_rows(
        f"SELECT {_COLUMNS} FROM outbox WHERE {' AND '.join(where)} ORDER BY id", params
    )]


def due(store: Store, now: float, *, account: str | None = None) -> list[OutboxItem]:
    """Queued rows whose ``next_attempt`` has come, earliest first."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt <= ?"
    params: list[object] = [now]
    if account is not None:
        sql += " AND account = ?"
        params.append(account)
    return [_item(r) for r in store.read_rows(sql + " ORDER BY next_attempt, id", params)]


def next_due(store: Store, *, account: str | None = None) -> float | None:
    """The earliest ``next_attempt`` of a queued row (None: nothing queued)."""
    sql = "SELECT min(next_attempt) FROM outbox WHERE status = 'queued'"
    params: list[object] = []
    if account is not None:
        sql += " AND account = ?"
        params.append(account)
    value = store.read_rows(sql, params)[0][0]
    return None if value is None else float(value)


def stuck_sending(
    store: Store, *, account: str | None = None, older_than: float | None = None
) -> list[OutboxItem]:
    """Rows left in ``sending`` (a process stopped mid-send), optionally not touched
    since ``older_than``."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE status = 'sending'"
    params: list[object] = []
    if account is not None:
        sql += " AND account = ?"
        params.append(account)
    if older_than is not None:
        sql += " AND updated_at <= ?"
        params.append(older_than)
    return [_item(r) for r in store.read_rows(sql + " ORDER BY id", params)]


def load_raw(store: Store, item: OutboxItem) -> bytes:
    rows = store.read_rows("SELECT codec, data FROM blobs WHERE key = ?", (item.raw_key,))
    if not rows:
        raise NotFound(f"the content of outbox message {item.message_id} is missing")
    return decode_blob(str(rows[0][0]), bytes(rows[0][1]), store.codec)


def _update(
    store: Store, message_id: str, sql: str, params: Sequence[object], *, only: str = ""
) -> OutboxItem:
    mid = _norm_id(message_id)

    def task(conn: sqlite3.Connection) -> tuple[OutboxItem, list[StoreEvent]]:
        cur = conn.execute(f"UPDATE outbox SET {sql} WHERE message_id = ? {only}", (*params, mid))
        item = _one(conn, mid)
        if item is None:
            raise NotFound(f"no outbox message with Message-ID {message_id}")
        if cur.rowcount == 0:
            raise StoreError(
                f"outbox message {mid} is {item.status}; cannot change it that way"
            )
        return item, _NONE

    return store.write(task)


def claim(store: Store, message_id: str, *, now: float | None = None) -> OutboxItem | None:
    """``queued`` → ``sending`` atomically (attempts + 1); None if the row was not queued
    (another sender has it, or it is already sent/failed/a draft)."""
    stamp = time.time() if now is None else now
    mid = _norm_id(message_id)

    def task(conn: sqlite3.Connection) -> tuple[OutboxItem | None, list[StoreEvent]]:
        cur = conn.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ? "
            "WHERE message_id = ? AND status = 'queued'",
            (stamp, mid),
        )
        return (_one(conn, mid) if cur.rowcount else None), _NONE

    return store.write(task)


def mark_sending(store: Store, message_id: str, *, now: float | None = None) -> OutboxItem:
    """Like :func:`claim`, but an error when the row is not queued."""
    item = claim(store, message_id, now=now)
    if item is None:
        current = get(store, message_id)
        raise StoreError(f"outbox message {current.message_id} is {current.status}, not queued")
    return item


def mark_sent(
    store: Store,
    message_id: str,
    provider: str,
    *,
    note: str | None = None,
    now: float | None = None,
) -> OutboxItem:
    """``sending``/``queued`` → ``sent``; ``note`` keeps a remark (e.g. refused recipients)."""
    stamp = time.time() if now is None else now
    return _update(
        store, message_id,
        "status = 'sent', provider = ?, sent_at = ?, updated_at = ?, last_error = ?, "
        "error_type = NULL",
        (provider, stamp, stamp, note),
        only="AND status IN ('sending', 'queued')",
    )


def mark_retry(
    store: Store,
    message_id: str,
    error: str,
    next_attempt: float,
    *,
    error_type: str = "TEMPORARY",
    provider: str | None = None,
    recipients: Sequence[str] | None = None,
    reset_attempts: bool = False,
    now: float | None = None,
) -> OutboxItem:
    """Back to ``queued`` for another try at ``next_attempt``.  ``provider`` moves the row
    to another route; ``recipients`` narrows the envelope (after a partial delivery)."""
    stamp = time.time() if now is None else now
    sets = ["status = 'queued'", "last_error = ?", "error_type = ?", "next_attempt = ?",
            "updated_at = ?"]
    params: list[object] = [error, error_type, next_attempt, stamp]
    if provider is not None:
        sets.append("provider = ?")
        params.append(provider)
    if recipients is not None:
        if not recipients:
            raise ValidationError("a retry needs at least one recipient")
        sets.append("recipients = ?")
        params.append(json.dumps(list(recipients)))
    if reset_attempts:
        sets.append("attempts = 0")
    return _update(
        store, message_id, ", ".join(sets), params, only="AND status IN ('sending', 'queued')"
    )


def mark_failed(
    store: Store,
    message_id: str,
    error: str,
    *,
    error_type: str = "FAILED",
    now: float | None = None,
) -> OutboxItem:
    """Give up: ``failed`` with a readable reason (kept until the user retries or deletes)."""
    stamp = time.time() if now is None else now
    return _update(
        store, message_id,
        "status = 'failed', last_error = ?, error_type = ?, updated_at = ?",
        (error, error_type, stamp),
        only="AND status IN ('sending', 'queued')",
    )
