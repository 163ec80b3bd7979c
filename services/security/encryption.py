"""Keys of the encrypted store: held in the keyring, rotated crash-safely.

The store database (``commhub.sqlite3``) is encrypted with SQLCipher (see
:mod:`services.store.cipher`) under a random 256-bit key.  The key lives in the
:class:`~services.security.secrets.SecretStore` (the OS keyring in production) as
hex under account ``store-encryption``, key ``<store id>``; the store id is a
random name kept next to the database in ``commhub.sqlite3.keyid`` (not secret:
it only says which keyring entry to use, so the data directory can move).

Rotation (``commhub key rotate``) and first encryption of a plain store
(``commhub key encrypt``) run the same crash-safe steps:

1. the new key is saved in the keyring as ``<store id>.next`` (nothing else
   changed yet);
2. the database is copied, re-encrypted under the new key, to
   ``commhub.sqlite3.rekey``, fsynced and verified;
3. that copy atomically replaces the database (``os.replace``, directory fsynced);
4. the new key becomes ``<store id>`` and ``.next`` is deleted.

Opening after a crash tries ``<store id>`` then ``<store id>.next``: before step 3
the old key opens the old file (the leftovers are removed); after it, the new key
does and step 4 is finished then.  A store whose key is not in the keyring is never
replaced by a new empty one: :class:`~services.errors.EncryptionKeyMissing` says
what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.errors import (
    ConfigurationError,
    EncryptionKeyError,
    EncryptionKeyMissing,
    NotFound,
    StoreError,
)
from services.security.secrets import SecretStore
from services.store.cipher import DatabaseKey, export_database, file_state, open_database

__all__ = ["KEYRING_ACCOUNT", "KeyStatus", "StoreKeys"]

KEYRING_ACCOUNT = "store-encryption"
_FORMAT = "commhub-store-key/1"
_CIPHER = "sqlcipher4-aes256"
Step = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class KeyStatus:
    state: str  # "missing", "plain" or "encrypted"
    store_id: str | None
    key_in_keyring: bool
    rotation_pending: bool


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StoreKeys:
    """The encryption key of the store database at ``db_path``, kept in ``secrets``."""

    def __init__(self, db_path: Path, secrets: SecretStore) -> None:
        self.db_path = Path(db_path)
        self.secrets = secrets

    # -- files and names ---------------------------------------------------------------
    @property
    def keyid_path(self) -> Path:
        return self.db_path.with_name(self.db_path.name + ".keyid")

    @property
    def rekey_path(self) -> Path:
        return self.db_path.with_name(self.db_path.name + ".rekey")

    def _store_id(self) -> str | None:
        try:
            data = json.loads(self.keyid_path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise EncryptionKeyError(
                f"{self.keyid_path} cannot be read ({exc}); restore it from a backup"
            ) from exc
        store_id = data.get("store_id") if isinstance(data, dict) else None
        if not isinstance(store_id, str) or not store_id:
            raise EncryptionKeyError(f"{self.keyid_path} names no store id; restore it")
        return store_id

    def _new_store_id(self) -> str:
        store_id = uuid.uuid4().hex
        tmp = self.keyid_path.with_name(self.keyid_path.name + ".tmp")
        body = {"format": _FORMAT, "cipher": _CIPHER, "store_id": store_id}
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(body, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.keyid_path)
            _fsync_dir(self.keyid_path.parent)
        except OSError as exc:
            raise StoreError(f"cannot write {self.keyid_path}: {exc}") from exc
        return store_id

    def _entry(self, store_id: str) -> str:
        return f"keyring entry {KEYRING_ACCOUNT}:{store_id} (service 'commhub')"

    def _get(self, name: str) -> DatabaseKey | None:
        text = self.secrets.get(KEYRING_ACCOUNT, name)
        return DatabaseKey.from_hex(text) if text else None

    # -- opening -----------------------------------------------------------------------
    def status(self) -> KeyStatus:
        store_id = self._store_id()
        return KeyStatus(
            state=file_state(self.db_path),
            store_id=store_id,
            key_in_keyring=bool(store_id and self.secrets.get(KEYRING_ACCOUNT, store_id)),
            rotation_pending=bool(
                store_id and self.secrets.get(KEYRING_ACCOUNT, f"{store_id}.next")
            ),
        )

    def key_for_open(self, encryption_enabled: bool) -> DatabaseKey | None:
        """The key to open the store with (None: a plain store).

        An existing encrypted store is opened encrypted whatever the setting; a new
        store is created encrypted when ``encryption_enabled``; an existing plain
        store with encryption enabled is an error (``commhub key encrypt``)."""
        state = file_state(self.db_path)
        if state == "encrypted":
            return self.existing_key()
        if state == "plain":
            if encryption_enabled:
                raise ConfigurationError(
                    f"encryption is enabled but the store {self.db_path} is not encrypted: "
                    "close Commhub and run `commhub key encrypt` to encrypt it (or turn "
                    "encryption off)"
                )
            return None
        if not encryption_enabled:
            return None
        return self._key_for_new_store()

    def _key_for_new_store(self) -> DatabaseKey:
        store_id = self._store_id()
        if store_id is not None:
            existing = self._get(store_id)
            if existing is not None:  # created before, the database not yet written
                return existing
        else:
            store_id = self._new_store_id()
        key = DatabaseKey.generate()
        self.secrets.set(KEYRING_ACCOUNT, store_id, key.hex())
        return key

    def existing_key(self) -> DatabaseKey:
        """The key that opens the encrypted store (finishing an interrupted rotation)."""
        store_id = self._store_id()
        if store_id is None:
            raise EncryptionKeyMissing(
                f"the store {self.db_path} is encrypted but {self.keyid_path}, which names "
                "its key in the keyring, is missing: restore that file from a backup"
            )
        current, pending = self._get(store_id), self._get(f"{store_id}.next")
        if current is None and pending is None:
            raise EncryptionKeyMissing(
                f"the key of the encrypted store {self.db_path} is not in the keyring "
                f"({self._entry(store_id)}): unlock or restore the keyring that holds it. "
                "Commhub will not create a new store over the encrypted one; to start "
                "afresh, move the data directory away"
            )
        for candidate in (current, pending):
            if candidate is None:
                continue
            try:
                open_database(self.db_path, candidate).close()
            except EncryptionKeyError:
                continue
            self._settle(store_id, candidate, promote=candidate is pending)
            return candidate
        raise EncryptionKeyError(
            f"the key in the keyring ({self._entry(store_id)}) does not open the store "
            f"{self.db_path}: the keyring entry or the file was replaced; restore the "
            "matching pair from a backup"
        )

    def _settle(self, store_id: str, key: DatabaseKey, *, promote: bool) -> None:
        """Finish or undo an interrupted rotation, given the key that opens the store."""
        if promote:
            self.secrets.set(KEYRING_ACCOUNT, store_id, key.hex())
        self.secrets.delete(KEYRING_ACCOUNT, f"{store_id}.next")
        with contextlib.suppress(FileNotFoundError):
            self.rekey_path.unlink()

    # -- rotation ----------------------------------------------------------------------
    def rotate(self, *, on_step: Step | None = None) -> None:
        """Re-encrypt the whole store under a new key (also: encrypt a plain store).

        The store must not be open anywhere (close Commhub first).  ``on_step`` is
        called after each durable step (``"pending"``, ``"copied"``, ``"replaced"``)."""
        step = on_step or (lambda name: None)
        state = file_state(self.db_path)
        if state == "missing":
            raise NotFound(f"there is no store at {self.db_path} to encrypt")
        old = self.existing_key() if state == "encrypted" else None
        store_id = self._store_id() or self._new_store_id()
        new = DatabaseKey.generate()
        with contextlib.suppress(FileNotFoundError):
            self.rekey_path.unlink()
        self.secrets.set(KEYRING_ACCOUNT, f"{store_id}.next", new.hex())
        step("pending")
        export_database(self.db_path, old, self.rekey_path, new)
        self._drop_wal()
        step("copied")
        try:
            os.replace(self.rekey_path, self.db_path)
            _fsync_dir(self.db_path.parent)
        except OSError as exc:
            raise StoreError(f"cannot replace {self.db_path}: {exc}") from exc
        step("replaced")
        self._settle(store_id, new, promote=True)

    def _drop_wal(self) -> None:
        """Remove the old database's (checkpointed, empty) WAL and its index, which must
        not be applied to the re-encrypted file; a non-empty WAL means the store is open."""
        wal = self.db_path.with_name(self.db_path.name + "-wal")
        shm = self.db_path.with_name(self.db_path.name + "-shm")
        try:
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreError(
                    f"the store {self.db_path} is in use (its WAL is not empty): close "
                    "Commhub and try again"
                )
            for path in (wal, shm):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        except StoreError:
            with contextlib.suppress(FileNotFoundError):
                self.rekey_path.unlink()
            raise
        except OSError as exc:
            raise StoreError(f"cannot remove the old WAL of {self.db_path}: {exc}") from exc
