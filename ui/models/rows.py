"""A read-only table model over a list of rows that a view-model owns.

Subclasses name their ``COLUMNS`` and answer :meth:`cell`; the list is replaced (a model
reset) whenever the view-model reports a change.  The view holds no data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from ui.qt import Qt, QtCore

__all__ = ["Index", "RowsTableModel"]

T = TypeVar("T")
Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
_ROOT = QtCore.QModelIndex()


class RowsTableModel(QtCore.QAbstractTableModel, Generic[T]):
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, rows: Callable[[], Sequence[T]], subscribe: Callable[[Any], None],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._source = rows
        self._rows: list[T] = list(rows())
        subscribe(self._reload)

    def _reload(self) -> None:
        self.beginResetModel()
        self._rows = list(self._source())
        self.endResetModel()

    def row_at(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.COLUMNS)):
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.COLUMNS):
            return None
        return self.cell(self._rows[index.row()], index.column(), role)

    def cell(self, row: T, column: int, role: int) -> Any:
        raise NotImplementedError
