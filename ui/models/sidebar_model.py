"""Tree model of the sidebar (a QStandardItemModel filled from :class:`SidebarViewModel`)."""

from __future__ import annotations

from ui.qt import Qt, QtCore, QtGui
from ui.viewmodels.sidebar import SidebarEntry, SidebarViewModel
from ui.widgets.icons import icon

QueryRole = Qt.ItemDataRole.UserRole + 1
KindRole = Qt.ItemDataRole.UserRole + 2

_ICON = {"unified": "inbox", "account": "account", "folder": "folder", "saved": "search",
         "group": "search"}


class SidebarModel(QtGui.QStandardItemModel):
    def __init__(self, vm: SidebarViewModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = vm
        self.setHorizontalHeaderLabels(["Folders"])
        self._fill()
        vm.on_changed(self._fill)

    def _item(self, entry: SidebarEntry) -> QtGui.QStandardItem:
        item = QtGui.QStandardItem(icon(_ICON.get(entry.kind, "folder")), entry.label)
        item.setEditable(False)
        item.setData(entry.query, QueryRole)
        item.setData(entry.kind, KindRole)
        item.setData(entry.label, Qt.ItemDataRole.AccessibleTextRole)
        item.setToolTip(entry.query or entry.label)
        if entry.kind == "group":
            item.setSelectable(False)
        for child in entry.children:
            item.appendRow(self._item(child))
        return item

    def _fill(self) -> None:
        self.removeRows(0, self.rowCount())
        for entry in self._vm.entries:
            self.appendRow(self._item(entry))
