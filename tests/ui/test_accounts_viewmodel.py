"""The accounts view-model without a QApplication: the connection test against the real
Dovecot (IMAPS) and aiosmtpd (STARTTLS + AUTH) test servers, and saving through the
manager (settings to the store, the password to the secret store, never the database)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.email.account_setup import AccountForm
from services.manager import CommManager
from services.security.secrets import MemorySecrets
from ui.viewmodels.accounts import AccountsViewModel


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[CommManager]:
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets()) as comm:
        yield comm


def _fill(vm: AccountsViewModel, dovecot: Any, smtp: Any, password: str) -> None:
    vm.new("imap")
    vm.update(name="work", email="alice@example.test", username="alice",
              imap_host="localhost", imap_port=dovecot.imaps_port, imap_security="ssl",
              smtp_host="localhost", smtp_port=smtp.port, smtp_security="starttls",
              ca_file=str(dovecot.ca_pem), password=password)


async def test_connection_test_logs_in_to_imap_and_smtp(
    manager: CommManager, dovecot: Any, smtp_server: Any
) -> None:
    vm = AccountsViewModel(manager)
    _fill(vm, dovecot, smtp_server, dovecot.users["alice"])
    report = await vm.test()
    assert report.ok, report.summary()
    assert [s.what for s in report.steps] == ["IMAP", "SMTP"]
    assert "logged in as alice" in report.steps[0].detail
    assert f"localhost:{smtp_server.port}" in report.steps[1].detail
    assert vm.status == "Connection works"


async def test_wrong_password_is_a_clear_failure(
    manager: CommManager, dovecot: Any, smtp_server: Any
) -> None:
    vm = AccountsViewModel(manager)
    _fill(vm, dovecot, smtp_server, "not-the-password")
    report = await vm.test()
    assert not report.ok and not report.steps[0].ok
    assert "✘ IMAP" in report.summary() and f"{dovecot.imaps_port}" in report.summary()
    vm.update(smtp_host="")
    bad = await vm.test()
    assert bad.steps[0].what == "Settings" and "SMTP host" in bad.steps[0].detail


async def test_save_keeps_the_password_out_of_the_database(
    manager: CommManager, dovecot: Any, smtp_server: Any
) -> None:
    vm = AccountsViewModel(manager)
    _fill(vm, dovecot, smtp_server, "s3cret-pw")
    assert await vm.save(), vm.error
    assert [a.name for a in vm.accounts] == ["work"] and vm.editing == "work"
    assert manager.secrets.get("work", "password") == "s3cret-pw"
    stored = manager.store.accounts()[0]
    assert "s3cret-pw" not in json.dumps(dict(stored.config))
    assert stored.config["imap"]["host"] == "localhost"
    assert b"s3cret-pw" not in (manager.db_path).read_bytes()
    vm.edit("work")  # the form comes back from the stored settings
    assert vm.form.imap_port == dovecot.imaps_port and vm.form.username == "alice"
    assert vm.password == ""
    assert await vm.remove("work") and vm.accounts == []


async def test_gmail_and_outlook_checks_need_no_network(
    manager: CommManager, tmp_path: Path
) -> None:
    vm = AccountsViewModel(manager)
    vm.new("gmail")
    vm.update(name="personal", email="me@gmail.com", credentials_path=str(tmp_path / "nope"))
    report = await vm.test()
    assert not report.ok and "nope" in report.summary()
    secrets = tmp_path / "credentials.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "1234-abcdef.apps.googleusercontent.com", "client_secret": "x",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token"}}))
    vm.update(credentials_path=str(secrets))
    assert (await vm.test()).ok
    assert await vm.save() and vm.accounts[0].provider == "gmail"
    vm.new("outlook")
    vm.update(name="office", email="me@corp.example", client_id="not-a-guid")
    assert not (await vm.test()).ok
    vm.update(client_id="11111111-2222-3333-4444-555555555555")
    assert (await vm.test()).ok and await vm.save()
    assert {a.name: a.provider for a in vm.accounts} == {"personal": "gmail",
                                                         "office": "outlook"}


def test_form_config_matches_the_cli_shape() -> None:
    form = AccountForm(provider="imap", name="work", email="me@example.org",
                       imap_host="imap.example.org", smtp_host="smtp.example.org")
    cfg = form.config()
    assert cfg["imap"] == {"host": "imap.example.org", "port": None, "security": "ssl",
                           "username": "me@example.org", "ca_file": None,
                           "allow_plaintext": False}
    assert cfg["smtp"]["security"] == "starttls"
    with pytest.raises(ValueError, match="allow plaintext"):
        form.copy(smtp_security="plain").config()
    with pytest.raises(ValueError, match="name"):
        form.copy(name="has space").config()
