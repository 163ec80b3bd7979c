"""GDPR: export everything about a person (Art. 15/20) and erase it (Art. 17).

A *subject* is an address or phone number.  When a contact record holds it, the record's
other handles belong to the subject too (the same person's phone and e-mail).  The data
about a subject is every message in which one of its handles is a party (sender, any
recipient, or the SMS/chat conversation), the outbox entries to or from it, its contact
records, and its S/MIME certificates.

:meth:`Gdpr.export` writes ``subject.json`` (contacts, messages with their text and
metadata, outbox entries, legal holds) plus each message's original as ``messages/ID.eml``
and its attachments under ``attachments/ID/``, into a folder or, for a ``.zip`` path, a zip.

:meth:`Gdpr.erase` removes all of it: messages with their raw and text blobs, participant,
attachment, label and full-text index rows, thread links (``msgids``) and emptied threads,
outbox entries, contact records and certificates.  Then it merges the full-text index
(``optimize``, so no deleted token survives in an index segment), re-analyses, runs
``VACUUM`` (no freed page keeps old bytes) and truncates the WAL.  Data under a legal hold
is never erased: :class:`LegalHoldActive` is raised before anything is touched.

Both are audited (``exported`` / ``erased``); the entry names the subject only by a
pseudonym (``subject:`` + the first 16 hex digits of the handle's SHA-256), since the audit
log outlives the erasure.  What is *not* erased: other people's messages that merely mention
the subject in their text (they are not the subject's correspondence).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from services.errors import SourceError, StoreError, ValidationError
from services.models import Message
from services.security.compliance import AuditSink
from services.security.retention import (
    LegalHolds,
    delete_messages_and_threads,
    ensure_schema,
    not_held_sql,
)
from services.security.smime import CertificateDirectory
from services.store import Store, StoreEvent

__all__ = ["EraseReport", "ExportReport", "Gdpr", "LegalHoldActive", "pseudonym"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class LegalHoldActive(ValidationError):
    """The subject's data is under a legal hold and cannot be erased."""


def pseudonym(handle: str) -> str:
    """How audit entries name a subject without keeping its address."""
    return "subject:" + hashlib.sha256(handle.strip().lower().encode()).hexdigest()[:16]


def _safe_name(name: str, fallback: str) -> str:
    cleaned = _SAFE.sub("_", name).strip("._")[:120]
    return cleaned or fallback


@dataclass(frozen=True)
class ExportReport:
    path: Path
    handles: tuple[str, ...]
    messages: int
    attachments: int


@dataclass(frozen=True)
class EraseReport:
    handles: tuple[str, ...]
    messages: int
    contacts: int
    outbox: int
    certificates: int


