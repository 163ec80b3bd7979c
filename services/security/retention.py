"""Retention: how long each kind of message is kept, legal holds, and the purge job.

Periods are written as in the spec (``"7_years"``, ``"3 years"``, ``"90_days"``,
``"6_months"``, ``"2_weeks"``, a number of days, or ``"forever"``); a year is 365 days, so
``"7_years"`` is the spec's ``data_retention_days=2555``.  A message's age counts from its
date (its arrival time when it has none); messages with neither are never purged.

Legal holds (table ``legal_holds``) pin data: a hold on a *contact* (an address or phone
number, matched against every party of a message and the SMS/chat conversation), an
*account* (by name) or one *message* (by id).  Held messages are never purged, whatever
their age or expiry; :mod:`services.security.gdpr` refuses to erase held data too.

Local copies of secure messages (``comm.create_secure_message(..., expiry_hours=24)``)
carry an expiry in ``message_expiry``; the same job removes them once it has passed.

Both tables belong to this module and are created on first use (``CREATE TABLE IF NOT
EXISTS``) rather than by a store migration, so the privacy features stay optional and
never renumber the store's schema.  So is an index on ``msgids(message_id)``: every message
delete clears its ``msgids`` link, a full scan of ``msgids`` without it (bulk purges went
quadratic: 10,000 deletes from a 20,000-message store took 16 s).  It belongs in a store
migration; ``IF NOT EXISTS`` keeps both harmless together.  Every purge is reported to
the audit sink.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from services.errors import ConfigurationError, NotFound, ValidationError
from services.security.compliance import AuditSink, compliance_settings
from services.security.config import SecurityConfig
from services.store import Store, StoreEvent
from services.store.ingest import delete_messages
from services.store.search import channel_sql

__all__ = [
    "HoldScope",
    "LegalHold",
    "LegalHolds",
    "PurgeReport",
    "RetentionJob",
    "RetentionPolicy",
    "delete_messages_and_threads",
    "ensure_schema",
    "not_held_sql",
    "parse_period",
    "prune_threads",
    "set_expiry",
]

HoldScope = Literal["contact", "account", "message"]
Clock = Callable[[], float]
_SCOPES = ("contact", "account", "message")
_UNITS = {"d": 1, "day": 1, "w": 7, "week": 7, "m": 30, "month": 30, "mo": 30,
          "y": 365, "yr": 365, "year": 365}
_PERIOD = re.compile(r"^\s*(\d+)\s*[_\s-]?\s*([a-z]+?)s?\s*$")
_FOREVER = {"forever", "indefinite", "indefinitely", "never", "permanent", "none"}
_KINDS = {  # retention key -> message channel ("audit" is the audit log's)
    "emails": "email", "email": "email", "sms": "sms", "chat": "chat", "chats": "chat",
    "sockets": "socket", "socket": "socket", "audit_logs": "audit", "audit": "audit",
    "audit_log": "audit",
}



def parse_period(value: str | int | timedelta | None) -> timedelta | None:
    """A retention period; ``None`` means keep for ever."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    else:
        text = str(value).strip().lower()
        if text in _FOREVER:
            return None
        match = _PERIOD.match(text)
        if text.isdigit():
            days = int(text)
        elif match and match.group(2) in _UNITS:
            days = int(match.group(1)) * _UNITS[match.group(2)]
        else:
            raise ConfigurationError(
                f"bad retention period {value!r}; write e.g. '7_years', '90_days', "
                "'6_months' or 'forever'")
    if days < 1:
        raise ConfigurationError(f"a retention period must be at least one day, not {value!r}")
    return timedelta(days=days)


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention per message channel (``email``, ``sms``, ``chat``, ``socket``) and for the
    audit log (``audit``); a channel missing from ``periods`` is kept for ever."""

    periods: Mapping[str, timedelta] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: Mapping[str, str | int | timedelta | None]) -> RetentionPolicy:
        periods: dict[str, timedelta] = {}
        for key, value in spec.items():
            kind = _KINDS.get(key.strip().lower())
            if kind is None:
                raise ConfigurationError(
                    f"unknown retention kind {key!r}; known: {', '.join(sorted(_KINDS))}")
            period = parse_period(value)
            if period is not None:
                periods[kind] = period
            else:
                periods.pop(kind, None)
        return cls(periods)

    @classmethod
    def from_config(cls, config: SecurityConfig) -> RetentionPolicy:
        """The policy ``config`` implies (compliance defaults included)."""
        return cls.parse(compliance_settings(config).retention)

    def period_for(self, kind: str) -> timedelta | None:
        return self.periods.get(kind)


def ensure_schema(store: Store) -> None:
    """The tables this module uses come with the store's schema (migration 5); nothing to
    create.  Kept so callers written before the migration keep working."""
    del store


def not_held_sql(alias: str = "m") -> str:
    """A WHERE fragment true for messages (``alias``) that no legal hold covers."""
    return (
        f"NOT EXISTS (SELECT 1 FROM legal_holds h WHERE "
        f"(h.scope = 'message' AND h.value = CAST({alias}.id AS TEXT)) "
        f"OR (h.scope = 'account' AND h.value = "
        f"(SELECT a.name FROM accounts a WHERE a.id = {alias}.account_id)) "
        f"OR (h.scope = 'contact' AND (lower({alias}.conversation) = h.value "
        f"OR EXISTS (SELECT 1 FROM participants p WHERE p.message_id = {alias}.id "
        f"AND lower(p.address) = h.value))))"
    )


def prune_threads(conn: sqlite3.Connection, thread_ids: Iterable[int]) -> None:
    """Drop threads (and their message-id links) that no longer hold any message."""
    for tid in set(thread_ids):
        if conn.execute("SELECT 1 FROM messages WHERE thread_id = ? LIMIT 1",
                        (tid,)).fetchone() is None:
            conn.execute("DELETE FROM msgids WHERE thread_id = ?", (tid,))
            conn.execute("DELETE FROM threads WHERE id = ?", (tid,))


def _drop_attachment_blobs(conn: sqlite3.Connection, text_keys: set[str],
                           hashes: set[str]) -> None:
    """Delete extracted-text blobs and derived cache entries (``derived:KIND:<sha>...``) of
    attachment contents that no remaining attachment has."""
    for key in text_keys:
        if conn.execute("SELECT 1 FROM attachments WHERE text_key = ? LIMIT 1",
                        (key,)).fetchone() is None:
            conn.execute("DELETE FROM blobs WHERE key = ?", (key,))
    for sha in hashes:
        if conn.execute("SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1",
                        (sha,)).fetchone() is None:
            conn.execute("DELETE FROM blobs WHERE key = ? OR (key LIKE 'derived:%' AND "
                         "instr(key, ?) > 0)", (f"atext:{sha}", f":{sha}"))


def delete_messages_and_threads(store: Store, ids: Iterable[int], *,
                                content_hashes: Iterable[str] = ()) -> int:
    """Delete messages (index rows, unused blobs, their attachments' extracted text and
    derived cache entries) and the threads left empty, in one transaction; returns how
    many messages went.  ``content_hashes``: sha256 of attachment contents whose derived
    data must go too (attachments never analysed have none recorded)."""
    wanted = list(ids)
    if not wanted:
        return 0
    codec = store.codec
    extra = set(content_hashes)

    def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
        ids_json = json.dumps(wanted)
        threads = [int(r[0]) for r in conn.execute(
            "SELECT DISTINCT thread_id FROM messages WHERE thread_id IS NOT NULL AND id IN "
            "(SELECT value FROM json_each(?))", (ids_json,))]
        rows = conn.execute(
            "SELECT text_key, sha256 FROM attachments WHERE message_id IN "
            "(SELECT value FROM json_each(?))", (ids_json,)).fetchall()
        count, events = delete_messages(conn, wanted, codec)
        prune_threads(conn, threads)
        _drop_attachment_blobs(conn, {str(r[0]) for r in rows if r[0]},
                               extra | {str(r[1]) for r in rows if r[1]})
        return count, events

    return store.write(task)


def set_expiry(store: Store, message_id: int, expires_at: float) -> None:
    """Remove ``message_id`` (unless held) once ``expires_at`` (unix time) has passed."""
    ensure_schema(store)

    def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
        conn.execute(
            "INSERT INTO message_expiry (message_id, expires_at) VALUES (?, ?) "
            "ON CONFLICT(message_id) DO UPDATE SET expires_at = excluded.expires_at",
            (message_id, int(expires_at)))
        return None, []

    store.write(task)


@dataclass(frozen=True)
class LegalHold:
    id: int
    scope: HoldScope
    value: str
    reason: str
    created_at: int


def _normalise(scope: str, value: str | int) -> tuple[HoldScope, str]:
    if scope not in _SCOPES:
        raise ValidationError(f"a legal hold's scope is one of {', '.join(_SCOPES)}, "
                              f"not {scope!r}")
    text = str(value).strip()
    if scope == "message" and not text.isdigit():
        raise ValidationError(f"a message hold needs a message id, not {value!r}")
    if not text:
        raise ValidationError("a legal hold needs a value")
    return scope, (text.lower() if scope == "contact" else text)  # type: ignore[return-value]


class LegalHolds:
    """Place, list and release legal holds."""

    def __init__(self, store: Store, *, audit: AuditSink | None = None,
                 clock: Clock = time.time) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        ensure_schema(store)

    def place(self, scope: str, value: str | int, reason: str = "") -> LegalHold:
        kind, text = _normalise(scope, value)
        now = int(self.clock())

        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            conn.execute(
                "INSERT INTO legal_holds (scope, value, reason, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(scope, value) DO UPDATE SET reason = excluded.reason",
                (kind, text, reason, now))
            row = conn.execute("SELECT id FROM legal_holds WHERE scope = ? AND value = ?",
                               (kind, text)).fetchone()
            return int(row[0]), []

        ident = self.store.write(task)
        if self.audit is not None:
            self.audit.record("legal-hold-placed", object_id=f"hold:{ident}",
                              details={"scope": kind, "reason": reason})
        return LegalHold(ident, kind, text, reason, now)

    def release(self, hold_id: int) -> None:
        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            return conn.execute("DELETE FROM legal_holds WHERE id = ?",
                                (hold_id,)).rowcount, []

        if not self.store.write(task):
            raise NotFound(f"no legal hold with id {hold_id}")
        if self.audit is not None:
            self.audit.record("legal-hold-released", object_id=f"hold:{hold_id}")

    def active(self) -> list[LegalHold]:
        return [LegalHold(int(i), s, str(v), str(r), int(c)) for i, s, v, r, c in
                self.store.read_rows("SELECT id, scope, value, reason, created_at "
                                     "FROM legal_holds ORDER BY id")]

    def holds_for(self, scope: str, value: str | int) -> list[LegalHold]:
        kind, text = _normalise(scope, value)
        return [h for h in self.active() if h.scope == kind and h.value == text]

    def is_held(self, message_id: int) -> bool:
        return not self.store.read_rows(
            f"SELECT 1 FROM messages m WHERE m.id = ? AND {not_held_sql()}", (message_id,))


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed, per channel (``expired``: secure copies past their expiry),
    and how many due messages legal holds kept."""

    removed: Mapping[str, int]
    held: int
    cutoffs: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.removed.values())


