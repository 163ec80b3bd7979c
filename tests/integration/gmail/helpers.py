"""Small helpers shared by the Gmail tests."""

from __future__ import annotations

from services.models import Flag, Message
from services.query.builder import EmailQuery
from services.store.store import Store


def stored(store: Store, text: str = "") -> list[Message]:
    return store.search(EmailQuery.parse(text) if text else EmailQuery())


def by_remote(store: Store) -> dict[str, tuple[int, str, frozenset[Flag]]]:
    """Gmail id → (local id, folder, flags) of every stored message."""
    rows = store.read_rows(
        "SELECT m.remote_id, m.id, f.name, m.flags FROM messages m "
        "JOIN folders f ON f.id = m.folder_id"
    )
    from services.store.prepare import bits_to_flags

    return {str(r): (int(i), str(f), bits_to_flags(int(b))) for r, i, f, b in rows}


def labels_of(store: Store, local_id: int) -> set[str]:
    return {str(r[0]) for r in store.read_rows(
        "SELECT label FROM labels WHERE message_id = ?", (local_id,))}
