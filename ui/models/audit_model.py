"""Table model over :class:`AuditViewModel` rows (the view holds no data).

Rows that :meth:`AuditLog.verify` named (edited, inserted, next to a deletion) are
tinted red and say why in their tool tip.
"""

from __future__ import annotations

from typing import Any

from ui.models.rows import RowsTableModel
from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.audit import AuditRow, AuditViewModel

__all__ = ["AuditTableModel"]

_SUSPECT = QtGui.QColor(255, 205, 205)


class AuditTableModel(RowsTableModel[AuditRow]):
    COLUMNS = ("#", "Time", "Event", "User", "Channel", "Object", "Details")

    def __init__(self, vm: AuditViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(lambda: vm.rows, vm.on_changed, parent)

    def cell(self, row: AuditRow, col: int, role: int) -> Any:
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
