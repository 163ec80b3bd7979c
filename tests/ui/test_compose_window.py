"""The compose window offscreen on the demo workspace: real drops, completion, undo, send."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from app.demo import DemoWorkspace
from services.query.builder import EmailQuery
from services.store import outbox as outbox_rows
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.views.compose_window import ComposeWindow, SendContext, open_compose

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


POPUP_NOISE = r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)"


@pytest.fixture
def ws(tmp_path: Path, qloop: asyncio.AbstractEventLoop) -> Iterator[DemoWorkspace]:
    w = DemoWorkspace.open(tmp_path / "demo.sqlite3")
    yield w
    qloop.run_until_complete(w.aclose())
    w.close()


def _window(ws: DemoWorkspace, qtbot: Any, mode: str = "new", message: Any = None
            ) -> ComposeWindow:
    window = open_compose(ws.store, mode, message, send=ws.send_context())
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(window)
    window.vm.undo_seconds = 0.05
    return window


def _drop(target: QtWidgets.QWidget, paths: list[Path]) -> QtGui.QDropEvent:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    pos = target.rect().center()
    enter = QtGui.QDragEnterEvent(QtCore.QPointF(pos), Qt.DropAction.CopyAction, mime,
                                  Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(QtCore.QPointF(pos), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(target, drop)
    return drop


# the completion popup: the offscreen platform cannot raise or grab (platform notices)
@pytest.mark.qt_log_ignore(POPUP_NOISE)
def test_dropping_files_attaches_them_and_send_reaches_the_inbox(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ws: DemoWorkspace, tmp_path: Path
) -> None:
    window = _window(ws, qtbot)
    window.show()
    assert window.banner.isVisible() and "nothing leaves the machine" in window.banner.text()
    report = tmp_path / "budget-2027.pdf"
    report.write_bytes(b"%PDF-1.4\n% budget\n%%EOF\n")
    photo = tmp_path / "team photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 2000)
    drop = _drop(window.body.viewport(), [report])
    assert drop.isAccepted()
    assert [a.name for a in window.vm.attachments] == ["budget-2027.pdf"]
    _drop(window, [photo])  # anywhere on the window
    assert [a.name for a in window.vm.attachments] == ["budget-2027.pdf", "team photo.jpg"]
    assert window.attachment_list.count() == 2
    assert "team photo.jpg" in window.attachment_list.item(1).text()
    assert window.vm.attachments[1].data == photo.read_bytes()

    qtbot.keyClicks(window.to_field, "chl")
    qloop.run_until_complete(window.to_field._task)  # type: ignore[arg-type]
    assert window.to_field.suggestions.stringList() == [
        "Chloé Martin <chloe.martin@acme.example>"]
    window.to_field.insert_completion(window.to_field.suggestions.stringList()[0])
    assert window.vm.to == "Chloé Martin <chloe.martin@acme.example>, "
    qtbot.keyClicks(window.subject_field, "Budget for 2027")
    qtbot.keyClicks(window.body, "Hi Chloe, the budget and a team photo are attached.")
    assert window.windowTitle() == "Budget for 2027"

    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOTS / "compose-window.png"))

    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    assert window.vm.state == "pending" and window.undo_button.isVisible()
    assert window.vm._send_task is not None
    qloop.run_until_complete(window.vm._send_task)
    assert window.vm.state == "sent", window.vm.error
    assert window.status_label.text() == "Sent"
    found = ws.store.search(EmailQuery.parse('subject:"Budget for 2027"'))
    assert len(found) == 1 and found[0].folder == "INBOX"
    full = ws.store.get(found[0].id or 0)
    assert [a.filename for a in full.attachments] == ["budget-2027.pdf", "team photo.jpg"]
    assert full.to[0].address == "chloe.martin@acme.example"


def test_undo_button_cancels_and_close_keeps_a_draft(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ws: DemoWorkspace
) -> None:
    window = _window(ws, qtbot)
    window.vm.undo_seconds = 10
    window.show()
    window.to_field.setText("ben@okafor.example")
    window.subject_field.setText("Wait")
    window.body.setPlainText("maybe not")
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    assert window.vm.state == "pending"
    assert "Undo" in window.status_label.text()
    qtbot.mouseClick(window.undo_button, Qt.MouseButton.LeftButton)
    assert window.vm.state == "editing" and not window.undo_button.isVisible()
    window.close()
    item = outbox_rows.get(ws.store, window.vm.message_id)
    assert item.status == "draft"
    assert b"maybe not" in outbox_rows.load_raw(ws.store, item)
    assert ws.store.search(EmailQuery.parse("subject:Wait")) == []


def test_reply_is_prefilled_and_rich_text_is_kept(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ws: DemoWorkspace
) -> None:
    hit = ws.store.search(EmailQuery.parse('subject:"Lunch on Thursday" from:ben'))
    original = ws.store.get(hit[0].id or 0)
    window = _window(ws, qtbot, "reply", original)
    window.show()
    assert window.to_field.text() == "Ben Okafor <ben@okafor.example>"
    assert window.subject_field.text() == "Re: Lunch on Thursday?"
    assert "> There's a new ramen place" in window.body.toPlainText()
    window.rich_box.setChecked(True)
    assert window.bold_button.isVisible()
    cursor = window.body.textCursor()
    cursor.movePosition(QtGui.QTextCursor.MoveOperation.Start)
    window.body.setTextCursor(cursor)
    window.bold_button.setChecked(True)
    qtbot.keyClicks(window.body, "Yes!")
    assert window.vm.rich and window.vm.html and "font-weight" in window.vm.html
    raw, _, rcpts = window.vm.build()
    assert b"text/html" in raw and rcpts == ("ben@okafor.example",)
    assert b"In-Reply-To: <" in raw


def test_without_a_sending_account_drafts_still_work(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ws: DemoWorkspace
) -> None:
    window = open_compose(ws.store, "new", None,
                          send=SendContext("demo", ws.identity, None))
    assert window.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(window)
    assert not window.send_button.isEnabled() and not window.banner.isVisible()
    window.subject_field.setText("Only a draft")
    qloop.run_until_complete(window.save_draft())
    assert outbox_rows.get(ws.store, window.vm.message_id).status == "draft"
    assert window.status_label.text().startswith("Draft saved")
    window.close()


def test_forward_from_the_store_carries_the_attachments(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ws: DemoWorkspace
) -> None:
    hit = ws.store.search(EmailQuery.parse("subject:invoice has:attachment"))
    window = _window(ws, qtbot, "forward", ws.store.get(hit[0].id or 0))
    assert window.subject_field.text() == "Fwd: Invoice INV-2026-0142"
    assert window.attachment_list.count() == 1
    assert window.vm.attachments[0].data.startswith(b"%PDF-1.4")
    assert "Forwarded message" in window.body.toPlainText()
