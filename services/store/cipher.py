"""Encryption at rest for the store database: SQLCipher (AES-256, page level).

An encrypted store is a SQLCipher 4 database: every page of the main file and
every frame of its WAL is AES-256-CBC encrypted with a per-page HMAC-SHA512, so
the message table, participants, blobs (raw messages, body text, attachment
text) and the FTS5 index are unreadable without the key; the ``-shm`` file holds
only page numbers and checksums.  The key is a random 32-byte :class:`DatabaseKey`
given to SQLCipher raw (``x'..'``: no passphrase derivation, so opening a reader
connection costs microseconds).  Where keys come from (the keyring) and how they
rotate is :mod:`services.security.encryption`; this module only opens and copies
databases.

A plain store keeps using the standard library's ``sqlite3``; an encrypted one
uses ``sqlcipher3`` (DB-API 2 compatible).  Its exceptions are not
``sqlite3.Error`` subclasses, so code that translates database errors catches
:data:`DB_ERRORS`.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlcipher3.dbapi2 as _sqlcipher

from services.errors import EncryptionKeyError, StoreError

__all__ = [
    "DB_ERRORS",
    "KEY_BYTES",
    "DatabaseKey",
    "export_database",
    "file_state",
    "open_database",
]

KEY_BYTES = 32  # AES-256
_SQLITE_MAGIC = b"SQLite format 3\x00"
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, _sqlcipher.Error)


@dataclass(frozen=True, slots=True)
class DatabaseKey:
    """A raw AES-256 database key (never shown by ``repr``)."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_BYTES:
            raise ValueError(f"a database key is {KEY_BYTES} bytes, not {len(self.raw)}")

    @classmethod
    def generate(cls) -> DatabaseKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_hex(cls, text: str) -> DatabaseKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as exc:
            raise EncryptionKeyError(
                f"the stored database key is not valid ({exc}); restore it from your backup"
            ) from exc

    def hex(self) -> str:
        return self.raw.hex()

    def pragma(self) -> str:
        """The value for ``PRAGMA key`` / ``ATTACH ... KEY``: a raw key literal."""
        return f"x'{self.raw.hex()}'"


def file_state(path: Path) -> str:
    """``"missing"`` (no file or empty), ``"plain"`` (an SQLite header) or ``"encrypted"``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    if not head:
        return "missing"
    return "plain" if head == _SQLITE_MAGIC else "encrypted"


def open_database(path: Path, key: DatabaseKey | None) -> sqlite3.Connection:
    """A connection in autocommit mode; with ``key``, a verified SQLCipher connection.

    Raises :class:`EncryptionKeyError` when ``key`` does not open ``path``."""
    if key is None:
        return sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
    conn: Any = _sqlcipher.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=30.0
    )
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is our error, not a log
        conn.execute(f'PRAGMA key = "{key.pragma()}"')
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except _sqlcipher.DatabaseError as exc:
        conn.close()
        raise EncryptionKeyError(
            f"the encryption key does not open {path} (wrong key, or the file is not "
            f"an encrypted Commhub store): {exc}"
        ) from exc
    return cast(sqlite3.Connection, conn)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export_database(
    source: Path, source_key: DatabaseKey | None, dest: Path, dest_key: DatabaseKey | None
) -> None:
    """Copy ``source`` into a new file ``dest`` under ``dest_key`` (None: plaintext).

    The source's WAL is checkpointed first; ``dest`` is written in rollback-journal
    mode, fsynced, and verified to open with ``dest_key``.  ``dest`` must not exist."""
    if dest.exists():
        raise StoreError(f"{dest} is in the way; remove it and try again")
    conn: Any = _sqlcipher.connect(str(source), isolation_level=None, timeout=2.0)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        if source_key is not None:
            conn.execute(f'PRAGMA key = "{source_key.pragma()}"')
        # Held until close: no other connection (this process or another) may use the
        # store while it is copied and replaced.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except _sqlcipher.OperationalError as exc:
            raise StoreError(
                f"the store {source} is in use ({exc}): close Commhub and try again"
            ) from exc
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute("COMMIT")
        if int(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]):
            raise StoreError(f"the store {source} is in use: close Commhub and try again")
        conn.execute(
            "ATTACH DATABASE ? AS export KEY ?",
            (str(dest), dest_key.pragma() if dest_key is not None else ""),
        )
        conn.execute("SELECT sqlcipher_export('export')")
        conn.execute(f"PRAGMA export.user_version = {version}")
        conn.execute("DETACH DATABASE export")
    except _sqlcipher.DatabaseError as exc:
        raise EncryptionKeyError(f"cannot read {source} with the given key: {exc}") from exc
    except _sqlcipher.Error as exc:
        raise StoreError(f"copying {source} to {dest} failed: {exc}") from exc
    finally:
        conn.close()
    try:
        _fsync(dest)
    except OSError as exc:
        raise StoreError(f"cannot sync {dest}: {exc}") from exc
    check = open_database(dest, dest_key)
    try:
        got = int(check.execute("PRAGMA user_version").fetchone()[0])
        ok = check.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        check.close()
    if got != version or ok != "ok":
        raise StoreError(f"the copy {dest} does not check out (version {got}, {ok})")
