"""Reading messages back: summary rows, participants and attachments → ``Message``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from services.models import Address, Attachment, ChannelKind, Message, Priority
from services.store.prepare import (
    ROLE_BCC,
    ROLE_CC,
    ROLE_FROM,
    ROLE_REPLY_TO,
    ROLE_TO,
    bits_to_flags,
)

__all__ = ["SUMMARY_FROM", "SUMMARY_SELECT", "load_summaries", "rows_to_messages"]

SUMMARY_SELECT = (
    "SELECT m.id, a.name, coalesce(f.name, ''), m.channel, m.remote_id, m.message_id, "
    "m.in_reply_to, m.refs, m.thread_id, m.sender_addr, m.sender_name, m.subject, m.date, "
    "m.received_at, m.flags, m.priority, m.size, m.snippet, m.has_attachments, m.raw_key, "
    "m.parse_warnings"
)
SUMMARY_FROM = (
    " FROM messages m JOIN accounts a ON a.id = m.account_id "
    "LEFT JOIN folders f ON f.id = m.folder_id"
)
_CHUNK = 500

AttachmentLoader = Callable[[int, str], Callable[[], bytes]]


def _dt(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int) else None


def _channel(value: str) -> ChannelKind:
    try:
        return ChannelKind(value)
    except ValueError:
        return ChannelKind.EMAIL


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def rows_to_messages(
    conn: sqlite3.Connection, rows: Sequence[Sequence[object]], loader: AttachmentLoader
) -> list[Message]:
    """Build summary messages (no body) from SUMMARY_SELECT rows, in row order."""
    ids = [int(str(r[0])) for r in rows]
    parties: dict[int, dict[int, list[Address]]] = {}
    attachments: dict[int, list[Attachment]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for mid, role, addr, name in conn.execute(
            f"SELECT message_id, role, address, name FROM participants "
            f"WHERE message_id IN ({marks}) ORDER BY message_id, role, position",
            tuple(chunk),
        ):
            parties.setdefault(mid, {}).setdefault(role, []).append(Address(addr, name))
        for mid, part, fname, ctype, size, cid, inline, sha in conn.execute(
            f"SELECT message_id, part_id, filename, content_type, size, content_id, inline, "
            f"sha256 FROM attachments WHERE message_id IN ({marks}) "
            f"ORDER BY message_id, position",
            tuple(chunk),
        ):
            attachments.setdefault(mid, []).append(Attachment(
                filename=fname, content_type=ctype, size=size, part_id=part,
                content_id=cid, inline=bool(inline), loader=loader(mid, part),
                # known once analysed: caches keyed by content hash need no read
                _sha256=sha if isinstance(sha, str) and len(sha) == 64 else None,
            ))
    out: list[Message] = []
    for r in rows:
        mid = int(str(r[0]))
        roles = parties.get(mid, {})
        sender = roles.get(ROLE_FROM, [None])[0]
        warnings = json.loads(str(r[20])) if r[20] else []
        refs = str(r[7] or "")
        out.append(Message(
            id=mid,
            account=str(r[1]),
            folder=str(r[2]),
            channel=_channel(str(r[3])),
            remote_id=r[4] if isinstance(r[4], str) else None,
            message_id=r[5] if isinstance(r[5], str) else None,
            in_reply_to=r[6] if isinstance(r[6], str) else None,
            references=tuple(refs.split()) if refs else (),
            thread_id=r[8] if isinstance(r[8], int) else None,
            sender=sender,
            to=tuple(roles.get(ROLE_TO, ())),
            cc=tuple(roles.get(ROLE_CC, ())),
            bcc=tuple(roles.get(ROLE_BCC, ())),
            reply_to=tuple(roles.get(ROLE_REPLY_TO, ())),
            subject=str(r[11]),
            date=_dt(r[12]),
            received_at=_dt(r[13]),
            flags=bits_to_flags(int(str(r[14]))),
            priority=Priority.parse(int(str(r[15]))),
            size=int(str(r[16])),
            snippet=str(r[17]),
            attachments=attachments.get(mid, []),
            raw_key=r[19] if isinstance(r[19], str) else None,
            parse_warnings=tuple(str(w) for w in warnings),
        ))
    return out


def load_summaries(
    conn: sqlite3.Connection, ids: Sequence[int], loader: AttachmentLoader
) -> list[Message]:
    """Summaries for ``ids`` in the given order (missing ids are left out)."""
    rows: dict[int, Sequence[object]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"{SUMMARY_SELECT}{SUMMARY_FROM} WHERE m.id IN ({marks})", tuple(chunk)
        ):
            rows[int(row[0])] = row
    return rows_to_messages(conn, [rows[i] for i in ids if i in rows], loader)
