"""The reading pane: banners, the conversation (newest last) and the attachment strip.

The conversation is shown in a QTextBrowser (no script engine exists there) fed
with HTML the view-model already sanitised with nh3; on top of that the browser
loads no resource except the images the view-model handed over (inline ``cid:``
parts, and remote images only for senders the user allowed).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from services.errors import CommError
from services.models import Attachment
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.viewmodels.reader import ReaderViewModel
from ui.widgets.attachment_strip import THUMB, AttachmentStrip
from ui.widgets.thumbnails import Thumbnailer, thumbnail_png

PREVIEW = 720
_OPENABLE = ("http", "https", "mailto")


class SafeBrowser(QtWidgets.QTextBrowser):
    """A QTextBrowser that loads only resources it was given (never files or network)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._resources: dict[str, QtGui.QImage] = {}
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def set_resources(self, resources: dict[str, bytes]) -> None:
        self._resources = {}
        for url, data in resources.items():
            image = QtGui.QImage.fromData(data)
            if not image.isNull():
                self._resources[url] = image

    def loadResource(self, kind: int, name: QtCore.QUrl | str) -> Any:
        if kind == QtGui.QTextDocument.ResourceType.ImageResource.value:
            return self._resources.get(QtCore.QUrl(name).toString())
        return None


class _Banner(QtWidgets.QFrame):
    def __init__(self, name: str, button: str | None = None) -> None:
        super().__init__()
        self.setObjectName(name)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        self.button: QtWidgets.QPushButton | None = None
        if button is not None:
            self.button = QtWidgets.QPushButton(button)
            layout.addWidget(self.button)
        self.hide()


