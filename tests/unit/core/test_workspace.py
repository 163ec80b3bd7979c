"""What the window opens on: the demo when no account is configured, else the real store
through CommManager with the security options of settings.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from app.workspace import Workspace
from services import CommManager
from services.errors import CommError
from services.security.secrets import MemorySecrets
from tests.support.keyrings import DictKeyring
from tests.unit.core.mailfactory import make_email, write_maildir


def _real_store(tmp_path: Path) -> Settings:
    maildir = write_maildir(tmp_path / "Mail", [make_email(1, subject="real mail")])
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets()) as comm:
        comm.import_path(maildir)
    return Settings.load(tmp_path / "data")


def test_no_account_opens_the_demo_with_a_session_audit_log(tmp_path: Path) -> None:
    space = Workspace.open(Settings.load(tmp_path / "data"))
    try:
        assert space.demo is not None and space.manager is None and "demo" in space.note
        assert sum(space.store.account_stats().values()) >= 10  # the seeded demo mail
        assert space.audit_log is not None
        events = [e.event for e in space.audit_log.entries()]
        assert events[0] == "sign-in" and "received" in events
        assert space.audit_log.verify().ok
        assert "send" in space.send_context()
    finally:
        space.close()
        space.close()  # twice is harmless
    again = Workspace.open(Settings.load(tmp_path / "data"))  # a fresh log each run
    try:
        assert again.audit_log is not None
        assert [e.event for e in again.audit_log.entries()] == ["sign-in"]
        assert again.audit_log.verify().ok
    finally:
        again.close()


def test_real_accounts_open_through_the_manager(tmp_path: Path) -> None:
    space = Workspace.open(_real_store(tmp_path))
    try:
        assert space.demo is None and space.note == "" and space.send_context() == {}
        assert space.manager is not None and space.store is space.manager.store
        assert space.audit_log is None  # auditing is off unless configured
        assert [m.subject for m in space.manager.search("subject:real")] == ["real mail"]
    finally:
        space.close()


def test_auditing_from_settings_uses_the_managers_log(
    tmp_path: Path, memory_keyring: DictKeyring
) -> None:
    settings = _real_store(tmp_path).with_security("audit_logging", True)
    space = Workspace.open(settings)
    try:
        assert space.manager is not None and space.audit_log is space.manager.audit_log
    finally:
        space.close()


def test_auditing_without_a_keyring_is_a_clear_error(tmp_path: Path) -> None:
    settings = _real_store(tmp_path).with_security("audit_logging", True)
    with pytest.raises(CommError, match="keyring"):  # the suite's keyring is the failing one
        Workspace.open(settings)