class Gdpr:
    """Export and erase a data subject's data in one store."""

    def __init__(self, store: Store, *, audit: AuditSink | None = None,
                 certificates: CertificateDirectory | None = None) -> None:
        self.store = store
        self.audit = audit
        self.certificates = certificates
        ensure_schema(store)

    # -- finding -----------------------------------------------------------------------
    def _contact_ids(self, handles: Sequence[str]) -> list[int]:
        return [int(r[0]) for r in self.store.read_rows(
            "SELECT DISTINCT contact_id FROM contact_identities WHERE lower(value) IN "
            "(SELECT value FROM json_each(?))", (json.dumps(list(handles)),))]

    def handles(self, who: str) -> tuple[str, ...]:
        """``who`` and every other handle of the contact records that hold it."""
        first = who.strip().lower()
        if not first:
            raise ValidationError("a GDPR request needs an address or phone number")
        found = [first]
        ids = self._contact_ids(found)
        if ids:
            found += [str(r[0]).strip().lower() for r in self.store.read_rows(
                "SELECT value FROM contact_identities WHERE contact_id IN "
                "(SELECT value FROM json_each(?)) ORDER BY is_primary DESC, value",
                (json.dumps(ids),))]
        return tuple(dict.fromkeys(found))

    def message_ids(self, handles: Sequence[str]) -> list[int]:
        wanted = "(SELECT value FROM json_each(?1))"
        return [int(r[0]) for r in self.store.read_rows(
            f"SELECT m.id FROM messages m WHERE lower(m.sender_addr) IN {wanted} "
            f"OR lower(coalesce(m.conversation, '')) IN {wanted} "
            f"OR m.id IN (SELECT p.message_id FROM participants p "
            f"WHERE lower(p.address) IN {wanted}) ORDER BY m.id", (json.dumps(list(handles)),))]

    def _outbox(self, handles: Sequence[str]) -> list[tuple[Any, ...]]:
        out = []
        for row in self.store.read_rows(
            "SELECT id, account, message_id, raw_key, sender, recipients, status, created_at, "
            "sent_at FROM outbox ORDER BY id"
        ):
            parties = [str(row[4]), *(str(r) for r in json.loads(row[5]))]
            if any(parseaddr(p)[1].strip().lower() in handles for p in parties):
                out.append(tuple(row))
        return out

    # -- export ------------------------------------------------------------------------
    @staticmethod
    def _message_json(message: Message, labels: list[str]) -> dict[str, Any]:
        def addrs(items: Iterable[Any]) -> list[dict[str, str]]:
            return [{"address": a.address, "name": a.name} for a in items]

        return {
            "id": message.id, "account": message.account, "folder": message.folder,
            "channel": str(message.channel), "message_id": message.message_id,
            "date": message.date.isoformat() if message.date else None,
            "sender": addrs([message.sender] if message.sender else []),
            "to": addrs(message.to), "cc": addrs(message.cc), "bcc": addrs(message.bcc),
            "subject": message.subject, "text": message.body_text,
            "flags": sorted(str(f) for f in message.flags), "labels": labels,
            "attachments": [], "original": f"messages/{message.id}.eml",
        }

    def _write_export(self, root: Path, handles: tuple[str, ...]) -> tuple[int, int]:
        ids = self.message_ids(handles)
        messages: list[dict[str, Any]] = []
        n_attachments = 0
        (root / "messages").mkdir(parents=True)
        for mid in ids:
            message = self.store.get(mid)
            if not message.body_text:
                message = message.with_changes(body_text=self.store.body_text(mid))
            labels = [str(r[0]) for r in self.store.read_rows(
                "SELECT label FROM labels WHERE message_id = ? ORDER BY label", (mid,))]
            entry = self._message_json(message, labels)
            (root / "messages" / f"{mid}.eml").write_bytes(self.store.raw(mid))
            for pos, att in enumerate(message.attachments):
                name = _safe_name(att.filename, f"part-{pos}")
                rel = Path("attachments") / str(mid) / f"{pos}-{name}"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(att.loader() if att.loader else b"")
                entry["attachments"].append({"filename": att.filename, "path": rel.as_posix(),
                                             "content_type": att.content_type})
                n_attachments += 1
            messages.append(entry)
        contacts = self._contacts_json(handles)
        outbox = [{"id": r[0], "account": r[1], "message_id": r[2], "sender": r[4],
                   "recipients": json.loads(r[5]), "status": r[6], "created_at": r[7],
                   "sent_at": r[8]} for r in self._outbox(handles)]
        holds = [{"scope": h.scope, "value": h.value, "reason": h.reason}
                 for h in LegalHolds(self.store).active()
                 if h.scope == "contact" and h.value in handles]
        certs = []
        if self.certificates is not None:
            from cryptography.hazmat.primitives import serialization

            from services.security.smime import certificate_addresses

            for cert in self.certificates.contacts():
                if set(certificate_addresses(cert)) & set(handles):
                    certs.append(cert.public_bytes(serialization.Encoding.PEM).decode())
        document = {
            "subject": list(handles),
            "exported_at": datetime.now(UTC).isoformat(),
            "contacts": contacts, "messages": messages, "outbox": outbox,
            "legal_holds": holds, "certificates": certs,
        }
        (root / "subject.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return len(messages), n_attachments

    def _contacts_json(self, handles: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for cid in self._contact_ids(handles):
            name = self.store.read_rows("SELECT name, notes FROM contacts WHERE id = ?", (cid,))
            idents = self.store.read_rows(
                "SELECT kind, service, value FROM contact_identities WHERE contact_id = ?",
                (cid,))
            out.append({"id": cid, "name": name[0][0] if name else "",
                        "notes": name[0][1] if name else "",
                        "identities": [{"kind": k, "service": s, "value": v}
                                       for k, s, v in idents]})
        return out

    def export(self, who: str, destination: str | Path) -> ExportReport:
        """Everything about ``who`` into ``destination`` (a new folder, or a ``.zip``)."""
        handles = self.handles(who)
        dest = Path(destination).expanduser()
        if dest.exists() and (dest.suffix.lower() == ".zip" or any(dest.iterdir())):
            raise SourceError(f"{dest} already exists; choose a new path")
        try:
            if dest.suffix.lower() == ".zip":
                with tempfile.TemporaryDirectory(prefix="commhub-gdpr-") as tmp:
                    counts = self._write_export(Path(tmp) / "export", handles)
                    _zip_tree(Path(tmp) / "export", dest)
            else:
                counts = self._write_export(dest, handles)
        except OSError as exc:
            raise SourceError(f"cannot write the export to {dest}: {exc}") from exc
        if self.audit is not None:
            self.audit.record("exported", object_id=pseudonym(handles[0]), details={
                "kind": "gdpr-subject-access", "messages": str(counts[0]),
                "attachments": str(counts[1])})
        return ExportReport(dest, handles, counts[0], counts[1])

    # -- erase -------------------------------------------------------------------------
    def _check_holds(self, handles: Sequence[str], ids: Sequence[int]) -> None:
        held = [h for h in LegalHolds(self.store).active()
                if h.scope == "contact" and h.value in handles]
        if not held and ids:
            held_ids = self.store.read_rows(
                f"SELECT m.id FROM messages m WHERE m.id IN (SELECT value FROM json_each(?)) "
                f"AND NOT {not_held_sql()} LIMIT 1", (json.dumps(list(ids)),))
            if held_ids:
                raise LegalHoldActive(
                    f"message {held_ids[0][0]} of this subject is under a legal hold; "
                    "release the hold before erasing")
        if held:
            raise LegalHoldActive(
                f"this subject is under legal hold {held[0].id} ({held[0].reason or 'no reason'}"
                "); release it before erasing")

    def _content_hashes(self, ids: Sequence[int]) -> set[str]:
        """sha256 of every attachment's content (derived data is cached under it)."""
        found: set[str] = set()
        for mid in ids:
            for att in self.store.get(mid).attachments:
                if att.loader is not None:
                    found.add(hashlib.sha256(att.loader()).hexdigest())
        return found

    def erase(self, who: str, *, compact: bool = True) -> EraseReport:
        """Remove every trace of ``who`` from the store (see the module docstring)."""
        handles = self.handles(who)
        ids = self.message_ids(handles)
        self._check_holds(handles, ids)
        outbox = self._outbox(handles)
        contact_ids = self._contact_ids(handles)
        own_msgids = [str(r[0]) for r in self.store.read_rows(
            "SELECT message_id FROM messages WHERE message_id IS NOT NULL AND id IN "
            "(SELECT value FROM json_each(?))", (json.dumps(ids),))]
        removed = delete_messages_and_threads(self.store, ids,
                                              content_hashes=self._content_hashes(ids))

        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            conn.executemany("DELETE FROM msgids WHERE msgid = ? AND message_id IS NULL",
                             [(m,) for m in own_msgids])
            for row in outbox:
                conn.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
                if not conn.execute("SELECT 1 FROM messages WHERE raw_key = ? UNION ALL "
                                    "SELECT 1 FROM outbox WHERE raw_key = ? LIMIT 1",
                                    (row[3], row[3])).fetchone():
                    conn.execute("DELETE FROM blobs WHERE key = ?", (row[3],))
            marks = json.dumps(contact_ids)
            if _has_table(conn, "contact_merges"):
                conn.execute("DELETE FROM contact_merges WHERE merged_id IN "
                             "(SELECT value FROM json_each(?))", (marks,))
            conn.execute("DELETE FROM contact_identities WHERE contact_id IN "
                         "(SELECT value FROM json_each(?)) OR lower(value) IN "
                         "(SELECT value FROM json_each(?))", (marks, json.dumps(handles)))
            gone = conn.execute("DELETE FROM contacts WHERE id IN "
                                "(SELECT value FROM json_each(?))", (marks,)).rowcount
            return gone, []

        contacts = self.store.write(task)
        certs = 0
        if self.certificates is not None:
            certs = sum(self.certificates.remove_for(h) for h in handles)
        if compact:
            compact_store(self.store)
        report = EraseReport(handles, removed, contacts, len(outbox), certs)
        if self.audit is not None:
            self.audit.record("erased", object_id=pseudonym(handles[0]), details={
                "kind": "gdpr-erasure", "messages": str(removed), "contacts": str(contacts),
                "outbox": str(len(outbox)), "certificates": str(certs),
                "handles": str(len(handles))})
        return report


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _zip_tree(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    tmp.replace(dest)


def compact_store(store: Store) -> None:
    """Make deletions physical: merge the FTS index, re-analyse, VACUUM, truncate the WAL."""
    store.optimize()
    if not store.compact():
        raise StoreError("erased, but the database's WAL could not be truncated while "
                         "another reader was busy; run the erasure again to compact")
