"""Where the last sync of each (account, folder) stopped.

IMAP keeps UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ; Gmail a historyId and Graph a
deltaLink in ``token``.  Plus the mapping a sync needs: remote id → local id.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.errors import NotFound

if TYPE_CHECKING:
    from services.store.events import StoreEvent
    from services.store.store import Store

__all__ = ["SyncState", "delete_sync_state", "get_sync_state", "put_sync_state", "remote_ids"]


@dataclass(frozen=True, slots=True)
class SyncState:
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    token: str | None = None


def _account_id(store: Store, account: str) -> int:
    rows = store.read_rows("SELECT id FROM accounts WHERE name = ?", (account,))
    if not rows:
        raise NotFound(f"no account named {account!r}")
    return int(rows[0][0])


def get_sync_state(store: Store, account: str, folder: str) -> SyncState | None:
    rows = store.read_rows(
        "SELECT s.uidvalidity, s.uidnext, s.highestmodseq, s.token FROM sync_state s "
        "JOIN accounts a ON a.id = s.account_id WHERE a.name = ? AND s.folder = ?",
        (account, folder),
    )
    if not rows:
        return None
    v, n, m, t = rows[0]
    return SyncState(v, n, m, t)


def put_sync_state(store: Store, account: str, folder: str, state: SyncState) -> None:
    acc = _account_id(store, account)

    def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
        conn.execute(
            "INSERT INTO sync_state (account_id, folder, uidvalidity, uidnext, highestmodseq, "
            "token, updated_at) VALUES (?, ?, ?, ?, ?, ?, unixepoch()) "
            "ON CONFLICT (account_id, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "uidnext = excluded.uidnext, highestmodseq = excluded.highestmodseq, "
            "token = excluded.token, updated_at = excluded.updated_at",
            (acc, folder, state.uidvalidity, state.uidnext, state.highestmodseq, state.token),
        )
        return None, []

    store.write(task)


def delete_sync_state(store: Store, account: str, folder: str | None = None) -> None:
    acc = _account_id(store, account)

    def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
        if folder is None:
            conn.execute("DELETE FROM sync_state WHERE account_id = ?", (acc,))
        else:
            conn.execute(
                "DELETE FROM sync_state WHERE account_id = ? AND folder = ?", (acc, folder)
            )
        return None, []

    store.write(task)


def remote_ids(store: Store, account: str, folder: str) -> dict[str, int]:
    """Remote id → local message id for every stored message of one folder."""
    rows = store.read_rows(
        "SELECT m.remote_id, m.id FROM messages m JOIN folders f ON f.id = m.folder_id "
        "JOIN accounts a ON a.id = m.account_id "
        "WHERE a.name = ? AND f.name = ? AND m.remote_id IS NOT NULL",
        (account, folder),
    )
    return {str(r): int(i) for r, i in rows}
