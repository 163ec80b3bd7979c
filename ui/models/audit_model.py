"""Table model over :class:`AuditViewModel` rows (the view holds no data).

Rows that :meth:`AuditLog.verify` named (edited, inserted, next to a deletion) are
tinted red and say why in their tool tip.
"""

from __future__ import annotations

from typing import Any

from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.audit import AuditRow, AuditViewModel

__all__ = ["AuditTableModel"]

_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
_ROOT = QtCore.QModelIndex()
_SUSPECT = QtGui.QColor(255, 205, 205)


class AuditTableModel(QtCore.QAbstractTableModel):
    COLUMNS = ("#", "Time", "Event", "User", "Channel", "Object", "Details")

    def __init__(self, vm: AuditViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = vm
        self._rows: list[AuditRow] = list(vm.rows)
        vm.on_changed(self._reload)

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

    def row_at(self, row: int) -> AuditRow:
        return self._rows[row]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (str(row.seq), row.time, row.event, row.user, row.channel,
                      row.object_id, row.details)
            return values[col] if 0 <= col < len(values) else None
        if role == Qt.ItemDataRole.BackgroundRole and row.suspect:
            return QtGui.QBrush(_SUSPECT)
        if role == Qt.ItemDataRole.ForegroundRole and row.suspect:
            return QtGui.QBrush(QtGui.QColor(0, 0, 0))
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.suspect:
                return "verify() found this entry altered, inserted, or entries deleted before it"
            return row.details or None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
