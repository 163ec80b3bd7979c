"""``commhub config``: the security options in settings.json, used by every command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.cli import EXIT_USAGE, main
from app.settings import Settings
from tests.support.keyrings import DictKeyring
from tests.unit.core.mailfactory import make_email, write_maildir


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_set_show_unset_and_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    code, out = run("--data-dir", d, "config", "show")
    assert code == 0 and "defaults apply" in out
    assert run("--data-dir", d, "config", "set", "audit_logging", "yes")[0] == 0
    assert run("--data-dir", d, "config", "set", "data_retention_days", "365")[0] == 0
    code, out = run("--data-dir", d, "config", "show")
    assert out.splitlines() == ["audit_logging = true", "data_retention_days = 365"]
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "audit_logging": True, "data_retention_days": 365}
    assert Settings.load(tmp_path).security == {"audit_logging": True,
                                                "data_retention_days": 365}
    assert run("--data-dir", d, "config", "set", "data_retention_days", "soon")[0] == EXIT_USAGE
    assert "whole number" in capsys.readouterr().err
    assert run("--data-dir", d, "config", "unset", "data_retention_days")[0] == 0
    assert Settings.load(tmp_path).security == {"audit_logging": True}
    (tmp_path / "settings.json").write_text('{"audit_logging": "maybe"}')
    assert run("--data-dir", d, "accounts")[0] == EXIT_USAGE
    assert "bad setting 'audit_logging'" in capsys.readouterr().err
    # secrets never go to settings.json: there is no such setting to set
    (tmp_path / "settings.json").write_text("{}")
    with pytest.raises(SystemExit):  # argparse refuses the key
        main(["--data-dir", d, "config", "set", "password", "hunter2"], out=io.StringIO())
    assert "hunter2" not in (tmp_path / "settings.json").read_text()


def test_audit_logging_from_settings_records_what_commands_do(
    tmp_path: Path, memory_keyring: DictKeyring
) -> None:
    maildir = write_maildir(tmp_path / "Mail", [make_email(i, subject=f"m{i}") for i in range(3)])
    d = str(tmp_path / "data")
    assert run("--data-dir", d, "import", str(maildir), "-q")[0] == 0
    code, out = run("--data-dir", d, "audit", "list", "--json")
    assert code == 0 and json.loads(out) == []  # auditing is off by default
    assert run("--data-dir", d, "config", "set", "audit_logging", "true")[0] == 0
    more = write_maildir(tmp_path / "More", [make_email(9, subject="later")])
    assert run("--data-dir", d, "import", str(more), "--account", "more", "-q")[0] == 0
    code, out = run("--data-dir", d, "audit", "list", "--json")
    events = [e["event"] for e in json.loads(out)]
    assert "received" in events
    code, out = run("--data-dir", d, "audit", "verify")
    assert code == 0
