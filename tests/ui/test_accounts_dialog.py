"""The accounts dialog offscreen: type an IMAP/SMTP account, test it against the real test
servers, save it, and switch to the Gmail page; screenshot of the tested account."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from services.manager import CommManager
from services.security.secrets import MemorySecrets
from ui.qt import Qt
from ui.viewmodels.accounts import AccountsViewModel
from ui.views.accounts_dialog import AccountsDialog

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[CommManager]:
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets()) as comm:
        yield comm


def test_add_test_and_save_an_imap_account(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, manager: CommManager, dovecot: Any,
    smtp_server: Any,
) -> None:
    vm = AccountsViewModel(manager)
    dialog = AccountsDialog(vm)
    qtbot.addWidget(dialog)
    dialog.show()
    qloop.run_until_complete(dialog.settle())
    assert dialog.account_list.count() == 0 and dialog.pages.currentIndex() == 0
    for widget, text in ((dialog.name, "work"), (dialog.email, "alice@example.test"),
                         (dialog.username, "alice"), (dialog.password, dovecot.users["alice"]),
                         (dialog.imap_host, "localhost"),
                         (dialog.imap_port, str(dovecot.imaps_port)),
                         (dialog.smtp_host, "localhost"),
                         (dialog.smtp_port, str(smtp_server.port)),
                         (dialog.ca_file, str(dovecot.ca_pem))):
        qtbot.keyClicks(widget, text)
    assert vm.form.imap_port == dovecot.imaps_port and vm.password == dovecot.users["alice"]
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(dialog.settle())
    assert vm.report is not None and vm.report.ok, vm.report and vm.report.summary()
    assert dialog.result.text().startswith("✔ IMAP: logged in as alice")
    assert "✔ SMTP" in dialog.result.text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "accounts-dialog.png"))

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(dialog.settle())
    assert dialog.account_list.count() == 1 and "work" in dialog.account_list.item(0).text()
    assert manager.secrets.get("work", "password") == dovecot.users["alice"]
    assert dialog.name.isReadOnly() and not dialog.provider.isEnabled()

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.name.text() == "" and dialog.account_list.currentRow() == -1
    dialog.provider.setCurrentIndex(1)
    assert vm.form.kind == "gmail" and dialog.pages.currentIndex() == 1
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(dialog.settle())
    assert dialog.result.text().startswith("✘ Settings")

    dialog.account_list.setCurrentRow(0)
    assert vm.editing == "work" and dialog.imap_host.text() == "localhost"
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(dialog.settle())
    assert dialog.account_list.count() == 0 and manager.store.accounts() == []
