"""No secret reaches a log file, the terminal or a crash report."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from app import cli
from app.logs import setup_logging
from services.security.redact import REDACTED, redact

SECRETS = ["hunter2", "s3cr3t-pw", "1//0gRefreshToken", "ya29.a0AfH6SMBexampleexampleexample",
           "AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
           "dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sBAQ==", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"]


@pytest.mark.parametrize("text", [
    "connecting as alice with password=hunter2",
    "config {'password': 'hunter2', 'host': 'imap.example.org'}",
    '{"refresh_token": "1//0gRefreshToken", "client_id": "x"}',
    "Authorization: Bearer ya29.a0AfH6SMBexampleexampleexample",
    "> b'A001 LOGIN alice s3cr3t-pw'",
    "AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sBAQ==",
    "POST /token grant_type=refresh_token&refresh_token=1//0gRefreshToken&client_id=x",
    "aws key AKIAIOSFODNN7EXAMPLE in a message",
    "github ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
])
def test_credentials_are_redacted(text: str) -> None:
    out = redact(text)
    assert REDACTED in out
    assert not any(secret in out for secret in SECRETS), out


@pytest.mark.parametrize("text", [
    "login refused for alice@example.org: [AUTHENTICATIONFAILED] Authentication failed.",
    "IMAP sync of INBOX: 1,200 new messages in 3.1 s",
    "cannot reach IMAP server imap.example.org:993 (connect): timed out",
    "the OAuth token endpoint answered 503",
])
def test_ordinary_messages_stay_readable(text: str) -> None:
    assert redact(text) == text


def test_log_file_and_stderr_never_carry_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup_logging(tmp_path)
    log = logging.getLogger("commhub.test")
    log.warning("login with password=%s", "hunter2")
    log.info("token answer %r", {"refresh_token": "1//0gRefreshToken"})
    try:
        raise ValueError("Bearer ya29.a0AfH6SMBexampleexampleexample was refused")
    except ValueError:
        log.exception("refresh failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = path.read_text("utf-8") + capsys.readouterr().err
    assert "refresh failed" in written and "ValueError" in written  # the traceback is there
    assert written.count(REDACTED) >= 3
    assert not any(secret in written for secret in SECRETS)


def test_a_bug_in_a_command_is_one_line_and_a_redacted_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("exploded while using password=hunter2")

    monkeypatch.setitem(cli._COMMANDS, "accounts", broken)
    code = cli.main(["--data-dir", str(tmp_path), "accounts"], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == cli.EXIT_BUG
    assert "unexpected error" in err and "this is a bug" in err and "hunter2" not in err
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = (tmp_path / "logs" / "commhub.log").read_text("utf-8")
    assert "Traceback" in logged and "RuntimeError" in logged and "hunter2" not in logged
