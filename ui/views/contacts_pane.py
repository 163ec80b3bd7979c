"""The contacts pane: search the unified contacts, see one contact's handles and its
timeline across channels, edit it, merge duplicates.  ``ContactsPane(vm)`` is a QWidget
the main window hosts; ``open_message(int)`` asks it to show a message of the timeline.
"""

from __future__ import annotations

import asyncio

from services.contacts import ContactEntry
from services.models import Contact
from ui.models.contacts_model import ContactsTableModel, KeyRole, TimelineModel
from ui.qt import Qt, QtCore, QtWidgets
from ui.viewmodels.contacts import ContactsViewModel

__all__ = ["ContactEditDialog", "ContactsPane"]

ROW_HEIGHT = 22


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]


class ContactEditDialog(QtWidgets.QDialog):
    """Edit a contact's name and handles (comma-separated lists)."""

    def __init__(self, contact: Contact, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit contact" if contact.id is not None else "New contact")
        self._id = contact.id
        form = QtWidgets.QFormLayout(self)
        self.name = QtWidgets.QLineEdit(contact.name)
        self.emails = QtWidgets.QLineEdit(", ".join(contact.emails))
        self.phones = QtWidgets.QLineEdit(", ".join(contact.phones))
        self.sockets = QtWidgets.QLineEdit(", ".join(contact.socket_ids))
        self.chats = QtWidgets.QLineEdit(
            ", ".join(f"{k}:{v}" for k, v in contact.chat_handles.items()))
        self.chats.setPlaceholderText("service:handle, e.g. slack:@ana")
        for label, w in (("Name:", self.name), ("E-mail:", self.emails),
                         ("Phone:", self.phones), ("Socket ids:", self.sockets),
                         ("Chat:", self.chats)):
            form.addRow(label, w)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def contact(self) -> Contact:
        chats: dict[str, str] = {}
        for piece in _split(self.chats.text()):
            service, sep, handle = piece.partition(":")
            if sep and handle:
                chats[service.strip()] = handle.strip()
            else:
                chats["chat"] = piece
        return Contact(name=self.name.text().strip(), emails=_split(self.emails.text()),
                       phones=_split(self.phones.text()),
                       socket_ids=_split(self.sockets.text()), chat_handles=chats, id=self._id)


def _table(model: QtCore.QAbstractItemModel, name: str) -> QtWidgets.QTableView:
    view = QtWidgets.QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    vheader = view.verticalHeader()
    vheader.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(ROW_HEIGHT)
    vheader.hide()
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setHighlightSections(False)
    return view


class ContactsPane(QtWidgets.QWidget):
    open_message = QtCore.Signal(int)

    def __init__(self, vm: ContactsViewModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setObjectName("contactsPane")
        self._pending: set[asyncio.Future[object]] = set()
        self.model = ContactsTableModel(vm, self)
        self.timeline_model = TimelineModel(vm, self)

        left = QtWidgets.QWidget()
        lbox = QtWidgets.QVBoxLayout(left)
        lbox.setContentsMargins(0, 0, 0, 0)
        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setPlaceholderText("Search contacts: name, address, number, handle")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setAccessibleName("Search contacts")
        self.table = _table(self.model, "contactsList")
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 150)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        buttons = QtWidgets.QHBoxLayout()
        self.new_button = QtWidgets.QPushButton("New…")
        self.merge_button = QtWidgets.QPushButton("Merge selected")
        self.dupes_button = QtWidgets.QPushButton("Find duplicates")
        for b in (self.new_button, self.merge_button, self.dupes_button):
            buttons.addWidget(b)
        self.dupes_list = QtWidgets.QListWidget()
        self.dupes_list.setObjectName("duplicatesList")
        self.dupes_list.setToolTip("Double-click a group to merge it into one contact")
        self.dupes_list.setMaximumHeight(80)
        self.dupes_list.hide()
        lbox.addWidget(self.search_box)
        lbox.addWidget(self.table, 1)
        lbox.addWidget(self.dupes_list)
        lbox.addLayout(buttons)

        right = QtWidgets.QWidget()
        rbox = QtWidgets.QVBoxLayout(right)
        rbox.setContentsMargins(0, 0, 0, 0)
        self.name_label = QtWidgets.QLabel("Select a contact")
        self.name_label.setObjectName("contactName")
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name_label.setFont(font)
        self.handles_label = QtWidgets.QLabel("")
        self.handles_label.setObjectName("contactHandles")
        self.handles_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.handles_label.setWordWrap(True)
        actions = QtWidgets.QHBoxLayout()
        self.edit_button = QtWidgets.QPushButton("Edit…")
        self.delete_button = QtWidgets.QPushButton("Forget")
        self.delete_button.setToolTip("Remove the saved record (messages stay)")
        actions.addWidget(self.edit_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        self.timeline_label = QtWidgets.QLabel("Timeline")
        self.timeline = _table(self.timeline_model, "contactTimeline")
        th = self.timeline.horizontalHeader()
        for col in (0, 1, 2):
            th.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        th.setSectionResizeMode(3, QtWidgets.QHeaderView.ResizeMode.Stretch)
        th.setSectionResizeMode(4, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setWordWrap(True)
        rbox.addWidget(self.name_label)
        rbox.addWidget(self.handles_label)
        rbox.addLayout(actions)
        rbox.addWidget(self.error_label)
        rbox.addWidget(self.timeline_label)
        rbox.addWidget(self.timeline, 1)

        splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        outer = QtWidgets.QVBoxLayout(self)
        outer.addWidget(splitter, 1)
        self.status_label = QtWidgets.QLabel("")
        outer.addWidget(self.status_label)

        self._debounce = QtCore.QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self._run(vm.search(self.search_box.text())))
        self.search_box.textChanged.connect(lambda _t: self._debounce.start())
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.timeline.doubleClicked.connect(
            lambda ix: self.open_message.emit(int(self.timeline_model.data(ix, KeyRole))))
        self.edit_button.clicked.connect(self.edit_selected)
        self.new_button.clicked.connect(lambda: self.edit(Contact()))
        self.delete_button.clicked.connect(self.delete_selected)
        self.merge_button.clicked.connect(self.merge_selected)
        self.dupes_button.clicked.connect(lambda: self._run(vm.find_duplicates()))
        self.dupes_list.itemDoubleClicked.connect(self._merge_group)
        vm.on_rows_changed(self._rows_changed)
        vm.on_detail_changed(self._detail_changed)
        self._detail_changed()
        self._rows_changed()

    # ------------------------------------------------------------------ plumbing
    def _run(self, aw: asyncio.Future[object] | object) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.ensure_future(aw)  # type: ignore[arg-type]
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    async def settle(self) -> None:
        """Await every action started from the pane (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _row_changed(self, current: QtCore.QModelIndex, _prev: QtCore.QModelIndex) -> None:
        if current.isValid():
            self._run(self.vm.select(str(self.model.data(current, KeyRole))))

    def selected_keys(self) -> list[str]:
        rows = sorted({ix.row() for ix in self.table.selectionModel().selectedRows()})
        return [self.model.entry(r).key for r in rows]

    # ------------------------------------------------------------------ vm → widgets
    def _rows_changed(self) -> None:
        vm = self.vm
        self.status_label.setText(vm.status)
        self._sync_selection()
        self.dupes_list.clear()
        for group in vm.duplicates:
            names = ", ".join(v for e in group for _, v in e.handles())
            item = QtWidgets.QListWidgetItem(
                f"{group[0].display_name} — {len(group)} entries: {names}")
            item.setData(Qt.ItemDataRole.UserRole, [e.key for e in group])
            self.dupes_list.addItem(item)
        self.dupes_list.setVisible(bool(vm.duplicates))

    def _sync_selection(self) -> None:
        """Select the shown contact's row (without loading it again)."""
        selected = self.vm.selected
        row = None if selected is None else self.vm.row_of(selected.key)
        if row is None or row in {ix.row() for ix in self.table.selectionModel().selectedRows()}:
            return
        self.table.selectionModel().blockSignals(True)
        self.table.selectRow(row)
        self.table.selectionModel().blockSignals(False)

    def _detail_changed(self) -> None:
        vm = self.vm
        self._sync_selection()
        entry: ContactEntry | None = vm.selected
        self.error_label.setText(vm.error or "")
        self.error_label.setVisible(bool(vm.error))
        self.status_label.setText(vm.status)
        self.edit_button.setEnabled(entry is not None)
        self.delete_button.setEnabled(entry is not None and entry.recorded)
        if entry is None:
            self.name_label.setText("Select a contact")
            self.handles_label.setText("")
            self.timeline_label.setText("Timeline")
            return
        self.name_label.setText(entry.display_name)
        labels = {"email": "E-mail", "phone": "Phone", "socket": "Socket", "chat": "Chat"}
        lines = [f"{labels[k]}: {v}" for k, v in entry.handles()]
        if not entry.recorded:
            lines.append("(seen in messages, not saved yet: Edit saves it)")
        self.handles_label.setText("\n".join(lines))
        self.timeline_label.setText(
            f"Timeline — {len(vm.timeline)} message(s) on "
            f"{len({t.channel for t in vm.timeline})} channel(s), newest first")

    # ------------------------------------------------------------------ actions
    def edit(self, contact: Contact) -> None:
        dialog = ContactEditDialog(contact, self)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self._run(self.vm.save(dialog.contact()))

    def edit_selected(self) -> None:
        if self.vm.selected is not None:
            self.edit(self.vm.selected.contact)

    def delete_selected(self) -> None:
        if self.vm.selected is not None and self.vm.selected.recorded:
            self._run(self.vm.delete(self.vm.selected.key))

    def merge_selected(self) -> asyncio.Future[object] | None:
        keys = self.selected_keys()
        if len(keys) < 2:
            self.vm.status = "Select two or more contacts (Ctrl+click) to merge them"
            self.status_label.setText(self.vm.status)
            return None
        return self._run(self.vm.merge(keys))

    def _merge_group(self, item: QtWidgets.QListWidgetItem) -> None:
        self._run(self.vm.merge(list(item.data(Qt.ItemDataRole.UserRole))))

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        if not self.vm.rows:
            self._run(self.vm.search(self.search_box.text()))
