"""Store keys: creation, rotation (crash-safe), encrypting a plain store, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.errors import EncryptionKeyError, StoreError
from services.query.builder import EmailQuery
from services.security.encryption import KEYRING_ACCOUNT, StoreKeys
from services.security.secrets import MemorySecrets
from services.store import Store
from services.store.cipher import DatabaseKey, file_state, open_database
from tests.unit.store.helpers import item, make_raw

ROOT = Path(__file__).resolve().parents[3]
N = 40


class FileSecrets:
    """A SecretStore in a JSON file: survives the death of the process that wrote it
    (as the OS keyring does), so a killed rotation can be resumed by another process."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _save(self, data: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def get(self, account: str, key: str) -> str | None:
        return self._load().get(f"{account}:{key}")

    def set(self, account: str, key: str, value: str) -> None:
        data = self._load()
        data[f"{account}:{key}"] = value
        self._save(data)

    def delete(self, account: str, key: str) -> None:
        data = self._load()
        data.pop(f"{account}:{key}", None)
        self._save(data)


def _raws() -> list[bytes]:
    return [make_raw(i, subject=f"rotation subject {i}", body=f"body words plover{i}",
                     attachment=(f"file{i}.pdf", b"%PDF-1.4 " + bytes(range(256))))
            for i in range(N)]


def _fill(db: Path, key: DatabaseKey | None) -> list[bytes]:
    raws = _raws()
    with Store.open(db, key=key) as store:
        store.ingest(item(raw) for raw in raws)
    return raws


def _check(db: Path, key: DatabaseKey | None, raws: list[bytes]) -> None:
    with Store.open(db, key=key) as store:
        assert store.count(EmailQuery.parse("plover*")) == N
        assert store.count(EmailQuery.parse("subject:rotation")) == N
        ids = store.search_ids(EmailQuery.parse("plover7"))
        assert len(ids) == 1
        assert store.raw(ids[0]) == raws[7]


def test_a_database_key_never_shows_itself() -> None:
    key = DatabaseKey.generate()
    assert key.hex() not in repr(key)
    assert DatabaseKey.from_hex(key.hex()) == key
    with pytest.raises(ValueError, match="32 bytes"):
        DatabaseKey(b"short")
    with pytest.raises(EncryptionKeyError, match="not valid"):
        DatabaseKey.from_hex("zz")


def test_a_new_store_gets_a_key_in_the_keyring_once(tmp_path: Path) -> None:
    db, secrets = tmp_path / "commhub.sqlite3", MemorySecrets()
    keys = StoreKeys(db, secrets)
    assert keys.key_for_open(False) is None
    key = keys.key_for_open(True)
    assert key is not None
    status = keys.status()
    assert status.store_id and status.key_in_keyring and not status.rotation_pending
    assert secrets.get(KEYRING_ACCOUNT, status.store_id) == key.hex()
    assert keys.key_for_open(True) == key  # not yet written: the same key again
    raws = _fill(db, key)
    assert file_state(db) == "encrypted"
    assert keys.key_for_open(False) == key  # encrypted stays encrypted
    _check(db, key, raws)


def test_rotate_re_encrypts_everything_under_a_new_key(tmp_path: Path) -> None:
    db, secrets = tmp_path / "commhub.sqlite3", MemorySecrets()
    keys = StoreKeys(db, secrets)
    old = keys.key_for_open(True)
    raws = _fill(db, old)
    steps: list[str] = []
    keys.rotate(on_step=steps.append)
    assert steps == ["pending", "copied", "replaced"]
    new = keys.existing_key()
    assert new != old
    with pytest.raises(EncryptionKeyError):
        open_database(db, old)
    _check(db, new, raws)
    status = keys.status()
    assert not status.rotation_pending
    assert not keys.rekey_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["commhub.sqlite3",
                                                          "commhub.sqlite3.keyid"]


def test_encrypting_a_plain_store_keeps_every_message(tmp_path: Path) -> None:
    db, secrets = tmp_path / "commhub.sqlite3", MemorySecrets()
    raws = _fill(db, None)
    assert b"rotation subject" in db.read_bytes()
    keys = StoreKeys(db, secrets)
    keys.rotate()
    assert file_state(db) == "encrypted"
    assert b"rotation subject" not in db.read_bytes()
    _check(db, keys.key_for_open(False), raws)


def test_rotation_refuses_a_store_that_is_open(tmp_path: Path) -> None:
    db, secrets = tmp_path / "commhub.sqlite3", MemorySecrets()
    keys = StoreKeys(db, secrets)
    key = keys.key_for_open(True)
    raws = _fill(db, key)
    with Store.open(db, key=key) as store:
        store.accounts()
        with pytest.raises(StoreError, match="in use"):
            keys.rotate()
    assert keys.existing_key() == key  # the pending key was dropped, nothing changed
    assert not keys.status().rotation_pending
    _check(db, key, raws)


_CHILD = """
import os, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.unit.security.test_encryption import FileSecrets
from services.security.encryption import StoreKeys

def step(name):
    if name == {crash!r}:
        os._exit(17)

StoreKeys(Path({db!r}), FileSecrets(Path({secrets!r}))).rotate(on_step=step)
"""


@pytest.mark.parametrize("start", ["encrypted", "plain"])
@pytest.mark.parametrize("crash", ["pending", "copied", "replaced"])
def test_a_rotation_killed_at_any_step_loses_nothing(
    tmp_path: Path, crash: str, start: str
) -> None:
    db = tmp_path / "commhub.sqlite3"
    secrets = FileSecrets(tmp_path / "keyring.json")
    keys = StoreKeys(db, secrets)
    raws = _fill(db, keys.key_for_open(start == "encrypted"))
    code = _CHILD.format(root=str(ROOT), crash=crash, db=str(db),
                         secrets=str(secrets.path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 17, done.stderr
    if start == "plain" and crash != "replaced":
        assert file_state(db) == "plain"  # not yet replaced: still the plain store
        _check(db, None, raws)
    else:
        key = keys.existing_key()  # finishes or rolls back the interrupted rotation
        _check(db, key, raws)
        status = keys.status()
        assert status.key_in_keyring and not status.rotation_pending
        assert not keys.rekey_path.exists()
    keys.rotate()  # and the next rotation works from there
    _check(db, keys.existing_key(), raws)
