"""Icons from resources/icons (SVG, drawn for this app; no emoji font needed)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ui.qt import QtGui

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
CHANNEL_ICON = {"email": "mail", "sms": "sms", "chat": "chat", "socket": "socket"}


@cache
def icon(name: str) -> QtGui.QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon if there is none)."""
    path = ICONS / f"{name}.svg"
    return QtGui.QIcon(str(path)) if path.is_file() else QtGui.QIcon()
