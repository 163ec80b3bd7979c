"""The contacts service: derived + recorded contacts over the store (blocking calls).

Every method is a short SQLite read or one write transaction; call them from a worker
thread in a GUI (``asyncio.to_thread``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.contacts import records
from services.contacts.entries import (
    ContactEntry,
    TimelineItem,
    identity_kind,
    name_key,
    record_key,
)
from services.errors import NotFound, ValidationError
from services.models import Address, ChannelKind, Contact
from services.store.events import StoreEvent
from services.store.store import Store

__all__ = ["ContactsService"]

# One pass over participants (index order) with a lookup per row: ~0.6 s for 100k
# messages, so the result is cached until the messages change (see ContactsService._stats).
# The count is of appearances (a message naming one address twice counts twice).
_ADDRESS_STATS = (
    "SELECT p.address, max(p.name), count(*), max(m.date), max(m.channel), "
    "max(m.account_id) FROM participants p JOIN messages m ON m.id = p.message_id "
    "WHERE p.address <> '' GROUP BY p.address COLLATE NOCASE"
)
_MESSAGES_VERSION = "SELECT max(id), count(*) FROM messages"
_TIMELINE = (
    "SELECT m.id, m.channel, a.name, m.date, m.sender_addr, m.subject, m.snippet, "
    "(SELECT p2.address FROM participants p2 WHERE p2.message_id = m.id AND p2.address "
    "COLLATE NOCASE IN (SELECT value FROM json_each(?1)) ORDER BY p2.role LIMIT 1) "
    "FROM messages m JOIN accounts a ON a.id = m.account_id WHERE m.id IN "
    "(SELECT p.message_id FROM participants p WHERE p.address COLLATE NOCASE IN "
    "(SELECT value FROM json_each(?1))) ORDER BY m.date IS NULL, m.date DESC, m.id DESC LIMIT ?2"
)


@dataclass(slots=True)
class _Stats:
    address: str
    name: str
    count: int
    last: int | None
    channel: ChannelKind
    provider: str


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), UTC)


def _derived_contact(s: _Stats) -> Contact:
    kind = identity_kind(s.channel)
    if kind == "email":
        return Contact(email=s.address, name=s.name)
    if kind == "phone":
        return Contact(phone=s.address, name=s.name)
    if kind == "socket":
        return Contact(socket_id=s.address, name=s.name)
    return Contact(name=s.name, chat_handles={s.provider or "chat": s.address})


class ContactsService:
    """Contacts of one store: list, search, edit, merge, duplicates, timeline, completion."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cache: tuple[tuple[Any, ...], dict[str, _Stats]] | None = None

    # ------------------------------------------------------------------ reading
    def _own_addresses(self) -> set[str]:
        return {str(r[0]).casefold() for r in self.store.read_rows(
            "SELECT address FROM accounts WHERE address <> ''")}

    def _stats(self) -> dict[str, _Stats]:
        """Per address (casefolded): name, appearances, last date, channel, provider.

        Cached while the messages table keeps its (max id, row count); a copy is returned."""
        version = tuple(self.store.read_rows(_MESSAGES_VERSION)[0])
        with self._lock:
            cached = self._cache
        if cached is None or cached[0] != version:
            cached = (version, self._load_stats())
            with self._lock:
                self._cache = cached
        own = self._own_addresses()
        return {k: v for k, v in cached[1].items() if k not in own}

    def _load_stats(self) -> dict[str, _Stats]:
        providers = {int(i): str(p) for i, p in self.store.read_rows(
            "SELECT id, provider FROM accounts")}
        out: dict[str, _Stats] = {}
        for addr, name, count, last, channel, account_id in self.store.read_rows(_ADDRESS_STATS):
            try:
                kind = ChannelKind(str(channel))
            except ValueError:
                kind = ChannelKind.EMAIL
            out[str(addr).casefold()] = _Stats(
                str(addr), str(name or ""), int(count), None if last is None else int(last),
                kind, providers.get(int(account_id), ""))
        return out

    def _records(self) -> list[Contact]:
        return records.contact_rows(self.store.read_rows(records.RECORDS_SQL))

    def entries(self) -> list[ContactEntry]:
        """Every contact, recorded and derived, sorted by name."""
        stats = self._stats()
        out: list[ContactEntry] = []
        for contact in self._records():
            count, last = 0, None
            for handle in contact.identities():
                s = stats.pop(handle.casefold(), None)
                if s is None:
                    continue
                count += s.count
                last = s.last if last is None or (s.last or 0) > last else last
                if not contact.name and s.name:
                    contact.name = s.name
            assert contact.id is not None
            out.append(ContactEntry(record_key(contact.id), contact, count, _when(last)))
        for key, s in stats.items():
            out.append(ContactEntry(f"a:{key}", _derived_contact(s), s.count, _when(s.last)))
        out.sort(key=lambda e: (name_key(e.display_name), e.key))
        return out

    def search(self, text: str = "", *, limit: int | None = None) -> list[ContactEntry]:
        """Contacts whose name or any handle contains ``text`` (case and accents ignored)."""
        needle = name_key(text)
        found = [e for e in self.entries() if not needle or needle in name_key(
            " ".join([e.contact.name, *(v for _, v in e.handles())]))]
        return found if limit is None else found[:limit]

    def get(self, key: str) -> ContactEntry:
        """The entry for ``key``; a merged-away record's key finds the record it went into."""
        if key.startswith("c:"):
            try:
                cid = int(key[2:])
            except ValueError as exc:
                raise NotFound(f"no contact {key!r}") from exc
            rows = self.store.read_rows(
                "SELECT into_id FROM contact_merges WHERE merged_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM contacts WHERE id = ?)", (cid, cid))
            key = record_key(int(rows[0][0])) if rows else key
        for entry in self.entries():
            if entry.key == key:
                return entry
        raise NotFound(f"no contact {key!r}")

    def find(self, handle: str) -> ContactEntry | None:
        """The contact that has ``handle`` (an address, number or chat handle), if any."""
        want = handle.strip().casefold()
        for entry in self.entries():
            if want in {v.casefold() for _, v in entry.handles()}:
                return entry
        return None

    def duplicates(self) -> list[list[ContactEntry]]:
        """Groups of contacts that are probably one person (same name, same number)."""
        groups: dict[str, list[ContactEntry]] = {}
        for entry in self.entries():
            keys = {f"n:{name_key(entry.contact.name)}"} if entry.contact.name.strip() else set()
            keys |= {"p:" + "".join(c for c in p if c.isdigit())[-9:] for p in entry.contact.phones}
            for k in keys:
                if k not in ("n:", "p:"):
                    groups.setdefault(k, []).append(entry)
        seen: set[tuple[str, ...]] = set()
        out: list[list[ContactEntry]] = []
        for members in groups.values():
            ident = tuple(sorted(e.key for e in members))
            if len(members) > 1 and ident not in seen:
                seen.add(ident)
                out.append(members)
        return out

    def timeline(self, key: str, *, limit: int = 200) -> list[TimelineItem]:
        """Messages to or from any handle of the contact, newest first, every channel."""
        entry = self.get(key)
        handles = [v for _, v in entry.handles()]
        if not handles:
            return []
        mine = {h.casefold() for h in handles}
        items: list[TimelineItem] = []
        for mid, channel, account, date, sender, subject, snippet, matched in (
            self.store.read_rows(_TIMELINE, (json.dumps(handles), limit))
        ):
            incoming = str(sender).casefold() in mine
            items.append(TimelineItem(
                message_id=int(mid), channel=ChannelKind(str(channel)), account=str(account),
                date=_when(date), incoming=incoming,
                handle=str(sender if incoming else matched or ""),
                subject=str(subject), snippet=str(snippet),
            ))
        return items

    def complete(self, prefix: str, *, limit: int = 10) -> list[Address]:
        """E-mail addresses for a To/Cc field: name or address starting with ``prefix``
        (then containing it), most written-to first."""
        needle = prefix.strip().casefold()
        if not needle:
            return []
        scored: list[tuple[int, int, str, Address]] = []
        for entry in self.entries():
            name = entry.contact.name
            for email in entry.contact.emails:
                words = [w for w in name_key(name).split()] + [email.casefold()]
                if any(w.startswith(name_key(needle)) or w.startswith(needle) for w in words):
                    rank = 0
                elif needle in email.casefold() or name_key(needle) in name_key(name):
                    rank = 1
                else:
                    continue
                scored.append((rank, -entry.message_count, email.casefold(), Address(email, name)))
        scored.sort(key=lambda t: t[:3])
        return [t[3] for t in scored[:limit]]

    # ------------------------------------------------------------------ writing
    def save(self, contact: Contact) -> ContactEntry:
        """Create (``contact.id`` None) or replace a record; returns its entry."""
        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            return records.save_record(conn, contact), []

        return self.get(record_key(self.store.write(task)))

    def merge(self, keys: Sequence[str], *, name: str | None = None) -> ContactEntry:
        """Merge contacts (recorded or derived) into one record; returns it."""
        wanted = list(dict.fromkeys(keys))
        if len(wanted) < 2:
            raise ValidationError("choose at least two contacts to merge")
        entries = [self.get(k) for k in wanted]
        recorded = [e.contact.id for e in entries if e.contact.id is not None]
        derived = [e for e in entries if e.contact.id is None]
        chosen = name if name is not None else next(
            (e.contact.name for e in entries if e.contact.name), "")

        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            if recorded:
                into = records.resolve_id(conn, recorded[0])
            else:
                into = records.save_record(conn, Contact(name=chosen))
            records.merge_records(conn, into, [records.resolve_id(conn, r) for r in recorded])
            for e in derived:
                records.insert_identities(conn, into, records.identities_of(e.contact))
            if chosen:
                conn.execute("UPDATE contacts SET name = ? WHERE id = ?", (chosen, into))
            return into, []

        return self.get(record_key(self.store.write(task)))

    def delete(self, key: str) -> None:
        """Forget a recorded contact (its addresses stay, as derived contacts)."""
        if not key.startswith("c:"):
            raise ValidationError("only saved contacts can be deleted")
        cid = int(key[2:])

        def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
            records.delete_record(conn, cid)
            return None, []

        self.store.write(task)
