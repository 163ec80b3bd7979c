"""SQL for recorded contacts (``contacts``, ``contact_identities``, ``contact_merges``).

Functions that write take the writer connection (run them through ``Store.write``);
functions that read take rows from ``Store.read_rows``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from services.errors import NotFound, ValidationError
from services.models import Contact

__all__ = ["RECORDS_SQL", "contact_rows", "delete_record", "identities_of", "insert_identities",
           "merge_records", "resolve_id", "save_record"]

RECORDS_SQL = (
    "SELECT c.id, c.name, i.kind, i.service, i.value FROM contacts c "
    "LEFT JOIN contact_identities i ON i.contact_id = c.id ORDER BY c.id, i.is_primary DESC, "
    "i.rowid"
)

Identity = tuple[str, str, str]  # (kind, service, value)


def contact_rows(rows: Iterable[Sequence[Any]]) -> list[Contact]:
    """Contacts from rows of :data:`RECORDS_SQL` (one row per identity)."""
    out: dict[int, Contact] = {}
    for cid, name, kind, service, value in rows:
        contact = out.get(int(cid))
        if contact is None:
            contact = out[int(cid)] = Contact(name=str(name), id=int(cid))
        if kind is None:
            continue
        value = str(value)
        if kind == "email":
            contact.emails.append(value)
        elif kind == "phone":
            contact.phones.append(value)
        elif kind == "socket":
            contact.socket_ids.append(value)
        else:
            key = str(service) or "chat"
            contact.chat_handles[key if key not in contact.chat_handles else f"{key}:{value}"] = (
                value
            )
    for contact in out.values():
        contact.email = contact.emails[0] if contact.emails else None
        contact.phone = contact.phones[0] if contact.phones else None
        contact.socket_id = contact.socket_ids[0] if contact.socket_ids else None
    return list(out.values())


def identities_of(contact: Contact) -> list[Identity]:
    """Every identity of ``contact``, checked and de-duplicated (primary first per kind)."""
    found: list[Identity] = []
    for kind, values in (("email", contact.emails), ("phone", contact.phones),
                         ("socket", contact.socket_ids)):
        for value in values:
            found.append((kind, "", value.strip()))
    for service, handle in contact.chat_handles.items():
        found.append(("chat", service.strip(), handle.strip()))
    out: list[Identity] = []
    seen: set[tuple[str, str, str]] = set()
    for kind, service, value in found:
        if not value:
            continue
        if any(c.isspace() for c in value):
            raise ValidationError(f"a {kind} handle cannot contain spaces: {value!r}")
        if kind == "email" and "@" not in value.strip("@"):
            raise ValidationError(f"not an e-mail address: {value!r}")
        key = (kind, service, value.casefold())
        if key not in seen:
            seen.add(key)
            out.append((kind, service, value))
    return out


def _owner(conn: sqlite3.Connection, ident: Identity) -> int | None:
    row = conn.execute(
        "SELECT contact_id FROM contact_identities WHERE kind = ? AND service = ? "
        "AND value = ? COLLATE NOCASE",
        ident,
    ).fetchone()
    return None if row is None else int(row[0])


def insert_identities(
    conn: sqlite3.Connection, contact_id: int, identities: Sequence[Identity]
) -> None:
    """Attach identities to ``contact_id``; one owned by another contact is an error."""
    kinds_with_primary = {
        str(r[0]) for r in conn.execute(
            "SELECT kind FROM contact_identities WHERE contact_id = ? AND is_primary = 1",
            (contact_id,),
        )
    }
    for ident in identities:
        owner = _owner(conn, ident)
        if owner == contact_id:
            continue
        if owner is not None:
            name = conn.execute("SELECT name FROM contacts WHERE id = ?", (owner,)).fetchone()
            who = repr(name[0]) if name and name[0] else f"contact {owner}"
            raise ValidationError(f"{ident[2]} already belongs to {who}: merge them instead")
        primary = ident[0] not in kinds_with_primary
        kinds_with_primary.add(ident[0])
        conn.execute(
            "INSERT INTO contact_identities (contact_id, kind, service, value, is_primary) "
            "VALUES (?, ?, ?, ?, ?)",
            (contact_id, *ident, int(primary)),
        )


def resolve_id(conn: sqlite3.Connection, contact_id: int) -> int:
    """The live record for ``contact_id`` (following merges); NotFound if there is none."""
    if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone():
        return contact_id
    row = conn.execute(
        "SELECT into_id FROM contact_merges WHERE merged_id = ?", (contact_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    return int(row[0])


def save_record(conn: sqlite3.Connection, contact: Contact) -> int:
    """Create or replace a record (name and every identity); returns its id."""
    identities = identities_of(contact)
    if not identities and not contact.name.strip():
        raise ValidationError("a contact needs a name or at least one address")
    now = int(time.time())
    if contact.id is None:
        cur = conn.execute(
            "INSERT INTO contacts (name, updated_at) VALUES (?, ?)", (contact.name.strip(), now)
        )
        cid = int(cur.lastrowid or 0)
    else:
        cid = resolve_id(conn, contact.id)
        conn.execute(
            "UPDATE contacts SET name = ?, updated_at = ? WHERE id = ?",
            (contact.name.strip(), now, cid),
        )
        conn.execute("DELETE FROM contact_identities WHERE contact_id = ?", (cid,))
    insert_identities(conn, cid, identities)
    return cid


def merge_records(conn: sqlite3.Connection, into: int, others: Sequence[int]) -> None:
    """Move the identities of ``others`` to ``into`` and remember the merge."""
    for other in others:
        if other == into:
            continue
        conn.execute(
            "UPDATE contact_identities SET contact_id = ?, is_primary = 0 WHERE contact_id = ?",
            (into, other),
        )
        name = conn.execute("SELECT name FROM contacts WHERE id = ?", (other,)).fetchone()
        if name and name[0]:
            conn.execute(
                "UPDATE contacts SET name = ? WHERE id = ? AND name = ''", (name[0], into)
            )
        conn.execute("UPDATE contact_merges SET into_id = ? WHERE into_id = ?", (into, other))
        conn.execute("DELETE FROM contacts WHERE id = ?", (other,))
        conn.execute(
            "INSERT OR REPLACE INTO contact_merges (merged_id, into_id) VALUES (?, ?)",
            (other, into),
        )
    conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (int(time.time()), into))


def delete_record(conn: sqlite3.Connection, contact_id: int) -> None:
    """Forget a record: its addresses become derived contacts again."""
    cur = conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
    if cur.rowcount == 0:
        raise NotFound(f"no contact with id {contact_id}")
