"""The main window: navigation between panes, and the Mail pane.

Left, a navigation list switches a QStackedWidget between "Mail" and any extra
panes handed in (Contacts, Audit, ...).  The Mail pane is the three-pane window
people know: sidebar (Unified Inbox, accounts with folders, saved searches) ·
message list · reading pane, under a search field with live, debounced results.
Geometry and splitter positions persist in the QSettings passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from services.models import Message
from ui.models.message_table import (
    COL_ATTACH,
    COL_CHANNEL,
    COL_DATE,
    COL_FROM,
    COL_STATUS,
    COL_SUBJECT,
    MessageTableModel,
)
from ui.models.sidebar_model import QueryRole, SidebarModel
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.viewmodels.inbox import InboxViewModel, MessageRow
from ui.viewmodels.reader import ReaderViewModel
from ui.viewmodels.sidebar import SidebarViewModel
from ui.views.reader_view import ReaderView
from ui.widgets.icons import icon
from ui.widgets.thumbnails import Thumbnailer
from ui.widgets.tray import Notifier

ComposeFactory = Callable[[str, Message | None], Any]
Pane = tuple[str, QtGui.QIcon | None, QtWidgets.QWidget]
ROW_HEIGHT = 22


class MessageList(QtWidgets.QTableView):
    """The message table: fixed row height, no size-to-contents, multi-select."""

    def __init__(self, model: MessageTableModel) -> None:
        super().__init__()
        self.setObjectName("messageList")
        self.setAccessibleName("Message list")
        self.setModel(model)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        vheader = self.verticalHeader()
        vheader.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(ROW_HEIGHT)
        vheader.hide()
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.horizontalHeader()
        header.setAccessibleName("Message list columns")
        header.setHighlightSections(False)
        header.setMinimumSectionSize(24)
        for col, width in ((COL_STATUS, 28), (COL_CHANNEL, 28), (COL_ATTACH, 28)):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        header.resizeSection(COL_FROM, 140)
        header.setSectionResizeMode(COL_SUBJECT, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.resizeSection(COL_DATE, 140)
        header.setSortIndicator(COL_DATE, Qt.SortOrder.DescendingOrder)
        self.setSortingEnabled(True)


class MainWindow(QtWidgets.QMainWindow):
    closing = QtCore.Signal()  # the user closed the window (state already saved)

    def __init__(
        self,
        inbox: InboxViewModel,
        *,
        reader: ReaderViewModel,
        sidebar: SidebarViewModel,
        settings: QtCore.QSettings | None = None,
        panes: Sequence[Pane] = (),
        compose_factory: ComposeFactory | None = None,
        accounts_factory: Callable[[QtWidgets.QWidget], object] | None = None,
        notifier: Notifier | None = None,
        thumbnailer: Thumbnailer | None = None,
        title_note: str = "",
    ) -> None:
        super().__init__()
        self.vm = inbox
        self.reader_vm = reader
        self.sidebar_vm = sidebar
        self.settings = settings
        self.compose_factory = compose_factory
        self.accounts_factory = accounts_factory
        self.thumbnailer = thumbnailer
        self.setWindowTitle("Commhub" + (f" — {title_note}" if title_note else ""))
        self.setAccessibleName("Commhub main window")
        self.resize(1280, 800)
        self.notifier = notifier or Notifier(self.windowIcon(), self)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._activity: str | None = None

        # -- navigation + stack ---------------------------------------------------------
        self.nav = QtWidgets.QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("Navigation")
        self.nav.setFixedWidth(92)
        self.nav.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.nav.setFlow(QtWidgets.QListView.Flow.TopToBottom)
        self.nav.setMovement(QtWidgets.QListView.Movement.Static)
        self.nav.setWordWrap(True)
        self.nav.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.nav.setGridSize(QtCore.QSize(88, 60))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setIconSize(QtCore.QSize(24, 24))
        self.stack = QtWidgets.QStackedWidget()
        self.stack.setAccessibleName("Panes")
        self.mail_pane = self._build_mail_pane()
        self.add_pane("Mail", icon("mail"), self.mail_pane)
        for name, pane_icon, widget in panes:
            self.add_pane(name, pane_icon, widget)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # -- status bar -------------------------------------------------------------------
        self.status_label = QtWidgets.QLabel()
        self.status_label.setAccessibleName("Status")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setAccessibleName("Progress")
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._shortcuts()
        inbox.on_status(self._update_status)
        inbox.on_reset(self._update_status)
        inbox.on_reset(self._query_changed)
        self._shown_query: str | None = None
        inbox.on_new_messages(self._notify_new)
        reader.on_changed(self._reader_changed)
        self.restore_settings()

    # -- building ------------------------------------------------------------------------
    def add_pane(
        self, name: str, pane_icon: QtGui.QIcon | None, widget: QtWidgets.QWidget
    ) -> None:
        item = QtWidgets.QListWidgetItem(pane_icon or QtGui.QIcon(), name)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setSizeHint(QtCore.QSize(84, 56))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
        item.setToolTip(name)
        self.nav.addItem(item)
        if not widget.accessibleName():
            widget.setAccessibleName(name)
        self.stack.addWidget(widget)

    def _build_mail_pane(self) -> QtWidgets.QWidget:
        pane = QtWidgets.QWidget()
        pane.setAccessibleName("Mail")
        self.compose_button = QtWidgets.QPushButton("Compose")
        self.compose_button.setAccessibleName("Compose")
        self.compose_button.setToolTip("Write a new message (C)")
        self.compose_button.clicked.connect(lambda: self.open_compose("new"))
        self.compose_button.setEnabled(self.compose_factory is not None)
        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setAccessibleName("Search")
        self.search_box.setPlaceholderText(
            'Search (/): from:alice is:unread has:attachment after:2024-01-01 "exact phrase"'
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textEdited.connect(lambda text: self.vm.search(text))
        self.search_box.returnPressed.connect(
            lambda: self.vm.search(self.search_box.text(), immediate=True)
        )
        self.group_button = QtWidgets.QToolButton()
        self.group_button.setText("Conversations")
        self.group_button.setAccessibleName("Group by conversation")
        self.group_button.setToolTip("Show one row per conversation")
        self.group_button.setCheckable(True)
        self.group_button.toggled.connect(lambda on: self.vm.set_grouped(on))
        self.save_search_button = QtWidgets.QToolButton()
        self.save_search_button.setText("Save search")
        self.save_search_button.setAccessibleName("Save search")
        self.save_search_button.setToolTip("Keep this search in the sidebar")
        self.save_search_button.clicked.connect(lambda: self.save_current_search())
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.compose_button)
        top.addWidget(self.search_box, 1)
        top.addWidget(self.save_search_button)
        top.addWidget(self.group_button)
        self.accounts_button = QtWidgets.QToolButton()
        self.accounts_button.setText("Accounts…")
        self.accounts_button.setAccessibleName("Accounts")
        self.accounts_button.setToolTip("Add, edit and test mail accounts")
        self.accounts_button.setVisible(self.accounts_factory is not None)
        self.accounts_button.clicked.connect(self.open_accounts)
        top.addWidget(self.accounts_button)
        self.search_box.addAction(
            icon("search"), QtWidgets.QLineEdit.ActionPosition.LeadingPosition
        )
        for button in self.search_box.findChildren(QtWidgets.QToolButton):
            action = button.defaultAction()
            clear = action is not None and "clear" in action.objectName()
            button.setAccessibleName("Clear search" if clear else "Search")

        self.sidebar_model = SidebarModel(self.sidebar_vm, self)
        self.sidebar = QtWidgets.QTreeView()
        self.sidebar.setAccessibleName("Folders")
        self.sidebar.setModel(self.sidebar_model)
        self.sidebar.setHeaderHidden(True)
        self.sidebar.setUniformRowHeights(True)
        self.sidebar.expandAll()
        self.sidebar_model.modelReset.connect(self.sidebar.expandAll)
        self.sidebar_model.rowsInserted.connect(lambda *_: self.sidebar.expandAll())
        self.sidebar.clicked.connect(self._sidebar_clicked)

        self.reader = ReaderView(self.reader_vm, thumbnailer=self.thumbnailer)
        self.model = MessageTableModel(self.vm, self)
        self.table = MessageList(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(lambda _i: self.reader.browser.setFocus())

        self.splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mailSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.reader)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setSizes([200, 560, 520])

        layout = QtWidgets.QVBoxLayout(pane)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        return pane

    def _shortcuts(self) -> None:
        bindings: list[tuple[str, str, Callable[[], object]]] = [
            ("J", "Next message", lambda: self.move_selection(1)),
            ("K", "Previous message", lambda: self.move_selection(-1)),
            ("R", "Reply", lambda: self.open_compose("reply")),
            ("A", "Reply to all", lambda: self.open_compose("reply-all")),
            ("F", "Forward", lambda: self.open_compose("forward")),
            ("C", "Compose", lambda: self.open_compose("new")),
            ("/", "Search", self.focus_search),
            ("Delete", "Delete", self.delete_selected),
            ("Ctrl+Q", "Quit", self.close),
        ]
        self.shortcuts: dict[str, QtGui.QShortcut] = {}
        for key, name, slot in bindings:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            shortcut.setWhatsThis(name)
            self.shortcuts[key] = shortcut
        down = QtGui.QShortcut(QtGui.QKeySequence("Down"), self.search_box)
        down.setContext(Qt.ShortcutContext.WidgetShortcut)
        down.activated.connect(self.focus_list)
        self.shortcuts["Down"] = down

    # -- behaviour --------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _sidebar_clicked(self, index: QtCore.QModelIndex) -> None:
        query = index.data(QueryRole)
        if query is not None and index.flags() & Qt.ItemFlag.ItemIsSelectable:
            self.vm.set_base_query(str(query))

    def _row_changed(self, current: QtCore.QModelIndex, _previous: QtCore.QModelIndex) -> None:
        if not current.isValid():
            return
        message_id = self.model.message_id(current.row())
        if message_id is not None:
            self.reader_vm.open(message_id)

    def move_selection(self, step: int) -> None:
        rows = self.model.rowCount()
        if not rows:
            return
        current = self.table.currentIndex()
        row = 0 if not current.isValid() else max(0, min(rows - 1, current.row() + step))
        self.table.selectRow(row)
        self.table.setFocus()

    def focus_list(self) -> None:
        """From the search field into the results (Down): select the first row."""
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.selectRow(0)

    def focus_search(self) -> None:
        self.nav.setCurrentRow(0)
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def selected_ids(self) -> list[int]:
        ids = []
        for index in self.table.selectionModel().selectedRows():
            message_id = self.model.message_id(index.row())
            if message_id is not None:
                ids.append(message_id)
        return ids

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.reader_vm.clear()
            self._spawn(self.vm.delete(ids))

    def show_message(self, message_id: int) -> None:
        """Switch to Mail and read ``message_id`` (e.g. from a contact's timeline)."""
        self.nav.setCurrentRow(0)
        self.reader_vm.open(message_id)

    def open_accounts(self) -> object:
        """The accounts dialog (add/edit IMAP/SMTP, Gmail, Microsoft 365; test them)."""
        if self.accounts_factory is None:
            return None
        return self.accounts_factory(self)

    def open_compose(self, mode: str) -> Any:
        """Call the compose factory with ``(mode, message)``; ``message`` is the one being
        read (None for a new message)."""
        if self.compose_factory is None:
            self.statusBar().showMessage("Composing is not available in this build", 4000)
            return None
        message = None if mode == "new" else self.reader_vm.current
        if mode != "new" and message is None:
            self.statusBar().showMessage("Select a message first", 3000)
            return None
        return self.compose_factory(mode, message)

    def save_current_search(self, name: str | None = None) -> asyncio.Future[Any] | None:
        """Keep the search field's query as a saved search (asks for a name if none)."""
        query = self.search_box.text().strip()
        if not query:
            self.statusBar().showMessage("Type a search first", 3000)
            return None
        if name is None:
            name, ok = QtWidgets.QInputDialog.getText(
                self, "Save search", "Name:", text=query
            )
            if not ok or not name.strip():
                return None
        return self._spawn(self.sidebar_vm.save_search(name.strip(), query))

    def set_activity(self, text: str | None, done: int | None = None,
                     total: int | None = None) -> None:
        """Long work elsewhere (sync, import, send) reports here: ``text`` in the status
        bar with a progress bar (busy without ``total``); None clears it."""
        self._activity = text
        if text is None:
            self._update_status()
            return
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done or 0)
        else:
            self.progress.setRange(0, 0)
        self.progress.show()
        self.statusBar().showMessage(text)

    def _update_status(self) -> None:
        vm = self.vm
        if self._activity is None:
            self.statusBar().clearMessage()
            self.progress.setRange(0, 0)
            self.progress.setVisible(vm.loading)
        if vm.error:
            self.status_label.setText(f"⚠ {vm.error}")
        else:
            what = "conversation(s)" if vm.grouped else "message(s)"
            self.status_label.setText(f"{vm.count:,} {what}")

    def _query_changed(self) -> None:
        """A new search: what the reader shows belonged to the old results, so it goes
        (a refresh of the same search after new mail keeps it)."""
        query = self.vm.query_text
        if (self._shown_query is not None and query != self._shown_query
                and not self.table.currentIndex().isValid()):
            self.reader_vm.clear()
        self._shown_query = query

    def _reader_changed(self) -> None:
        if self.reader_vm.error:
            self.statusBar().showMessage(f"⚠ {self.reader_vm.error}", 8000)

    def _notify_new(self, rows: list[MessageRow]) -> None:
        if len(rows) == 1:
            title, body = f"New message from {rows[0].sender}", rows[0].subject
        else:
            title = f"{len(rows)} new messages"
            body = "\n".join(f"{r.sender}: {r.subject}" for r in rows[:3])
        self.notifier.notify(title, body)

    # -- persistence ------------------------------------------------------------------------
    def restore_settings(self) -> None:
        if self.settings is None:
            return
        geometry = self.settings.value("main/geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("main/splitter")
        if isinstance(splitter, QtCore.QByteArray):
            self.splitter.restoreState(splitter)
        header = self.settings.value("main/listHeader")
        if isinstance(header, QtCore.QByteArray):
            self.table.horizontalHeader().restoreState(header)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.setValue("main/listHeader", self.table.horizontalHeader().saveState())
        self.settings.sync()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.save_settings()
        super().closeEvent(event)
        self.closing.emit()

    async def close_tasks(self) -> None:
        await self.reader.close_tasks()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
