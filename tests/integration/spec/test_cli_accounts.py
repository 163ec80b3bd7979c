"""``commhub account add`` / ``sync`` / ``send`` end to end, with the real OS keyring.

The commands run in a D-Bus session with a headless gnome-keyring (Secret Service),
so the password really goes to the keyring and never to the store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus and gnome-keyring (make test installs them)",
)


def _session(tmp_path: Path, script: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    for d in (home, runtime):
        d.mkdir(exist_ok=True)
    runtime.chmod(0o700)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(runtime),
               COMMHUB_DATA_DIR=str(tmp_path / "commhub"))
    unlock = "echo '' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1"
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", f"{unlock}; {script}"],
        input=stdin, env=env, capture_output=True, text=True, timeout=120,
    )


def test_account_add_sync_send_with_the_real_keyring(
    tmp_path: Path, clean_mailbox: DovecotServer, clean_smtp: SmtpServer
) -> None:
    clean_mailbox.deliver("alice", (
        b"From: Carol <carol@example.test>\r\nTo: alice@example.test\r\n"
        b"Subject: welcome aboard\r\nMessage-ID: <w1@example.test>\r\n\r\nhello alice\r\n"
    ))
    py = sys.executable
    add = (
        f"{py} -m app account add imap work --email alice@example.test "
        f"--imap-host 127.0.0.1 --imap-port {clean_mailbox.imap_port} --imap-security starttls "
        f"--smtp-host 127.0.0.1 --smtp-port {clean_smtp.port} --smtp-security starttls "
        f"--ca-file {clean_mailbox.ca_pem} --username alice --password-stdin"
    )
    script = (
        f"{add} && {py} -m app sync work && {py} -m app search --json 'subject:welcome' && "
        f"{py} -m app send --account work --to bob@example.test --subject 'cli hello' "
        f"--body 'sent from the command line' && "
        f"{py} -c \"import keyring; print('KEYRING', keyring.get_password('commhub', "
        f"'work:password'))\""
    )
    done = _session(tmp_path, script, stdin=clean_mailbox.users["alice"] + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "added imap account work" in out
    assert "work: 1 new" in out
    assert '"subject": "welcome aboard"' in out
    assert "sent " in out and "via smtp" in out
    assert f"KEYRING {clean_mailbox.users['alice']}" in out
    db = (tmp_path / "commhub" / "commhub.sqlite3").read_bytes()
    assert clean_mailbox.users["alice"].encode() not in db
    with clean_mailbox.imap("bob") as client:
        client.select_folder("INBOX")
        assert len(client.search(["SUBJECT", "cli hello"])) == 1


def test_wrong_password_is_one_readable_line(
    tmp_path: Path, clean_mailbox: DovecotServer, clean_smtp: SmtpServer
) -> None:
    # SMTP refuses the login (Dovecot would penalise this address for later tests).
    py = sys.executable
    script = (
        f"{py} -m app account add imap bad --email alice@example.test "
        f"--imap-host 127.0.0.1 --imap-port {clean_mailbox.imap_port} --imap-security starttls "
        f"--smtp-host 127.0.0.1 --smtp-port {clean_smtp.port} --ca-file {clean_mailbox.ca_pem} "
        f"--username alice --password-stdin && "
        f"{py} -m app send --account bad --to bob@example.test --subject x --body y"
    )
    done = _session(tmp_path, script, stdin="not-the-password\n")
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("commhub")]
    noise = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith("dbus-")]
    assert lines == noise and len(lines) == 1, done.stderr
    assert "auth" in lines[0].lower() or "login" in lines[0].lower() or "password" in lines[0]
    assert clean_smtp.messages == []
