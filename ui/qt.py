"""The one module that imports the Qt binding; everything else imports from here."""

from __future__ import annotations

import ctypes
import os
import sys

os.environ.setdefault("QT_API", "pyside6")

from PySide6 import QtCharts, QtCore, QtGui, QtPdf, QtWidgets
from PySide6.QtCore import Qt


def _pin_singletons() -> None:
    """Work around a PySide6 6.12 reference-count bug on Python < 3.12.

    ``SignalInstance.emit()`` returns True/False without a new reference, and an
    invalid QVariant (``QModelIndex.data()`` with no data) becomes None the same way,
    so every ``emit()`` from Python (ours, qasync's ``call_soon_threadsafe`` on each
    ``asyncio.to_thread``) takes one reference from True.  After about a thousand
    the interpreter aborts ("bool_dealloc: deallocating True or False").  Python 3.12
    made these singletons immortal; here they get a count no program can use up.
    """
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):  # immortal; debug
        return
    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40


_pin_singletons()

__all__ = ["Qt", "QtCharts", "QtCore", "QtGui", "QtPdf", "QtWidgets"]
