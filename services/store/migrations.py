"""Schema and versioned migrations.

``MIGRATIONS`` is an ordered tuple of SQL scripts; script *n* (1-based) moves the
database from ``PRAGMA user_version`` *n-1* to *n*.  Each script runs in its own
``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so a
failure leaves the database at the previous version.  Never edit a released
script: append a new one.

The schema is channel-neutral from version 1: e-mail, SMS, chat and socket
messages share ``messages``; ``conversation`` holds the peer key of SMS/chat
messages; ``participants`` holds every party (role 0 from, 1 to, 2 cc, 3 bcc,
4 reply-to) for fast contact lookup; bulky content lives in ``blobs`` (see
``services.store.blobs``) and the full-text index in the contentless FTS5 table
``fts`` whose rowid is ``messages.id`` (its ``fields`` column: the field columns'
tokens prefixed per field, see ``services.store.fieldterms``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.errors import StoreError
from services.store.cipher import DB_ERRORS

__all__ = ["HASHED", "MIGRATIONS", "migrate", "schema_version", "split_statements"]

# Flags bitmask: services.store.prepare.FLAG_BITS.  Dates: unix seconds, UTC.
_V1 = """
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT 'email',
    address     TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL DEFAULT (unixepoch())
);

CREATE TABLE folders (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    role        TEXT,
    UNIQUE (account_id, name)
);
CREATE INDEX folders_name_key ON folders(name_key);

CREATE TABLE blobs (
    key         TEXT PRIMARY KEY,
    codec       TEXT NOT NULL,
    data        BLOB NOT NULL
);

CREATE TABLE threads (
    id          INTEGER PRIMARY KEY,
    subject_key TEXT NOT NULL DEFAULT '',
    last_date   INTEGER
);
CREATE INDEX threads_subject ON threads(subject_key, last_date);

CREATE TABLE msgids (
    msgid       TEXT PRIMARY KEY,
    thread_id   INTEGER NOT NULL,
    message_id  INTEGER
) WITHOUT ROWID;
CREATE INDEX msgids_thread ON msgids(thread_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id       INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    channel         TEXT NOT NULL DEFAULT 'email',
    remote_id       TEXT,
    message_id      TEXT,
    in_reply_to     TEXT,
    refs            TEXT NOT NULL DEFAULT '',
    thread_id       INTEGER,
    conversation    TEXT,
    sender_addr     TEXT NOT NULL DEFAULT '',
    sender_name     TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    date            INTEGER,
    received_at     INTEGER,
    flags           INTEGER NOT NULL DEFAULT 0,
    priority        INTEGER NOT NULL DEFAULT 3,
    size            INTEGER NOT NULL DEFAULT 0,
    snippet         TEXT NOT NULL DEFAULT '',
    has_attachments INTEGER NOT NULL DEFAULT 0,
    raw_key         TEXT,
    text_key        TEXT,
    sha256          TEXT NOT NULL,
    parse_warnings  TEXT
);
CREATE INDEX messages_sha ON messages(account_id, sha256);
CREATE UNIQUE INDEX messages_remote ON messages(account_id, folder_id, remote_id)
    WHERE remote_id IS NOT NULL;
CREATE INDEX messages_date ON messages(date);
CREATE INDEX messages_folder_date ON messages(folder_id, date);
CREATE INDEX messages_account_date ON messages(account_id, date);
CREATE INDEX messages_thread ON messages(thread_id, date);
CREATE INDEX messages_flags ON messages(flags, date);
CREATE INDEX messages_channel ON messages(channel, date);
CREATE INDEX messages_msgid ON messages(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_attach ON messages(has_attachments, date);

CREATE TABLE participants (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    role        INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    address     TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, role, position)
) WITHOUT ROWID;
CREATE INDEX participants_address ON participants(address COLLATE NOCASE);

CREATE TABLE attachments (
    message_id   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    part_id      TEXT NOT NULL,
    position     INTEGER NOT NULL DEFAULT 0,
    filename     TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size         INTEGER NOT NULL DEFAULT 0,
    content_id   TEXT,
    inline       INTEGER NOT NULL DEFAULT 0,
    text_key     TEXT,
    PRIMARY KEY (message_id, part_id)
) WITHOUT ROWID;

CREATE TABLE labels (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    label_key   TEXT NOT NULL,
    PRIMARY KEY (message_id, label)
) WITHOUT ROWID;
CREATE INDEX labels_key ON labels(label_key);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL DEFAULT (unixepoch())
);

