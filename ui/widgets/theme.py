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


def dark_palette() -> QtGui.QPalette:
    """A dark palette for when the system asks for dark but the platform's palette is
    light (Qt on X11 without a desktop theme plug-in)."""
    c = QtGui.QColor
    roles = QtGui.QPalette.ColorRole
    palette = QtGui.QPalette()
    for role, colour in (
        (roles.Window, c(0x2b, 0x2b, 0x2b)), (roles.WindowText, c(0xe8, 0xe8, 0xe8)),
        (roles.Base, c(0x1f, 0x1f, 0x1f)), (roles.AlternateBase, c(0x27, 0x27, 0x27)),
        (roles.Text, c(0xe8, 0xe8, 0xe8)), (roles.Button, c(0x35, 0x35, 0x35)),
        (roles.ButtonText, c(0xe8, 0xe8, 0xe8)), (roles.ToolTipBase, c(0x35, 0x35, 0x35)),
        (roles.ToolTipText, c(0xe8, 0xe8, 0xe8)), (roles.PlaceholderText, c(0x9a, 0x9a, 0x9a)),
        (roles.Highlight, c(0x2f, 0x7d, 0xd1)), (roles.HighlightedText, c(0xff, 0xff, 0xff)),
        (roles.Link, c(0x6c, 0xb4, 0xff)), (roles.Mid, c(0x50, 0x50, 0x50)),
        (roles.Dark, c(0x18, 0x18, 0x18)), (roles.Light, c(0x4a, 0x4a, 0x4a)),
    ):
        palette.setColor(role, colour)
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QtGui.QPalette.ColorGroup.Disabled, role, c(0x7a, 0x7a, 0x7a))
    return palette


def apply_theme(app: QtWidgets.QApplication, dark: bool | None = None) -> str:
    """Apply the theme matching the system (or ``dark``); returns its name."""
    dark = system_is_dark(app) if dark is None else dark
    name = "dark" if dark else "light"
    if dark and not is_dark(app.palette()):
        app.setStyle("Fusion")  # draws with the palette it is given
        app.setPalette(dark_palette())
    elif not dark and is_dark(app.palette()):
        app.setPalette(app.style().standardPalette())
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
