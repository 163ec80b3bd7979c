"""Light and dark themes that follow the system palette (resources/themes/*.qss)."""

from __future__ import annotations

from pathlib import Path

from ui.qt import Qt, QtGui, QtWidgets

THEMES = Path(__file__).resolve().parents[2] / "resources" / "themes"


def is_dark(palette: QtGui.QPalette) -> bool:
    window = palette.color(QtGui.QPalette.ColorRole.Window)
    return window.lightness() < 128


def system_is_dark(app: QtWidgets.QApplication) -> bool:
    scheme = QtGui.QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return is_dark(app.palette())


def apply_theme(app: QtWidgets.QApplication, dark: bool | None = None) -> str:
    """Apply the theme matching the system (or ``dark``); returns its name."""
    dark = system_is_dark(app) if dark is None else dark
    name = "dark" if dark else "light"
    palette = app.palette()
    for role in (QtGui.QPalette.ColorRole.Highlight, QtGui.QPalette.ColorRole.HighlightedText):
        # the selection stays visible when the window is not the active one
        active = palette.color(QtGui.QPalette.ColorGroup.Active, role)
        palette.setColor(QtGui.QPalette.ColorGroup.Inactive, role, active)
    app.setPalette(palette)
    app.setStyleSheet((THEMES / f"{name}.qss").read_text("utf-8"))
    return name


def follow_system(app: QtWidgets.QApplication) -> None:
    """Re-apply the theme whenever the system switches between light and dark."""
    QtGui.QGuiApplication.styleHints().colorSchemeChanged.connect(
        lambda _scheme: apply_theme(app)
    )