CREATE TABLE contact_identities (
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'socket', 'chat')),
    service     TEXT NOT NULL DEFAULT '',
    value       TEXT NOT NULL,
    is_primary  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, service, value)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE VIRTUAL TABLE fts USING fts5(
    subject, sender, rcpt_to, rcpt_cc, rcpt_bcc, body, att_names, att_text, fields,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO fts (fts, rank) VALUES ('hashsize', 16777216);
INSERT INTO fts (fts, rank) VALUES ('automerge', 8);
INSERT INTO fts (fts, rank) VALUES ('pgsz', 4050);
"""

# Version 2: what server-backed accounts need.  ``sync_state`` keeps, per account and
# folder, where the last sync stopped (IMAP UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ; Gmail
# historyId or Graph deltaLink in ``token``).  ``outbox`` holds every message to send,
# written *before* any network I/O; its Message-ID is the idempotency key.
# ``messages.body_state`` marks header-only messages (see services.store.partial).
_V2 = """
CREATE TABLE sync_state (
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder        TEXT NOT NULL,
    uidvalidity   INTEGER,
    uidnext       INTEGER,
    highestmodseq INTEGER,
    token         TEXT,
    updated_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (account_id, folder)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    account       TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    raw_key       TEXT NOT NULL,
    sender        TEXT NOT NULL,
    recipients    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('draft', 'queued', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    error_type    TEXT,
    provider      TEXT,
    created_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    sent_at       INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt);

-- 0: the raw is the whole message; 1: headers only (IMAP header sync), the body is
-- fetched later and replaces the raw (services.store.partial).
ALTER TABLE messages ADD COLUMN body_state INTEGER NOT NULL DEFAULT 0;
"""

# Version 3: attachments (text extraction, the attachment view) — issue 5.
_V3 = """
-- Filled by services.store.attachments once an attachment's content has been analysed:
-- sha256 of the content, the kind found from its magic bytes, the analysis status and
-- risk flags (JSON list); ``text_key`` (version 1) names the extracted text's blob.
ALTER TABLE attachments ADD COLUMN sha256 TEXT;
ALTER TABLE attachments ADD COLUMN kind TEXT;
ALTER TABLE attachments ADD COLUMN status TEXT;
ALTER TABLE attachments ADD COLUMN risks TEXT;
CREATE INDEX attachments_sha ON attachments(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX attachments_kind ON attachments(kind) WHERE kind IS NOT NULL;

-- Every attachment of every channel with its message's context.
CREATE VIEW attachment_view AS
SELECT a.message_id, a.part_id, a.position, a.filename, a.content_type, a.size, a.inline,
       a.sha256, a.kind, a.status, a.risks, a.text_key,
       m.channel, acc.name AS account, m.sender_addr, m.sender_name, m.subject, m.date
FROM attachments a
JOIN messages m ON m.id = a.message_id
JOIN accounts acc ON acc.id = m.account_id;
"""

# Version 4: unified contacts (records, handles, merges) — issue 4.  ``contacts`` and
# ``contact_identities`` (version 1) hold what the user edited; addresses seen in
# ``participants`` without a record are derived contacts (services.contacts).
# ``contact_merges`` remembers which record a merged-away record went into, so an old
# id still resolves.  Identities are looked up case-insensitively, like participants.
_V4 = """
ALTER TABLE contacts ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX contact_identities_value ON contact_identities(value COLLATE NOCASE);
CREATE TABLE contact_merges (
    merged_id   INTEGER PRIMARY KEY,
    into_id     INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    merged_at   INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX contact_merges_into ON contact_merges(into_id);
"""

# Version 5: retention (legal holds, expiring local copies) and the index that keeps bulk
# deletes linear (every delete looks up msgids by message id) — issue 6.
_V5 = """
CREATE TABLE legal_holds (
    id          INTEGER PRIMARY KEY,
    scope       TEXT NOT NULL CHECK (scope IN ('contact', 'account', 'message')),
    value       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (scope, value)
);
CREATE TABLE message_expiry (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX message_expiry_due ON message_expiry(expires_at);
CREATE INDEX msgids_message ON msgids(message_id) WHERE message_id IS NOT NULL;
"""

# Version 6: every server ingest first asks whether the folder holds local copies without a
# live remote id (services.store.partial: drafts, imports, copies orphaned by a UIDVALIDITY
# change).  Without an index that question scanned the whole folder once per batch, which
# made a big initial sync quadratic; this partial index holds only such copies.
# ``message_heads`` keeps the header block of a header-only message (body_state 1) by the
# message's id instead of as a content-addressed blob: it is never shared and is dropped
# when the body replaces it (rows stored before version 6 keep their blob).  Such a row has
# no content hash either (raw_key NULL, sha256 ''): a hash of a header block dedupes
# nothing, and a random key in messages_sha for every synced header cost ~5 % of a sync.
_V6 = """
CREATE INDEX messages_orphan ON messages(folder_id)
    WHERE (remote_id IS NULL OR remote_id LIKE 'stale:%');
CREATE TABLE message_heads (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    codec       TEXT NOT NULL,
    data        BLOB NOT NULL
);
"""

# Version 7: three indexes of ``messages`` hold only the rows their queries can want, so a
# big sync inserts fewer index entries (about 3 % of its writing): attachments
# (``has:attachment``), channels other than e-mail (``channel:sms``; e-mail is nearly every
# row, which the date indexes serve as well) and content hashes (header-only rows have
# none).  A query must state a partial index's condition to use it: ``HASHED`` here, and
# ``services.store.search.channel_sql`` for channels.
_V7 = """
DROP INDEX messages_attach;
CREATE INDEX messages_attach ON messages(date) WHERE has_attachments = 1;
DROP INDEX messages_channel;
CREATE INDEX messages_channel ON messages(channel, date) WHERE channel <> 'email';
DROP INDEX messages_sha;
CREATE INDEX messages_sha ON messages(account_id, sha256) WHERE sha256 <> '';
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)

#: The condition of the partial index ``messages_sha``: a lookup by content hash adds it.
HASHED = "sha256 <> ''"


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers' inner ``;`` are kept)."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement at end of script: {buf.strip()[:60]!r}")
    return statements


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database up to ``len(migrations)``; return the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``).  Safe to call on
    every open: an up-to-date database is left untouched.
    """
    target = len(migrations)
    current = schema_version(conn)
    if current > target:
        raise StoreError(
            f"the database is at schema version {current}, newer than this Commhub "
            f"understands ({target}); upgrade Commhub"
        )
    for version in range(current + 1, target + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            if schema_version(conn) >= version:  # another process got there first
                conn.execute("ROLLBACK")
                continue
            for statement in split_statements(migrations[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except DB_ERRORS as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"schema migration to version {version} failed: {exc}") from exc
    return schema_version(conn)
