"""Table model over :class:`InboxViewModel` rows (the widget holds no data)."""

from __future__ import annotations

from typing import Any

from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.inbox import InboxViewModel, MessageRow

_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
_ROOT = QtCore.QModelIndex()

_CHANNEL_MARK = {"email": "✉", "sms": "☎", "chat": "#", "socket": "⇄"}


class MessageTableModel(QtCore.QAbstractTableModel):
    COLUMNS = ("", "From", "Subject", "Date")

    def __init__(self, vm: InboxViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = vm
        self._rows: list[MessageRow] = list(vm.rows)
        vm.on_rows_changed(self._reload)

    def _reload(self) -> None:
        self.beginResetModel()
        self._rows = list(self._vm.rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(
        self,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                mark = _CHANNEL_MARK.get(str(row.channel), "")
                return mark + (" +" if row.attachments else "")
            return (row.sender, row.subject, row.date)[col - 1] if 1 <= col <= 3 else None
        if role == Qt.ItemDataRole.FontRole and row.unread:
            font = QtGui.QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return str(row.channel)
        return None

    def message_id(self, row: int) -> int:
        return self._rows[row].id