class ReaderView(QtWidgets.QWidget):
    def __init__(
        self,
        vm: ReaderViewModel,
        parent: QtWidgets.QWidget | None = None,
        *,
        thumbnailer: Thumbnailer | None = None,
    ) -> None:
        super().__init__(parent)
        self.vm = vm
        self.thumbnailer = thumbnailer
        self.setAccessibleName("Reading pane")
        self.images_banner = _Banner("readerBanner", "Load images from this sender")
        self.images_banner.setAccessibleName("Remote images blocked")
        assert self.images_banner.button is not None
        self.images_banner.button.setAccessibleName("Load images from this sender")
        self.images_banner.button.clicked.connect(self._allow_images)
        self.link_banner = _Banner("linkWarning")
        self.link_banner.setAccessibleName("Suspicious links")
        self.browser = SafeBrowser()
        self.browser.setAccessibleName("Message")
        self.browser.anchorClicked.connect(self._open_link)
        self.strip = AttachmentStrip(vm.export_for_drag)
        self.strip.hide()
        self.strip.itemActivated.connect(self.preview)
        for text, slot in (
            ("Preview", self._preview_selected),
            ("Open", self._open_selected),
            ("Save…", self._save_selected),
        ):
            action = QtGui.QAction(text, self.strip)
            action.triggered.connect(slot)
            self.strip.addAction(action)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.images_banner)
        layout.addWidget(self.link_banner)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.strip)  # under the newest message, which is shown last
        self._tasks: set[asyncio.Future[Any]] = set()
        self._generation = 0
        self._strip_shows: tuple[object, ...] | None = None  # (message id, its attachments)
        self.previews: list[QtWidgets.QDialog] = []
        vm.on_changed(self._show)

    # -- tasks ---------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Wait for thumbnail work started so far (for tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- showing -------------------------------------------------------------------------
    def _show(self) -> None:
        vm = self.vm
        self.browser.set_resources(vm.resources)
        if vm.error:
            self.browser.setPlainText(vm.error)
        else:
            self.browser.setHtml(vm.conversation_html())
        bar = self.browser.verticalScrollBar()
        bar.setValue(bar.maximum())  # newest last: show the end of the conversation
        senders = vm.blocked_senders
        if senders:
            self.images_banner.label.setText(
                f"Remote images from {', '.join(senders)} were blocked to protect your privacy."
            )
        self.images_banner.setVisible(bool(senders))
        warnings = vm.warnings
        if warnings:
            lines = [
                f"⚠ A link shows “{w.shown_domain}” but leads to “{w.target_domain}”."
                for w in warnings[:5]
            ]
            self.link_banner.label.setText("\n".join(lines))
        self.link_banner.setVisible(bool(warnings))
        attachments = vm.attachments
        shown = (vm.current_id, tuple((a.part_id, a.filename, a.size) for a in attachments))
        if shown == self._strip_shows:
            return  # the same message again (a flag changed): keep its thumbnails
        self._strip_shows = shown
        self._generation += 1  # thumbnails still coming for the previous strip are dropped
        self.strip.set_attachments(attachments)
        if attachments:
            self._spawn(self._thumbnails(self._generation, attachments))

    async def _thumbnails(self, generation: int, attachments: list[Attachment]) -> None:
        for i, att in enumerate(attachments):
            try:
                path = await asyncio.to_thread(self.vm.export_for_drag, att)
                png = await asyncio.to_thread(thumbnail_png, att, path, THUMB, self.thumbnailer)
            except (CommError, OSError) as exc:
                self.strip.item(i).setToolTip(f"{att.filename}: {exc}")
                continue
            if generation != self._generation:
                return
            self.strip.set_file(i, path)
            if png:
                self.strip.set_thumbnail(i, png)

    def _allow_images(self) -> None:
        senders = self.vm.blocked_senders
        if senders:
            self._spawn(self.vm.allow_images(senders[0]))

    def _open_link(self, url: QtCore.QUrl) -> None:
        if url.scheme().lower() in _OPENABLE:
            QtGui.QDesktopServices.openUrl(url)

    # -- attachments -------------------------------------------------------------------------
    def _selected(self) -> list[QtWidgets.QListWidgetItem]:
        items = self.strip.selectedItems()
        current = self.strip.currentItem()
        return items or ([current] if current is not None else [])

    def _preview_selected(self) -> None:
        for item in self._selected()[:1]:
            self.preview(item)

    def _open_selected(self) -> None:
        for item in self._selected():
            self._spawn(self._open(item))

    async def _open(self, item: QtWidgets.QListWidgetItem) -> None:
        att = self.strip.attachment_of(item)
        path = await asyncio.to_thread(self.vm.export_for_drag, att)
        QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))

    def _save_selected(self) -> None:
        items = self._selected()
        if not items:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Save attachments to")
        if folder:
            for item in items:
                self._spawn(self.save(item, Path(folder)))

    async def save(self, item: QtWidgets.QListWidgetItem, folder: Path) -> Path:
        path = await self.vm.save_attachment(self.strip.attachment_of(item), folder)
        window = self.window()
        if isinstance(window, QtWidgets.QMainWindow):
            window.statusBar().showMessage(f"Saved {path}", 5000)
        return path

    def preview(self, item: QtWidgets.QListWidgetItem) -> None:
        self._spawn(self._preview(item))

    async def _preview(self, item: QtWidgets.QListWidgetItem) -> None:
        att = self.strip.attachment_of(item)
        path = await asyncio.to_thread(self.vm.export_for_drag, att)
        png = await asyncio.to_thread(thumbnail_png, att, path, PREVIEW, self.thumbnailer)
        dialog = QtWidgets.QDialog(self)
        dialog.setWindowTitle(att.filename)
        dialog.setAccessibleName(f"Preview of {att.filename}")
        layout = QtWidgets.QVBoxLayout(dialog)
        view: QtWidgets.QWidget
        if png:
            label = QtWidgets.QLabel()
            pixmap = QtGui.QPixmap()
            pixmap.loadFromData(png, "PNG")
            label.setPixmap(pixmap)
            view = label
        elif att.content_type.startswith("text/"):
            text = QtWidgets.QPlainTextEdit()
            text.setReadOnly(True)
            data = await asyncio.to_thread(path.read_bytes)
            text.setPlainText(data[:200_000].decode("utf-8", "replace"))
            view = text
        else:
            view = QtWidgets.QLabel(f"No preview for {att.filename}; use Open.")
        view.setAccessibleName(f"Preview of {att.filename}")
        layout.addWidget(view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.previews.append(dialog)
        dialog.finished.connect(lambda _r: self.previews.remove(dialog))
        dialog.show()
