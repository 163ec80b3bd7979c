"""The main window, offscreen, over a real store: models, search, reader, shortcuts,
settings, notifications, panes.  Sync tests driving a qasync loop (see conftest)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from services.models import Message
from services.store import Store
from tests.ui.inbox_stores import bulk_messages, mail_store
from ui.models.message_table import COL_DATE, COL_FROM, MessageTableModel
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.viewmodels.inbox import InboxViewModel
from ui.viewmodels.reader import ReaderViewModel, SenderPrefs
from ui.viewmodels.sidebar import SavedSearches, SidebarViewModel
from ui.views.main_window import MainWindow
from ui.widgets.theme import apply_theme

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


class Harness:
    def __init__(self, store: Store, tmp: Path, loop: asyncio.AbstractEventLoop,
                 **window_kw: Any) -> None:
        self.store, self.loop = store, loop
        self.inbox = InboxViewModel(store, debounce=0.05)
        self.reader = ReaderViewModel(store, SenderPrefs(tmp / "senders.json"),
                                      scratch_dir=tmp / "scratch", fetch=None)
        self.sidebar = SidebarViewModel(store, SavedSearches(tmp / "saved.json"))
        self.settings = QtCore.QSettings(str(tmp / "window.ini"),
                                         QtCore.QSettings.Format.IniFormat)
        self.compose_calls: list[tuple[str, Message | None]] = []
        self.window = MainWindow(
            self.inbox, reader=self.reader, sidebar=self.sidebar, settings=self.settings,
            compose_factory=lambda mode, m: self.compose_calls.append((mode, m)),
            **window_kw,
        )

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async def wait() -> None:
            for _ in range(int(timeout / 0.01)):
                if check():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("condition not met in time")

        self.run(wait())

    def start(self) -> None:
        self.window.show()
        self.inbox.start(self.loop)
        self.run(self.sidebar.refresh())
        self.run(self.inbox.search("", immediate=True))

    def close(self) -> None:
        self.window.close()
        self.run(self.window.close_tasks())
        self.run(self.reader.close())
        self.run(self.inbox.close())
        self.window.deleteLater()
        self.run(asyncio.sleep(0.01))
        gc.collect()  # the window and its view-models form cycles: free them now


@pytest.fixture
def harness(qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[Harness]:
    store = mail_store(tmp_path / "mail.sqlite3")
    contacts = QtWidgets.QLabel("contacts here")
    h = Harness(store, tmp_path, qloop, panes=[("Contacts", None, contacts)])
    h.start()
    yield h
    h.close()
    store.close()


def test_models_pass_the_model_tester(harness: Harness, qtmodeltester: Any) -> None:
    qtmodeltester.check(harness.window.model)
    qtmodeltester.check(harness.window.sidebar_model)
    model = harness.window.model
    assert isinstance(model, MessageTableModel)
    assert model.rowCount() == 6
    assert harness.window.status_label.text() == "6 message(s)"
    first = model.index(0, COL_FROM)
    assert model.data(first, Qt.ItemDataRole.FontRole).bold()  # unread SMS is bold
    assert model.data(model.index(0, COL_DATE)) == "2026-11-20 07:30"


def test_list_view_is_fixed_height_and_multi_select(harness: Harness) -> None:
    table = harness.window.table
    assert table.verticalHeader().isHidden()
    assert (table.verticalHeader().sectionResizeMode(0)
            == QtWidgets.QHeaderView.ResizeMode.Fixed)
    assert (table.selectionMode()
            == QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
    assert table.isSortingEnabled()
    table.sortByColumn(COL_FROM, Qt.SortOrder.AscendingOrder)
    task = harness.inbox._search_task
    assert task is not None and harness.inbox.sort_key == "from"
    harness.run(task)
    senders = [harness.inbox.row(i).sender for i in range(6)]  # type: ignore[union-attr]
    assert senders == sorted(senders, key=str.lower)


def test_search_is_live_and_sidebar_narrows(harness: Harness, qtbot: Any) -> None:
    w = harness.window
    qtbot.keyClicks(w.search_box, "from:ana")
    harness.until(lambda: w.model.rowCount() == 2)
    assert harness.inbox.query_text == "from:ana" and w.status_label.text() == "2 message(s)"
    w.search_box.clear()
    qtbot.keyClicks(w.search_box, "(broken")
    harness.until(lambda: harness.inbox.error is not None)
    assert w.status_label.text().startswith("⚠") and w.model.rowCount() == 2
    w.search_box.clear()
    qtbot.keyClick(w.search_box, Qt.Key.Key_Return)
    harness.until(lambda: w.model.rowCount() == 6)
    model = w.sidebar_model
    work = next(model.index(r, 0) for r in range(model.rowCount())
                if "work" in str(model.index(r, 0).data()))
    inbox = next(model.index(r, 0, work) for r in range(model.rowCount(work))
                 if "INBOX" in str(model.index(r, 0, work).data()))
    w.sidebar.clicked.emit(inbox)
    harness.until(lambda: w.model.rowCount() == 3)


def test_reading_shows_conversation_with_thumbnails(harness: Harness) -> None:
    w = harness.window
    row = next(i for i in range(6) if harness.inbox.row(i).attachments == 2)  # type: ignore[union-attr]
    w.table.selectRow(row)
    harness.until(lambda: len(harness.reader.messages) == 3)
    harness.run(w.reader.wait_idle())
    text = w.reader.browser.toPlainText()
    assert text.index("Draft attached") < text.index("Final version")
    strip = w.reader.strip
    assert strip.isVisible() and strip.count() == 3

    def centre(i: int) -> QtGui.QColor:
        icon = strip.item(i).icon().pixmap(96, 96).toImage()
        return icon.pixelColor(icon.width() // 2, icon.height() // 2)

    # the thumbnails themselves, not only the tasks started so far: one CI run saw the
    # strip's type tiles after wait_idle (a later refill of the strip, we suppose)
    harness.until(lambda: centre(0).red() > 150 and centre(1).blue() > 150)
    # chart.png is red, the PDF's first page is blue: real thumbnails, not type tiles
    red, blue = centre(0), centre(1)
    assert red.red() > 150 and red.blue() < 100, red.name()
    assert blue.blue() > 150 and blue.red() < 100, blue.name()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert w.grab().save(str(SHOTS / "main-window-conversation.png"))


def test_phishing_banner_and_blocked_images(harness: Harness) -> None:
    w = harness.window
    row = next(i for i in range(6) if harness.inbox.row(i).subject == "Your account")  # type: ignore[union-attr]
    w.table.selectRow(row)
    harness.until(lambda: bool(harness.reader.messages))
    assert w.reader.images_banner.isVisible() and w.reader.link_banner.isVisible()
    assert "evil.example" in w.reader.link_banner.label.text()
    assert "pwned" not in w.reader.browser.toHtml()
    w.reader.images_banner.button.click()  # type: ignore[union-attr]
    harness.until(lambda: not w.reader.images_banner.isVisible())
    assert harness.reader.prefs.allows_images("ben@okafor.example")


def test_keyboard_shortcuts(harness: Harness, qtbot: Any) -> None:
    w = harness.window
    w.table.setFocus()
    w.table.selectRow(0)
    qtbot.keyClick(w.table, Qt.Key.Key_J)
    assert w.table.currentIndex().row() == 1
    qtbot.keyClick(w.table, Qt.Key.Key_J)
    qtbot.keyClick(w.table, Qt.Key.Key_K)
    assert w.table.currentIndex().row() == 1
    harness.until(lambda: harness.reader.current_id == w.model.message_id(1))
    for key, mode in ((Qt.Key.Key_R, "reply"), (Qt.Key.Key_A, "reply-all"),
                      (Qt.Key.Key_F, "forward"), (Qt.Key.Key_C, "new")):
        qtbot.keyClick(w.table, key)
        assert harness.compose_calls[-1][0] == mode
    assert harness.compose_calls[0][1] is not None
    assert harness.compose_calls[0][1].id == w.model.message_id(1)
    assert harness.compose_calls[-1][1] is None
    qtbot.keyClick(w.table, Qt.Key.Key_Slash)
    assert w.search_box.hasFocus()
    qtbot.keyClicks(w.search_box, "jk")  # typing in the search box is not a shortcut
    assert w.search_box.text() == "jk" and len(harness.compose_calls) == 4
    w.table.setFocus()
    w.table.selectRow(0)
    victim = w.model.message_id(0)
    qtbot.keyClick(w.table, Qt.Key.Key_Delete)
    harness.until(lambda: w.model.rowCount() == 5)
    assert victim not in {m.id for m in harness.store.search(__import__(
        "services.query.builder", fromlist=["EmailQuery"]).EmailQuery())}


def test_window_state_persists(qtbot: Any, qloop: asyncio.AbstractEventLoop,
                               tmp_path: Path) -> None:
    store = mail_store(tmp_path / "mail.sqlite3")
    first = Harness(store, tmp_path, qloop)
    first.start()
    first.window.resize(720, 560)  # the offscreen screen is 800x800
    first.run(asyncio.sleep(0.05))
    first.window.splitter.setSizes([120, 300, 200])
    first.run(asyncio.sleep(0.05))
    sizes = first.window.splitter.sizes()
    assert sizes[0] == 120
    first.close()  # closeEvent saves
    second = Harness(store, tmp_path, qloop)
    assert second.window.size() == QtCore.QSize(720, 560)
    second.window.show()
    second.run(asyncio.sleep(0.05))
    assert second.window.splitter.sizes() == sizes
    second.close()
    store.close()


def test_new_unread_mail_notifies(harness: Harness) -> None:
    item = bulk_messages(1, account="work")[0][0].with_changes(
        remote_id="n1", subject="Fresh news", folder="INBOX", flags=frozenset())
    harness.store.ingest([(item, b'{"x": 1}')])
    harness.until(lambda: bool(harness.window.notifier.history))
    assert harness.window.notifier.history[-1] == ("New message from User 00", "Fresh news")
    harness.until(lambda: harness.window.model.rowCount() == 7)


def test_panes_switch_and_every_control_has_a_name(harness: Harness) -> None:
    w = harness.window
    assert [w.nav.item(i).text() for i in range(w.nav.count())] == ["Mail", "Contacts"]
    w.nav.setCurrentRow(1)
    assert isinstance(w.stack.currentWidget(), QtWidgets.QLabel)
    w.nav.setCurrentRow(0)
    assert w.stack.currentWidget() is w.mail_pane
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QLineEdit, QtWidgets.QAbstractItemView,
             QtWidgets.QTextEdit, QtWidgets.QProgressBar)
    unnamed = [type(c).__name__ for c in w.findChildren(QtWidgets.QWidget)
               if isinstance(c, kinds) and not c.accessibleName()
               and not (isinstance(c, QtWidgets.QAbstractButton) and c.text())
               and c.parent() is not None and c.isVisibleTo(w)]
    assert unnamed == []


def test_themes_follow_palette(harness: Harness, qapp: Any) -> None:
    from ui.widgets.theme import is_dark

    style, palette = qapp.style().name(), qapp.palette()
    assert apply_theme(qapp, dark=True) == "dark"
    assert "#4a3f10" in qapp.styleSheet()
    assert is_dark(qapp.palette())  # a dark palette even where the platform gives none
    row = next(i for i in range(6) if harness.inbox.row(i).attachments == 2)  # type: ignore[union-attr]
    harness.window.table.selectRow(row)
    harness.until(lambda: len(harness.reader.messages) == 3)
    harness.run(harness.window.reader.wait_idle())
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = harness.window.grab()
    assert shot.save(str(SHOTS / "main-window-dark.png"))
    corner = shot.toImage().pixelColor(shot.width() - 5, shot.height() - 5)
    assert corner.lightness() < 128, corner.name()
    assert apply_theme(qapp, dark=False) == "light"
    assert "#fff4ce" in qapp.styleSheet()
    assert not is_dark(qapp.palette())
    qapp.setStyleSheet("")
    qapp.setStyle(style)  # the other tests see the app as it was
    qapp.setPalette(palette)
    dark = QtGui.QPalette(QtGui.QColor("#202020"))
    assert is_dark(dark) and not is_dark(QtGui.QPalette(QtGui.QColor("#f0f0f0")))


def test_conversation_grouping_toggle(harness: Harness, qtmodeltester: Any) -> None:
    w = harness.window
    w.group_button.click()
    harness.until(lambda: w.model.rowCount() == 3)
    assert w.status_label.text() == "3 conversation(s)"
    qtmodeltester.check(w.model)
    report = next(r for r in range(3) if "Quarterly" in str(w.model.index(r, 3).data()))
    assert w.model.index(report, 2).data().endswith("(3)")
    w.group_button.click()
    harness.until(lambda: w.model.rowCount() == 6)


def test_down_from_search_enters_the_list(harness: Harness, qtbot: Any) -> None:
    w = harness.window
    qtbot.keyClick(w.table, Qt.Key.Key_Slash)
    assert w.search_box.hasFocus()
    qtbot.keyClick(w.search_box, Qt.Key.Key_Down)
    assert w.table.hasFocus() and w.table.currentIndex().row() == 0
    harness.until(lambda: harness.reader.current_id == w.model.message_id(0))


def test_save_search_appears_in_sidebar_and_selects(harness: Harness, qtbot: Any) -> None:
    w = harness.window
    assert w.save_current_search("Nothing") is None  # empty search: nothing saved
    qtbot.keyClicks(w.search_box, "has:attachment")
    task = w.save_current_search("With files")
    assert task is not None
    harness.run(task)
    model = w.sidebar_model
    group = model.index(model.rowCount() - 1, 0)
    assert group.data() == "Saved searches"
    saved = model.index(0, 0, group)
    assert saved.data() == "With files"
    w.search_box.clear()
    qtbot.keyClick(w.search_box, Qt.Key.Key_Return)
    harness.until(lambda: w.model.rowCount() == 6)
    w.sidebar.clicked.emit(saved)
    harness.until(lambda: w.model.rowCount() == 2)


def test_long_work_reports_progress_in_the_status_bar(harness: Harness) -> None:
    w = harness.window
    w.set_activity("Syncing work: 40 of 200", 40, 200)
    assert w.progress.isVisible() and w.progress.maximum() == 200 and w.progress.value() == 40
    assert w.statusBar().currentMessage() == "Syncing work: 40 of 200"
    w.set_activity("Connecting…")
    assert w.progress.maximum() == 0  # busy indicator
    w.set_activity(None)
    assert not w.progress.isVisible() and w.statusBar().currentMessage() == ""
    assert w.status_label.text() == "6 message(s)"


def test_accounts_button_opens_the_accounts_dialog(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from services import CommManager
    from services.security.secrets import MemorySecrets
    from ui.views.accounts_dialog import AccountsDialog, open_accounts

    store = mail_store(tmp_path / "mail.sqlite3")
    manager = CommManager(data_dir=tmp_path / "real", secrets=MemorySecrets())
    opened: list[AccountsDialog] = []

    def factory(parent: QtWidgets.QWidget) -> AccountsDialog:
        dialog = open_accounts(manager, parent)  # owned by the window
        opened.append(dialog)
        return dialog

    h = Harness(store, tmp_path, qloop, accounts_factory=factory)
    h.start()
    try:
        assert h.window.accounts_button.isVisibleTo(h.window)
        qtbot.mouseClick(h.window.accounts_button, Qt.MouseButton.LeftButton)
        assert len(opened) == 1 and opened[0].isVisible()
        assert opened[0].parent() is h.window
        h.run(opened[0].vm.refresh())  # the loop also finishes the dialog's own first load
        h.run(asyncio.sleep(0.05))
        assert opened[0].vm.accounts == []  # a fresh data dir: no server account yet
        opened[0].close()
    finally:
        h.close()
        manager.close()
        store.close()
    # without a factory there is no button
    plain = Harness(mail_store(tmp_path / "other.sqlite3"), tmp_path / "o", qloop)
    try:
        assert not plain.window.accounts_button.isVisibleTo(plain.window)
    finally:
        plain.close()
        plain.store.close()


def test_show_message_switches_to_mail_and_reads_it(harness: Harness) -> None:
    w = harness.window
    w.nav.setCurrentRow(1)
    target = harness.inbox.row(2)
    assert target is not None
    w.show_message(target.id)
    assert w.stack.currentWidget() is w.mail_pane
    harness.until(lambda: harness.reader.current_id == target.id)
    assert harness.reader.messages
