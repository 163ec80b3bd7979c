"""The first window, offscreen, on the demo store: the model passes qtmodeltester."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import qasync

from app.demo import open_demo_store
from ui.models.message_table import MessageTableModel
from ui.viewmodels.inbox import InboxViewModel
from ui.views.main_window import MainWindow

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def loop(qapp):  # type: ignore[no-untyped-def]
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def test_window_lists_reads_and_searches(qtbot, qtmodeltester, loop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_demo_store(tmp_path / "demo.sqlite3")
    vm = InboxViewModel(store)
    window = MainWindow(vm, title_note="demo")
    qtbot.addWidget(window)
    window.show()
    loop.run_until_complete(vm.search(""))
    model = window.model
    assert isinstance(model, MessageTableModel)
    qtmodeltester.check(model)
    assert model.rowCount() == len(vm.rows) > 10
    assert window.statusBar().currentMessage() == f"{len(vm.rows)} message(s)"

    window.table.selectRow(0)
    loop.run_until_complete(asyncio.sleep(0))
    if vm._open_task is not None:
        loop.run_until_complete(vm._open_task)
    assert vm.current is not None
    assert vm.current.body_text.strip()[:20] in window.reader.toPlainText()

    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOTS / "main-window-demo.png"))

    window.search_box.setText("channel:sms")
    qtbot.keyClick(window.search_box, "\r")
    loop.run_until_complete(vm._search_task)
    assert model.rowCount() == 3
    qtmodeltester.check(model)
    loop.run_until_complete(vm.close())
    store.close()
