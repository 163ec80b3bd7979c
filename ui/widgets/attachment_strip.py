"""The strip of attachment tiles under a message: thumbnail, name, size.

Double-click (or Enter) opens a preview; the context menu opens the file with the
system's application or saves it.  Dragging a tile out hands the file manager a
real file: the attachment is written (safe name, never overwriting) into a fresh
scratch folder and the drag carries its ``file://`` URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from services.models import Attachment
from ui.qt import Qt, QtCore, QtGui, QtWidgets

Exporter = Callable[[Attachment], Path]
PathRole = Qt.ItemDataRole.UserRole + 1
THUMB = 96


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def type_icon(att: Attachment, size: int = THUMB) -> QtGui.QPixmap:
    """A plain tile naming the file type, for attachments without a preview."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    pal = QtWidgets.QApplication.palette()
    painter.setBrush(pal.color(QtGui.QPalette.ColorRole.Base))
    painter.setPen(QtGui.QPen(pal.color(QtGui.QPalette.ColorRole.Mid), 2))
    painter.drawRoundedRect(QtCore.QRectF(14, 6, size - 28, size - 12), 6, 6)
    font = painter.font()
    font.setBold(True)
    font.setPointSize(11)
    painter.setFont(font)
    painter.setPen(pal.color(QtGui.QPalette.ColorRole.Text))
    label = (att.extension or "file").upper()[:5]
    painter.drawText(pixmap.rect(), int(Qt.AlignmentFlag.AlignCenter), label)
    painter.end()
    return pixmap


class AttachmentStrip(QtWidgets.QListWidget):
    """Tiles for a list of attachments.  ``exporter`` writes one to a real file."""

    def __init__(self, exporter: Exporter, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._exporter = exporter
        self._attachments: list[Attachment] = []
        self.setAccessibleName("Attachments")
        self.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QtWidgets.QListView.Movement.Static)
        self.setIconSize(QtCore.QSize(THUMB, THUMB))
        self.setGridSize(QtCore.QSize(THUMB + 48, THUMB + 40))
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setFixedHeight(THUMB + 56)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setToolTip("Drag an attachment to a folder to save it; double-click to preview")

    @property
    def attachments(self) -> list[Attachment]:
        return list(self._attachments)

    def set_attachments(self, attachments: Sequence[Attachment]) -> None:
        self.clear()
        self._attachments = list(attachments)
        for i, att in enumerate(self._attachments):
            item = QtWidgets.QListWidgetItem(
                QtGui.QIcon(type_icon(att)), f"{att.filename}\n{human_size(att.size)}"
            )
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(f"{att.filename} · {att.content_type} · {human_size(att.size)}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Attachment {att.filename}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.addItem(item)
        self.setVisible(bool(self._attachments))

    def set_file(self, index: int, path: Path) -> None:
        """``index``'s bytes are now at ``path`` (written by a worker)."""
        item = self.item(index)
        if item is not None:
            item.setData(PathRole, str(path))

    def set_thumbnail(self, index: int, png: bytes) -> None:
        item = self.item(index)
        pixmap = QtGui.QPixmap()
        if item is not None and pixmap.loadFromData(png, "PNG"):
            framed = QtGui.QPixmap(pixmap.width() + 2, pixmap.height() + 2)
            framed.fill(self.palette().color(QtGui.QPalette.ColorRole.Mid))
            painter = QtGui.QPainter(framed)
            painter.drawPixmap(1, 1, pixmap)
            painter.end()
            item.setIcon(QtGui.QIcon(framed))

    def attachment_of(self, item: QtWidgets.QListWidgetItem) -> Attachment:
        return self._attachments[int(item.data(Qt.ItemDataRole.UserRole))]

    def file_for(self, item: QtWidgets.QListWidgetItem) -> Path:
        """The real file of ``item``: the one a worker wrote, or written now."""
        known = item.data(PathRole)
        if known and Path(str(known)).is_file():
            return Path(str(known))
        path = self._exporter(self.attachment_of(item))
        item.setData(PathRole, str(path))
        return path

    # -- drag out ------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def mimeData(self, items: Sequence[QtWidgets.QListWidgetItem]) -> QtCore.QMimeData:
        mime = QtCore.QMimeData()
        mime.setUrls([QtCore.QUrl.fromLocalFile(str(self.file_for(i))) for i in items])
        return mime
