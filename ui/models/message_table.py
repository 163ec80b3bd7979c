"""Table model over :class:`InboxViewModel`: rows are paged in on demand.

The model holds no rows itself: ``rowCount`` is the store's count, ``data``
asks the view-model for a row and gets None (and a page request) until that
page arrives, then the view-model reports the loaded range and the model
emits ``dataChanged`` for it.  A million rows cost nothing until painted.
"""

from __future__ import annotations

from typing import Any

from services.models import SortOrder
from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.inbox import InboxViewModel, MessageRow
from ui.widgets.icons import CHANNEL_ICON, icon

_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
_ROOT = QtCore.QModelIndex()

COL_STATUS, COL_CHANNEL, COL_FROM, COL_SUBJECT, COL_ATTACH, COL_DATE = range(6)
_SORT_KEY = {COL_FROM: "from", COL_SUBJECT: "subject", COL_DATE: "date"}

MessageIdRole = Qt.ItemDataRole.UserRole + 1

_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_ID = int(MessageIdRole)
_SERVED = frozenset({_DISPLAY, _DECORATION, _FONT, _TOOLTIP, _ACCESSIBLE, _ALIGN, _ID})
_CENTER = int(Qt.AlignmentFlag.AlignCenter.value)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


class MessageTableModel(QtCore.QAbstractTableModel):
    COLUMNS = ("", "", "From", "Subject", "", "Date")
    TOOLTIPS = ("Unread / flagged", "Channel", "Sender", "Subject", "Attachments", "Date")

    def __init__(self, vm: InboxViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = vm
        self._count = vm.count
        self._bold = QtGui.QFont()
        self._bold.setBold(True)
        vm.on_about_to_reset(self.beginResetModel)
        vm.on_reset(self._reset_done)
        vm.on_rows_loaded(self._rows_loaded)

    def _reset_done(self) -> None:
        self._count = self._vm.count
        self.endResetModel()

    def _rows_loaded(self, first: int, last: int) -> None:
        last = min(last, self._count - 1)
        if first <= last:
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(self.COLUMNS) - 1)
            )

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.DecorationRole and section == COL_ATTACH:
            return icon("attachment")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.TOOLTIPS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else _NO_FLAGS

    def row_at(self, row: int) -> MessageRow | None:
        return self._vm.row(row) if 0 <= row < self._count else None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called thousands of times per frame: plain int compares, precomputed cells
        role = int(role)
        if role not in _SERVED:
            return None
        r = index.row()
        if not 0 <= r < self._count:
            return None
        row = self._vm.row(r)
        col = index.column()
        if row is None:
            return "…" if role == _DISPLAY and col == COL_SUBJECT else None
        if role == _DISPLAY:
            return row.cells[col]
        if role == _DECORATION:
            if col == COL_CHANNEL:
                return icon(CHANNEL_ICON.get(str(row.channel), "mail"))
            if col == COL_ATTACH and row.attachments:
                return icon("attachment")
            return None
        if role == _FONT:
            return self._bold if row.unread else None
        if role == _ID:
            return row.id
        if role == _TOOLTIP:
            return self._tooltip(row, col)
        if role == _ACCESSIBLE:
            return row.accessible_text
        if role == _ALIGN and col in (COL_STATUS, COL_CHANNEL):
            return _CENTER
        return None

    @staticmethod
    def _tooltip(row: MessageRow, col: int) -> str | None:
        if col == COL_CHANNEL:
            return f"{row.channel} · {row.account}"
        if col == COL_STATUS:
            marks = [s for s, on in (("unread", row.unread), ("flagged", row.flagged)) if on]
            return ", ".join(marks) or "read"
        if col == COL_ATTACH and row.attachments:
            return f"{row.attachments} attachment(s)"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = _SORT_KEY.get(column, "date")
        desc = order == Qt.SortOrder.DescendingOrder
        wanted = SortOrder.DESC if desc else SortOrder.ASC
        if (key, wanted) != (self._vm.sort_key, self._vm.sort_order):
            self._vm.set_sort(key, wanted)

    def message_id(self, row: int) -> int | None:
        found = self.row_at(row)
        return found.id if found is not None else None
