"""Qt item models for the contacts pane: the contacts list and a contact's timeline.

Both read from :class:`ContactsViewModel` (the widgets hold no data) and reset when it
reports a change.
"""

from __future__ import annotations

from typing import Any

from services.contacts import ContactEntry, TimelineItem
from ui.models.rows import RowsTableModel
from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.contacts import ContactsViewModel

__all__ = ["CHANNEL_MARK", "ContactsTableModel", "KeyRole", "TimelineModel"]

KeyRole = Qt.ItemDataRole.UserRole + 1
CHANNEL_MARK = {"email": "✉", "sms": "☎", "chat": "#", "socket": "⇄"}
_KIND_LABEL = {"email": "✉", "phone": "☎", "chat": "#", "socket": "⇄"}


class ContactsTableModel(RowsTableModel[ContactEntry]):
    COLUMNS = ("Name", "Reachable at", "Messages")

    def __init__(self, vm: ContactsViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(lambda: vm.rows, vm.on_rows_changed, parent)

    def cell(self, entry: ContactEntry, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return entry.display_name
            if col == 1:
                return "  ".join(f"{_KIND_LABEL[k]} {v}" for k, v in entry.handles())
            if col == 2:
                return str(entry.message_count)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == 0 and entry.recorded:
            font = QtGui.QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return "saved contact" if entry.recorded else "seen in messages (not saved yet)"
        if role == KeyRole:
            return entry.key
        return None

    def entry(self, row: int) -> ContactEntry:
        return self.row_at(row)


class TimelineModel(RowsTableModel[TimelineItem]):
    """The selected contact's messages on every channel, newest first."""

    COLUMNS = ("", "Date", "", "Subject / text", "Account")

    def __init__(self, vm: ContactsViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(lambda: vm.timeline, vm.on_detail_changed, parent)

    def cell(self, item: TimelineItem, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return CHANNEL_MARK.get(str(item.channel), "")
            if col == 1:
                return item.date.astimezone().strftime("%Y-%m-%d %H:%M") if item.date else ""
            if col == 2:
                return "←" if item.incoming else "→"
            if col == 3:
                return item.subject or item.snippet
            if col == 4:
                return item.account
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return str(item.channel)
            if col == 2:
                return f"from {item.handle}" if item.incoming else f"to {item.handle}"
            if col == 3 and item.subject:
                return item.snippet
        if role == KeyRole:
            return item.message_id
        return None

    def item(self, row: int) -> TimelineItem:
        return self.row_at(row)
