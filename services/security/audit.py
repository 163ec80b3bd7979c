"""The append-only, tamper-evident audit log.

Who did what, when, on which channel and object: ``sent``, ``received``, ``read``,
``deleted``, ``exported``, ``erased``, ``rule-fired``, ``sign-in``, ``settings`` (and the
DLP's ``dlp-blocked``/``dlp-warned``).  Entries are rows of their own SQLite file,
chained by HMAC-SHA256 (see :mod:`services.security.audit_chain`); the HMAC key lives in
the keyring through a :class:`~services.security.secrets.SecretStore`, never in the file::

    log = AuditLog.open(data_dir / "audit.sqlite3", secrets)
    log.record("read", channel="email", object_id="<id@example.org>", user="me@example.org")
    log.verify().ok

Entries never hold message bodies or secrets: ``details`` whose key names content or a
credential (``body``, ``password``, ``token``...) are refused with
:class:`~services.errors.ValidationError`, and values in which the DLP scanner finds a
card number, key or similar are stored redacted.  SQLite triggers refuse UPDATE and
DELETE, so our own code cannot rewrite history by mistake; someone editing the file
directly is caught by :meth:`AuditLog.verify`.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets as pysecrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from services.errors import ConfigurationError, StoreError, ValidationError
from services.security.audit_chain import (
    GENESIS,
    AuditEntry,
    Head,
    Problem,
    VerifyReport,
    entry_mac,
    format_time,
    head_mac,
    parse_time,
    verify_chain,
)
from services.security.dlp import redact
from services.security.secrets import SecretStore

__all__ = ["EVENTS", "AuditEntry", "AuditLog", "Problem", "VerifyReport"]

EVENTS = (
    "sent",
    "received",
    "read",
    "deleted",
    "exported",
    "erased",
    "rule-fired",
    "sign-in",
    "settings",
    "dlp-blocked",
    "dlp-warned",
    "send-failed",
)
"""The events Commhub records; others may be recorded if they are lower-case slugs."""

KEY_ACCOUNT = "commhub-audit"
KEY_NAME = "hmac-key"
_EVENT = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_FORBIDDEN = re.compile(
    r"body|content|text|html|raw|password|passwd|secret|token|credential|private|"
    r"api.?key|authorization|cookie|attachment.?data"
)
_MAX_FIELD = 320
_MAX_DETAIL = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    event TEXT NOT NULL,
    user TEXT,
    channel TEXT,
    object_id TEXT,
    details TEXT NOT NULL,
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log(ts);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    mac TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

_COLUMNS = "seq, ts, event, user, channel, object_id, details, prev_mac, mac"


def _default_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return None


def _row_entry(row: tuple[object, ...]) -> AuditEntry:
    seq, ts, event, user, channel, object_id, details, prev_mac, mac = row
    try:
        parsed = json.loads(str(details))
        det = {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
    except ValueError:
        det = {"unreadable": str(details)[:100]}
    try:
        when = parse_time(str(ts))
    except ValueError:
        when = datetime.fromtimestamp(0, UTC)
    return AuditEntry(
        seq=int(str(seq)),
        time=when,
        event=str(event),
        user=None if user is None else str(user),
        channel=None if channel is None else str(channel),
        object_id=None if object_id is None else str(object_id),
        details=det,
        prev_mac=str(prev_mac),
        mac=str(mac),
    )


def _check_field(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"audit {name} must be text, not {type(value).__name__}")
    if len(value) > _MAX_FIELD:
        raise ValidationError(f"audit {name} is too long ({len(value)} > {_MAX_FIELD} chars)")
    return redact(value)


def clean_details(details: Mapping[str, str] | None) -> dict[str, str]:
    """Refuse content and credential keys; redact sensitive values; keep it short."""
    out: dict[str, str] = {}
    for key, value in (details or {}).items():
        k = str(key)
        if _FORBIDDEN.search(k.lower()):
            raise ValidationError(
                f"audit details must not hold message content or secrets (key {k!r})"
            )
        v = str(value)
        if len(v) > _MAX_DETAIL:
            raise ValidationError(
                f"audit detail {k!r} is too long ({len(v)} chars): record metadata, not content"
            )
        out[k] = redact(v)
    return out


class AuditLog:
    """The audit log in one SQLite file; safe to share between threads and processes."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        secrets: SecretStore,
        *,
        path: Path | None = None,
        user: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = connection
        self._secrets = secrets
        self.path = path
        self.default_user = user
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._key: bytes | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        secrets: SecretStore,
        *,
        user: str | None = None,
        clock: Callable[[], datetime] | None = None,
        durable: bool = False,
    ) -> AuditLog:
        """Open (creating if needed) the log at ``path``; ``user`` defaults to the OS login.

        Entries are committed one by one (WAL).  By default a commit survives a killed
        process but the newest entries may be lost to a power cut (``synchronous=NORMAL``,
        as the store; about 0.3 ms an entry); ``durable=True`` syncs every entry to disk
        (``synchronous=FULL``, a few ms an entry, depending on the disk)."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(p, isolation_level=None, check_same_thread=False, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the audit log {p}: {exc}") from exc
        return cls(db, secrets, path=p, user=user or _default_user(), clock=clock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _sql(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"audit log: cannot {what}: {exc}") from exc

    # -- the key ------------------------------------------------------------------
    def ensure_key(self) -> None:
        """Fetch (or create) the HMAC key now, so a keyring that cannot give one fails at
        start with its error instead of at the first event to record."""
        with self._lock:
            self._load_key(create=True)

    def _load_key(self, *, create: bool) -> bytes | None:
        if self._key is None:
            text = self._secrets.get(KEY_ACCOUNT, KEY_NAME)
            if text is None and create:
                text = pysecrets.token_hex(32)
                self._secrets.set(KEY_ACCOUNT, KEY_NAME, text)
            if text is not None:
                self._key = bytes.fromhex(text)
        return self._key

    # -- writing ------------------------------------------------------------------
    def record(
        self,
        event: str,
        *,
        channel: str | None = None,
        object_id: str | None = None,
        user: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> AuditEntry:
        """Append one event and return it (with its sequence number and MAC)."""
        if not isinstance(event, str) or not _EVENT.match(event):
            raise ValidationError(
                f"audit event must be a lower-case name such as 'sent', not {event!r}"
            )
        clean = clean_details(details)
        who = _check_field("user", user if user is not None else self.default_user)
        chan = _check_field("channel", channel)
        obj = _check_field("object_id", object_id)
        with self._sql("append an entry") as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                entry = self._append(db, event, who, chan, obj, clean)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return entry

    def _append(
        self,
        db: sqlite3.Connection,
        event: str,
        user: str | None,
        channel: str | None,
        object_id: str | None,
        details: dict[str, str],
    ) -> AuditEntry:
        last = db.execute("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        key = self._load_key(create=last is None)
        if key is None:
            raise ConfigurationError(
                "the audit log's HMAC key is missing from the keyring; without it new entries "
                "cannot be chained (restore the key, or move the old log aside)"
            )
        seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
        draft = AuditEntry(seq, self._clock(), event, user, channel, object_id, details, prev)
        mac = entry_mac(key, draft)
        db.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, format_time(draft.time), event, user, channel, object_id,
             json.dumps(dict(sorted(details.items())), ensure_ascii=False), prev, mac),
        )
        db.execute(
            "INSERT INTO audit_head (id, seq, mac, signature) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET seq=excluded.seq, mac=excluded.mac, "
            "signature=excluded.signature",
            (seq, mac, head_mac(key, seq, mac)),
        )
        return AuditEntry(seq, draft.time, event, user, channel, object_id, details, prev, mac)

    # -- reading ------------------------------------------------------------------
    def entries(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        events: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
    ) -> list[AuditEntry]:
        """Entries oldest first; ``since`` inclusive, ``until`` exclusive; filters are ORs."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("ts >= ?")
            args.append(format_time(since))
        if until is not None:
            where.append("ts < ?")
            args.append(format_time(until))
        for column, values in (("event", events), ("user", users), ("channel", channels)):
            if values is not None:
                wanted = [str(v) for v in values]
                where.append(f"{column} IN ({', '.join('?' * len(wanted))})" if wanted else "0")
                args.extend(wanted)
        sql = f"SELECT {_COLUMNS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._sql("read entries") as db:
            rows = db.execute(sql + " ORDER BY seq", args).fetchall()
        return [_row_entry(r) for r in rows]

    def count(self) -> int:
        with self._sql("count entries") as db:
            return int(db.execute("SELECT count(*) FROM audit_log").fetchone()[0])

    def verify(self) -> VerifyReport:
        """Check every entry's MAC and the chain; says which entry was edited, inserted or
        deleted (see :mod:`services.security.audit_chain`)."""
        entries = self.entries()
        with self._sql("read the head") as db:
            row = db.execute("SELECT seq, mac, signature FROM audit_head WHERE id = 1").fetchone()
        head = Head(int(row[0]), str(row[1]), str(row[2])) if row else None
        key = self._load_key(create=False)
        if key is None:
            if not entries and head is None:
                return VerifyReport(0)
            return VerifyReport(len(entries), (
                Problem(0, "key", "the audit log's HMAC key is missing from the keyring: "
                        "the log cannot be verified"),
            ))
        return verify_chain(key, entries, head)
