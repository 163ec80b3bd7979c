"""Desktop notifications through the system tray (when the desktop has one)."""

from __future__ import annotations

from ui.qt import QtCore, QtGui, QtWidgets


class Notifier(QtCore.QObject):
    """Shows "new message" notifications; remembers what it showed (``history``)."""

    def __init__(self, icon: QtGui.QIcon, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []
        self.tray: QtWidgets.QSystemTrayIcon | None = None
        if QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QtWidgets.QSystemTrayIcon(icon, self)
            self.tray.setToolTip("Commhub")
            self.tray.show()

    def notify(self, title: str, body: str) -> None:
        self.history.append((title, body))
        if self.tray is not None and QtWidgets.QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(title, body, QtWidgets.QSystemTrayIcon.MessageIcon.Information)
