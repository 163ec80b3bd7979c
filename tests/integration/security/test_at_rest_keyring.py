"""The encrypted store with its key in the real OS keyring (gnome-keyring on D-Bus).

Import with encryption on, then the plain ``commhub`` CLI (which finds the store
encrypted and fetches its key), ``commhub key rotate``, and a search afterwards, all
in one D-Bus session with a headless gnome-keyring.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.security.test_at_rest import MARKER, marked_message, scan

pytestmark = [
    pytest.mark.real_keyring,
    pytest.mark.skipif(
        not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
        reason="needs dbus and gnome-keyring (make test installs them)",
    ),
]

_IMPORT = """
import sys
from services.manager import CommManager
with CommManager(data_dir=sys.argv[1], encryption_enabled=True) as comm:
    print("IMPORTED", comm.import_path(sys.argv[2]).added)
"""
_KEY = """
import json, sys
import keyring
from pathlib import Path
store_id = json.loads(Path(sys.argv[1], "commhub.sqlite3.keyid").read_text())["store_id"]
print("KEY", keyring.get_password("commhub", "store-encryption:" + store_id))
"""


def _env(tmp_path: Path, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    home, runtime = tmp_path / "home", tmp_path / "run"
    for d in (home, runtime):
        d.mkdir()
    runtime.chmod(0o700)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_RUNTIME_DIR=str(runtime), COMMHUB_DATA_DIR=str(data_dir))
    return env


def _session(tmp_path: Path, data_dir: Path, commands: list[str]) -> str:
    script = " && ".join(
        ["echo '' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1",
         *commands]
    )
    done = subprocess.run(["dbus-run-session", "--", "sh", "-c", script],
                          env=_env(tmp_path, data_dir), capture_output=True, text=True,
                          timeout=120, cwd=str(Path(__file__).resolve().parents[3]))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_encrypted_store_with_the_real_keyring_and_key_rotate(tmp_path: Path) -> None:
    data_dir, inbox = tmp_path / "data", tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(marked_message())
    py, word = sys.executable, MARKER.lower()
    out = _session(tmp_path, data_dir, [
        f"{py} -c '{_IMPORT}' {data_dir} {inbox}",
        f"{py} -c '{_KEY}' {data_dir}",
        f"{py} -m app key status",
        f"{py} -m app search --count {word[:5]}*",
        f"{py} -m app key rotate",
        f"{py} -c '{_KEY}' {data_dir}",
        f"{py} -m app search --count from:{word}",
    ])
    lines = out.splitlines()
    assert "IMPORTED 1" in lines
    keys = [line.split()[1] for line in lines if line.startswith("KEY ")]
    assert len(keys) == 2 and all(len(k) == 64 for k in keys)
    assert keys[0] != keys[1]  # rotated: a new key in the keyring
    assert any("(encrypted)" in line for line in lines)
    assert "key in the keyring: yes" in out
    assert "re-encrypted under a new key" in out
    assert lines.count("1") == 2  # both searches, before and after the rotation
    assert scan(data_dir) == []
    for key in keys:  # the key is in the keyring, never in the data directory
        for path in (p for p in data_dir.rglob("*") if p.is_file()):  # logs/ included
            assert key.encode() not in path.read_bytes()
            assert bytes.fromhex(key) not in path.read_bytes()


def test_commhub_key_encrypt_turns_a_plain_store_into_an_encrypted_one(tmp_path: Path) -> None:
    data_dir, inbox = tmp_path / "data", tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(marked_message())
    py, word = sys.executable, MARKER.lower()
    out = _session(tmp_path, data_dir, [
        f"{py} -m app import {inbox} --quiet",
        f"{py} -m app key status",
        f"( {py} -m app key rotate; echo ROTATE-EXIT $? )",
        f"{py} -m app key encrypt",
        f"{py} -m app key status",
        f"{py} -m app search --count subject:{word}",
        f"{py} -m app key encrypt || echo ENCRYPT-AGAIN-REFUSED",
    ])
    assert "(plain)" in out and "(encrypted)" in out
    assert "ROTATE-EXIT 2" in out  # refused: not encrypted yet (the message is on stderr)
    assert "encrypted: " in out
    assert out.splitlines().count("1") == 1
    assert "ENCRYPT-AGAIN-REFUSED" in out
    assert scan(data_dir) == []