class RetentionJob:
    """Deletes what the policy no longer allows to keep: run it daily (and on start-up).

    ``clock`` returns unix time; tests inject one to travel forward."""

    def __init__(self, store: Store, policy: RetentionPolicy, *,
                 audit: AuditSink | None = None, clock: Clock = time.time) -> None:
        self.store = store
        self.policy = policy
        self.audit = audit
        self.clock = clock

    def _due(self, now: int) -> tuple[dict[str, list[int]], int, dict[str, int]]:
        due: dict[str, list[int]] = {}
        cutoffs: dict[str, int] = {}
        held = 0
        age = "coalesce(m.date, m.received_at)"
        for channel, period in sorted(self.policy.periods.items()):
            if channel == "audit":
                continue
            cutoff = now - int(period.total_seconds())
            cutoffs[channel] = cutoff
            where = f"{channel_sql(channel)} AND {age} IS NOT NULL AND {age} < ?"
            due[channel] = [int(r[0]) for r in self.store.read_rows(
                f"SELECT m.id FROM messages m WHERE {where} AND {not_held_sql()}",
                (channel, cutoff))]
            held += int(self.store.read_rows(
                f"SELECT count(*) FROM messages m WHERE {where} AND NOT {not_held_sql()}",
                (channel, cutoff))[0][0])
        due["expired"] = [int(r[0]) for r in self.store.read_rows(
            f"SELECT m.id FROM message_expiry e JOIN messages m ON m.id = e.message_id "
            f"WHERE e.expires_at <= ? AND {not_held_sql()}", (now,))]
        held += int(self.store.read_rows(
            f"SELECT count(*) FROM message_expiry e JOIN messages m ON m.id = e.message_id "
            f"WHERE e.expires_at <= ? AND NOT {not_held_sql()}", (now,))[0][0])
        return due, held, cutoffs

    def preview(self) -> PurgeReport:
        """What :meth:`run` would remove now, without removing anything."""
        ensure_schema(self.store)
        due, held, cutoffs = self._due(int(self.clock()))
        return PurgeReport({k: len(v) for k, v in due.items()}, held, cutoffs)

    def run(self) -> PurgeReport:
        ensure_schema(self.store)
        due, held, cutoffs = self._due(int(self.clock()))
        removed: dict[str, int] = {}
        seen: set[int] = set()
        for kind, ids in due.items():
            fresh = [i for i in ids if i not in seen]
            seen.update(fresh)
            removed[kind] = delete_messages_and_threads(self.store, fresh)
        report = PurgeReport(removed, held, cutoffs)
        if self.audit is not None:
            self.audit.record("retention-purge", details={
                "removed": ", ".join(f"{k}={v}" for k, v in sorted(removed.items())),
                "held": str(held),
                "cutoffs": ", ".join(f"{k}<{v}" for k, v in sorted(cutoffs.items()))})
        return report
