"""The main window: search bar, message list and reader.

This is the first, minimal window; the full three-pane layout with compose,
contacts and audit panes is built on the same view-models.
"""

from __future__ import annotations

from ui.models.message_table import MessageTableModel
from ui.qt import Qt, QtWidgets
from ui.viewmodels.inbox import InboxViewModel


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, vm: InboxViewModel, *, title_note: str = "") -> None:
        super().__init__()
        self.vm = vm
        self.setWindowTitle("Commhub" + (f" — {title_note}" if title_note else ""))
        self.resize(1100, 700)

        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setPlaceholderText(
            'Search: from:alice is:unread has:attachment "exact phrase"'
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self._on_search)

        self.model = MessageTableModel(vm, self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 48)
        header.resizeSection(1, 200)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.resizeSection(3, 130)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)

        self.reader = QtWidgets.QTextBrowser()
        self.reader.setOpenLinks(False)

        splitter = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.reader)
        splitter.setSizes([380, 320])

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.search_box)
        layout.addWidget(splitter)
        self.setCentralWidget(central)

        vm.on_rows_changed(self._on_rows_changed)
        vm.on_reader_changed(self._show_current)

    def _on_search(self) -> None:
        self.vm.search(self.search_box.text())

    def _on_rows_changed(self) -> None:
        if self.vm.error:
            self.statusBar().showMessage(self.vm.error)
        else:
            self.statusBar().showMessage(f"{len(self.vm.rows)} message(s)")

    def _on_row(self, current: object, _previous: object) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.vm.open(index.row())

    def _show_current(self) -> None:
        msg = self.vm.current
        if msg is None:
            self.reader.clear()
            return
        head = [
            f"From: {msg.sender or ''}",
            f"To: {', '.join(str(a) for a in msg.to)}",
            f"Date: {msg.date.strftime('%Y-%m-%d %H:%M') if msg.date else ''}",
            f"Subject: {msg.subject}",
        ]
        if msg.attachments:
            names = ", ".join(a.filename for a in msg.attachments)
            head.append(f"Attachments: {names}")
        self.reader.setPlainText("\n".join(head) + "\n\n" + msg.body_text)
