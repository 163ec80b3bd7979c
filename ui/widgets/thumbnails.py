"""Attachment thumbnails as PNG bytes, made in a worker thread (never on the GUI thread).

Uses ``services.attachments.AttachmentManager.thumbnail_png`` when one is passed
in; otherwise images go through Pillow and PDFs through QtPdf (first page, painted
on white because QPdfDocument renders transparent).  Returns None when the
attachment cannot be previewed (the strip then shows a type icon).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Protocol

from PIL import Image, UnidentifiedImageError

from services.errors import CommError
from services.models import Attachment
from ui.qt import Qt, QtCore, QtGui, QtPdf

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")


def is_image(att: Attachment) -> bool:
    return att.content_type.lower() in IMAGE_TYPES or att.extension in (
        "png", "jpg", "jpeg", "gif", "webp", "bmp"
    )


def image_png(data: bytes, size: int) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (size, size))
            img.thumbnail((size, size))
            out = io.BytesIO()
            img.convert("RGBA").save(out, "PNG")
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError):
        return None


def pdf_png(path: Path, size: int) -> bytes | None:
    doc = QtPdf.QPdfDocument()
    try:
        if doc.load(str(path)) != QtPdf.QPdfDocument.Error.None_ or doc.pageCount() < 1:
            return None
        page = doc.pagePointSize(0)
        if page.width() <= 0 or page.height() <= 0:
            return None
        scale = size / max(page.width(), page.height())
        target = QtCore.QSize(max(1, int(page.width() * scale)), max(1, int(page.height() * scale)))
        rendered = doc.render(0, target)
        if rendered.isNull():
            return None
        image = QtGui.QImage(target, QtGui.QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QtGui.QPainter(image)
        painter.drawImage(0, 0, rendered)
        painter.end()
        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")  # type: ignore[call-overload]
        return bytes(buffer.data().data())
    finally:
        doc.close()


class Thumbnailer(Protocol):
    """``services.attachments.AttachmentManager`` as far as thumbnails go."""

    def thumbnail_png(self, attachment: Attachment, size: int) -> bytes: ...


def thumbnail_png(
    att: Attachment, path: Path, size: int, manager: Thumbnailer | None = None
) -> bytes | None:
    """A PNG no larger than ``size`` for ``att`` (whose bytes are already at ``path``):
    from ``manager`` when given, else Pillow (images) or QtPdf (PDFs)."""
    if manager is not None:
        try:
            return bytes(manager.thumbnail_png(att, size))
        except (CommError, OSError, ValueError):
            return None
    if is_image(att):
        return image_png(path.read_bytes(), size)
    if att.is_pdf:
        return pdf_png(path, size)
    return None
