"""What a Gmail sync reads from and writes to the store (through ``read_rows``/``write``).

Gmail ids are unique per account, so the index is by remote id over all folders; a
label change that changes a message's folder updates its row in place (same local id).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from services.email.gmail.mapping import Placement
from services.models import Flag, Message
from services.store.events import StoreEvent
from services.store.prepare import bits_to_flags, flags_to_bits, prepare
from services.store.store import Store

__all__ = ["Local", "apply_placement", "ingest", "local_index"]

_REMOTE_FLAGS = flags_to_bits({Flag.SEEN, Flag.FLAGGED, Flag.DRAFT})
_ROLES = {"inbox": "inbox", "sent": "sent", "draft": "drafts", "trash": "trash",
          "spam": "junk", "archive": "archive"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Local:
    id: int
    folder: str
    flags: frozenset[Flag]


def local_index(store: Store, account: str) -> dict[str, Local]:
    """Gmail id → the stored message of ``account``."""
    rows = store.read_rows(
        "SELECT m.remote_id, m.id, f.name, m.flags FROM messages m "
        "JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = m.account_id "
        "WHERE a.name = ? AND m.remote_id IS NOT NULL",
        (account,),
    )
    return {str(r): Local(int(i), str(f), bits_to_flags(int(b))) for r, i, f, b in rows}


def ingest(
    store: Store, items: Sequence[tuple[Message, bytes, tuple[str, ...]]]
) -> list[int]:
    """Store new messages with their labels; returns the new local ids."""
    if not items:
        return []
    batch = [prepare(m, raw, store.codec, labels=labels) for m, raw, labels in items]
    return list(store.ingest_prepared(batch, dedupe_content=False).ids)


def _folder_id(conn: sqlite3.Connection, account_id: int, name: str) -> int:
    row = conn.execute(
        "SELECT id FROM folders WHERE account_id = ? AND name = ?", (account_id, name)
    ).fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute(
        "INSERT INTO folders (account_id, name, name_key, role) VALUES (?, ?, ?, ?)",
        (account_id, name, name.casefold(), _ROLES.get(name.casefold())),
    )
    return int(cur.lastrowid or 0)


def apply_placement(store: Store, local_id: int, where: Placement) -> bool:
    """Set folder, Gmail-backed flags and labels of one stored message; True if changed."""
    bits = flags_to_bits(set(where.flags))

    def task(conn: sqlite3.Connection) -> tuple[bool, list[StoreEvent]]:
        row = conn.execute(
            "SELECT account_id, folder_id, flags FROM messages WHERE id = ?", (local_id,)
        ).fetchone()
        if row is None:
            return False, []
        account_id, old_folder, old_flags = int(row[0]), int(row[1]), int(row[2])
        folder = _folder_id(conn, account_id, where.folder)
        flags = (old_flags & ~_REMOTE_FLAGS) | bits
        old_labels = {str(r[0]) for r in conn.execute(
            "SELECT label FROM labels WHERE message_id = ?", (local_id,))}
        events: list[StoreEvent] = []
        if flags != old_flags:
            conn.execute("UPDATE messages SET flags = ? WHERE id = ?", (flags, local_id))
            events.append(StoreEvent("flags", (local_id,)))
        moved = folder != old_folder or old_labels != set(where.labels)
        if moved:
            conn.execute("UPDATE messages SET folder_id = ? WHERE id = ?", (folder, local_id))
            conn.execute("DELETE FROM labels WHERE message_id = ?", (local_id,))
            conn.executemany(
                "INSERT OR IGNORE INTO labels (message_id, label, label_key) VALUES (?, ?, ?)",
                [(local_id, label, label.casefold()) for label in where.labels],
            )
            events.append(StoreEvent("updated", (local_id,)))
        return bool(events), events

    return store.write(task)
