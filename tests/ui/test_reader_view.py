"""The reading pane offscreen: drag an attachment out as a real file, preview, safety."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from services.query.builder import EmailQuery
from services.store import Store
from tests.ui.inbox_stores import mail_store, pdf_bytes, png_bytes
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.viewmodels.reader import ReaderViewModel, SenderPrefs
from ui.views.reader_view import ReaderView


class FolderDropTarget(QtWidgets.QWidget):
    """What a file manager does with a drop of ``file://`` URLs: copy into its folder."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.setAcceptDrops(True)
        self.received: list[Path] = []

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        for url in event.mimeData().urls():
            source = Path(url.toLocalFile())
            self.received.append(Path(shutil.copy(source, self.folder / source.name)))
        event.acceptProposedAction()


def deliver(mime: QtCore.QMimeData, target: QtWidgets.QWidget) -> bool:
    pos = QtCore.QPointF(5, 5)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QtWidgets.QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QtGui.QDropEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QtWidgets.QApplication.sendEvent(target, drop)
    return drop.isAccepted()


@pytest.fixture
def pane(qtbot: Any, qloop: asyncio.AbstractEventLoop,
         tmp_path: Path) -> Iterator[tuple[ReaderView, Store]]:
    store = mail_store(tmp_path / "mail.sqlite3")
    vm = ReaderViewModel(store, SenderPrefs(tmp_path / "senders.json"),
                         scratch_dir=tmp_path / "scratch", fetch=None)
    view = ReaderView(vm)
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    target = store.search(EmailQuery.parse("filename:report.pdf"))[0].id
    qloop.run_until_complete(vm.open(target or 0))
    qloop.run_until_complete(view.wait_idle())
    yield view, store
    qloop.run_until_complete(view.close_tasks())
    qloop.run_until_complete(vm.close())
    store.close()


def test_drag_out_delivers_real_files_with_the_right_bytes(
    pane: tuple[ReaderView, Store], tmp_path: Path
) -> None:
    view, _store = pane
    strip = view.strip
    assert strip.dragEnabled() and "text/uri-list" in strip.mimeTypes()
    assert strip.supportedDragActions() == Qt.DropAction.CopyAction
    items = [strip.item(i) for i in range(strip.count())]
    by_name = {strip.attachment_of(i).filename: i for i in items}
    mime = strip.mimeData([by_name["report.pdf"], by_name["chart.png"]])
    urls = mime.urls()
    assert [u.isLocalFile() for u in urls] == [True, True]
    scratch = (tmp_path / "scratch").resolve()
    assert all(scratch in Path(u.toLocalFile()).resolve().parents for u in urls)
    folder = tmp_path / "Desktop"
    folder.mkdir()
    target = FolderDropTarget(folder)
    assert deliver(mime, target)
    assert (folder / "report.pdf").read_bytes() == pdf_bytes()
    assert (folder / "chart.png").read_bytes() == png_bytes()
    # a hostile name arrives as a plain file inside the target, nowhere else
    mime = strip.mimeData([by_name["notes.txt"]])
    assert deliver(mime, target)
    assert (folder / "notes.txt").read_bytes() == b"line one\nline two\n"
    assert sorted(p.name for p in folder.iterdir()) == ["chart.png", "notes.txt", "report.pdf"]


def test_drag_before_thumbnails_writes_the_file_on_demand(
    pane: tuple[ReaderView, Store], tmp_path: Path
) -> None:
    view, _store = pane
    strip = view.strip
    item = strip.item(0)
    item.setData(Qt.ItemDataRole.UserRole + 1, None)  # as if the worker had not run yet
    [url] = strip.mimeData([item]).urls()
    assert Path(url.toLocalFile()).read_bytes() == png_bytes()


def test_preview_opens_a_dialog_with_the_image(
    pane: tuple[ReaderView, Store], qloop: asyncio.AbstractEventLoop
) -> None:
    view, _store = pane
    item = next(view.strip.item(i) for i in range(view.strip.count())
                if view.strip.attachment_of(view.strip.item(i)).filename == "report.pdf")
    view.strip.itemActivated.emit(item)
    qloop.run_until_complete(view.wait_idle())
    [dialog] = view.previews
    label = dialog.findChild(QtWidgets.QLabel)
    assert label is not None and not label.pixmap().isNull()
    assert max(label.pixmap().width(), label.pixmap().height()) == 720
    assert dialog.windowTitle() == "report.pdf"
    dialog.close()


def test_browser_loads_no_resource_it_was_not_given(pane: tuple[ReaderView, Store]) -> None:
    view, _store = pane
    kind = QtGui.QTextDocument.ResourceType.ImageResource.value
    assert view.browser.loadResource(kind, QtCore.QUrl("file:///etc/hostname")) is None
    assert view.browser.loadResource(kind, QtCore.QUrl("https://tracker.example/x.png")) is None
    assert not view.browser.openLinks()


def test_thumbnail_fallbacks_render_images_and_pdf_pages(tmp_path: Path) -> None:
    from services.models import Attachment
    from ui.widgets.thumbnails import image_png, pdf_png, thumbnail_png

    png = image_png(png_bytes(400, 100), 96)
    assert png is not None
    image = QtGui.QImage.fromData(png)
    assert (image.width(), image.height()) == (96, 24)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(pdf_bytes())
    page = QtGui.QImage.fromData(pdf_png(pdf, 96) or b"")
    assert page.height() == 96 and page.pixelColor(48, 48).blue() > 150
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    assert pdf_png(broken, 96) is None
    assert image_png(b"not an image", 96) is None
    text = Attachment("a.txt", "text/plain", 3, _data=b"abc")
    assert thumbnail_png(text, tmp_path / "a.txt", 96) is None


def test_thumbnails_through_the_attachment_manager(tmp_path: Path) -> None:
    attachments = pytest.importorskip("services.attachments")
    from services.models import Attachment
    from ui.widgets.thumbnails import thumbnail_png

    att = Attachment("chart.png", "image/png", 0, _data=png_bytes(200, 100))
    path = tmp_path / "chart.png"
    path.write_bytes(png_bytes(200, 100))
    with attachments.AttachmentManager() as manager:
        png = thumbnail_png(att, path, 64, manager)
    image = QtGui.QImage.fromData(png or b"")
    assert (image.width(), image.height()) == (64, 32)
