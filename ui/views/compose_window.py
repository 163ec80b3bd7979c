"""The compose window: To/Cc/Bcc with completion, subject, plain or rich text, attachments
(button or dropped files), send with an undo window, send later, drafts saved as you type.

The window holds no message state: every edit goes to :class:`ComposeViewModel`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.models import Address, Message, SendResult
from services.store import Store
from ui.qt import Qt, QtCore, QtGui, QtWidgets
from ui.viewmodels.compose import ComposeViewModel

__all__ = ["ComposeWindow", "SendContext", "open_compose"]

Deliver = Callable[[bytes, str, Sequence[str], str], Awaitable[SendResult]]


@dataclass(frozen=True, slots=True)
class SendContext:
    """Which account writes, as whom, and how its messages leave (the outbox)."""

    account: str
    identity: Address
    deliver: Deliver | None
    note: str = ""


def _human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _local_files(mime: QtCore.QMimeData) -> list[str]:
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]


class _Body(QtWidgets.QTextEdit):
    """The message text; dropped files become attachments instead of text."""

    files_dropped = QtCore.Signal(list)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
        else:
            super().dropEvent(event)


class _AddressField(QtWidgets.QLineEdit):
    """A To/Cc/Bcc field completing the address being typed from the contacts."""

    def __init__(self, vm: ComposeViewModel, name: str) -> None:
        super().__init__()
        self._vm = vm
        self.setObjectName(f"{name}Field")
        self.setAccessibleName(name.title())
        self.setPlaceholderText("Name or address, separated by commas")
        self.suggestions = QtCore.QStringListModel(self)
        self.completer_ = QtWidgets.QCompleter(self.suggestions, self)
        self.completer_.setWidget(self)
        self.completer_.setCompletionMode(
            QtWidgets.QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.activated.connect(self.insert_completion)
        self.textEdited.connect(self._lookup)
        self._task: asyncio.Future[None] | None = None

    def current_piece(self) -> str:
        return self.text().rpartition(",")[2].strip()

    def _lookup(self, _text: str) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self.refresh_suggestions())

    async def refresh_suggestions(self) -> None:
        found = await self._vm.complete(self.current_piece())
        self.suggestions.setStringList(found)
        if found and self.hasFocus():
            self.completer_.complete()

    def insert_completion(self, text: str) -> None:
        head = self.text().rpartition(",")[0]
        self.setText(f"{head.strip()}, {text}, " if head.strip() else f"{text}, ")
        self.textEdited.emit(self.text())


class ComposeWindow(QtWidgets.QWidget):
    def __init__(self, vm: ComposeViewModel, *, note: str = "",
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.vm = vm
        self.setObjectName("composeWindow")
        self.setWindowTitle(vm.subject or "New message")
        self.setAcceptDrops(True)
        self.resize(760, 620)
        layout = QtWidgets.QVBoxLayout(self)
        self.banner = QtWidgets.QLabel(note)
        self.banner.setObjectName("demoBanner")
        self.banner.setStyleSheet(
            "QLabel { background: #fff4ce; color: #5c4400; padding: 6px; border-radius: 4px; }")
        self.banner.setWordWrap(True)
        self.banner.setVisible(bool(note))
        layout.addWidget(self.banner)

        form = QtWidgets.QFormLayout()
        me = vm.identity
        form.addRow("From:", QtWidgets.QLabel(
            f"{me.name} <{me.address}>" if me.name else me.address))
        self.to_field = _AddressField(vm, "to")
        self.cc_field = _AddressField(vm, "cc")
        self.bcc_field = _AddressField(vm, "bcc")
        self.subject_field = QtWidgets.QLineEdit()
        self.subject_field.setAccessibleName("Subject")
        for label, w in (("To:", self.to_field), ("Cc:", self.cc_field),
                         ("Bcc:", self.bcc_field), ("Subject:", self.subject_field)):
            form.addRow(label, w)
        layout.addLayout(form)

        tools = QtWidgets.QHBoxLayout()
        self.rich_box = QtWidgets.QCheckBox("Rich text")
        self.bold_button = QtWidgets.QToolButton()
        self.bold_button.setText("B")
        self.bold_button.setCheckable(True)
        self.bold_button.setToolTip("Bold")
        self.italic_button = QtWidgets.QToolButton()
        self.italic_button.setText("I")
        self.italic_button.setCheckable(True)
        self.italic_button.setToolTip("Italic")
        self.attach_button = QtWidgets.QPushButton("Attach…")
        tools.addWidget(self.rich_box)
        tools.addWidget(self.bold_button)
        tools.addWidget(self.italic_button)
        tools.addStretch(1)
        tools.addWidget(self.attach_button)
        layout.addLayout(tools)

        self.body = _Body()
        self.body.setObjectName("composeBody")
        self.body.setAccessibleName("Message text")
        self.body.setAcceptRichText(False)
        layout.addWidget(self.body, 1)

        self.attachment_list = QtWidgets.QListWidget()
        self.attachment_list.setObjectName("attachmentList")
        self.attachment_list.setAccessibleName("Attachments")
        self.attachment_list.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.attachment_list.setWrapping(True)
        self.attachment_list.setMaximumHeight(44)
        self.attachment_list.setSpacing(2)
        self._file_icon = self.style().standardIcon(
            QtWidgets.QStyle.StandardPixmap.SP_FileIcon)
        self.attachment_list.setToolTip("Drop files here or anywhere on the window; Del removes")
        layout.addWidget(self.attachment_list)

        bottom = QtWidgets.QHBoxLayout()
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setObjectName("composeStatus")
        self.undo_button = QtWidgets.QPushButton("Undo")
        self.undo_button.setVisible(False)
        self.draft_button = QtWidgets.QPushButton("Save draft")
        self.later_button = QtWidgets.QPushButton("Send later…")
        self.send_button = QtWidgets.QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setEnabled(vm.can_send)
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.undo_button)
        bottom.addWidget(self.draft_button)
        bottom.addWidget(self.later_button)
        bottom.addWidget(self.send_button)
        layout.addLayout(bottom)

        self._later: asyncio.Future[bool] | None = None
        self._closing = False
        self._load_from_vm()
        self.to_field.textChanged.connect(lambda t: vm.set(to=t))
        self.cc_field.textChanged.connect(lambda t: vm.set(cc=t))
        self.bcc_field.textChanged.connect(lambda t: vm.set(bcc=t))
        self.subject_field.textChanged.connect(self._subject_changed)
        self.body.textChanged.connect(self._body_changed)
        self.body.files_dropped.connect(self.attach_files)
        self.rich_box.toggled.connect(self._rich_toggled)
        self.bold_button.toggled.connect(
            lambda on: self.body.setFontWeight(QtGui.QFont.Weight.Bold if on
                                               else QtGui.QFont.Weight.Normal))
        self.italic_button.toggled.connect(self.body.setFontItalic)
        self.attach_button.clicked.connect(self.choose_files)
        self.send_button.clicked.connect(self.send)
        self.undo_button.clicked.connect(vm.undo)
        self.draft_button.clicked.connect(self.save_draft)
        self.later_button.clicked.connect(self.choose_send_later)
        QtGui.QShortcut(QtGui.QKeySequence.StandardKey.Delete, self.attachment_list,
                        self.remove_selected_attachment)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # send from anywhere in the window
            send = QtGui.QShortcut(QtGui.QKeySequence(keys), self, self._send_if_ready)
            send.setContext(Qt.ShortcutContext.WindowShortcut)
        vm.on_changed(self._refresh)
        self._refresh()
        # a new message starts at To; a reply or forward (To filled in) at the text
        (self.to_field if not vm.to else self.body).setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ vm → widgets
    def _load_from_vm(self) -> None:
        vm = self.vm
        self.to_field.setText(vm.to)
        self.cc_field.setText(vm.cc)
        self.bcc_field.setText(vm.bcc)
        self.subject_field.setText(vm.subject)
        self.rich_box.setChecked(vm.rich)
        self.body.setAcceptRichText(vm.rich)
        if vm.rich and vm.html:
            self.body.setHtml(vm.html)
        else:
            self.body.setPlainText(vm.body)
        self._rich_tools(vm.rich)

    def _rich_tools(self, on: bool) -> None:
        self.bold_button.setVisible(on)
        self.italic_button.setVisible(on)

    def _refresh(self) -> None:
        vm = self.vm
        if self.attachment_list.count() != len(vm.attachments) or any(
            self.attachment_list.item(i).data(Qt.ItemDataRole.UserRole) != a.name
            for i, a in enumerate(vm.attachments)
        ):
            self.attachment_list.clear()
            for a in vm.attachments:
                label = f"{a.name} ({_human_size(a.size)})"
                item = QtWidgets.QListWidgetItem(self._file_icon, label)
                item.setData(Qt.ItemDataRole.UserRole, a.name)
                item.setToolTip(a.content_type)
                self.attachment_list.addItem(item)
        self.attachment_list.setVisible(bool(vm.attachments))
        text = vm.error or vm.status
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #b00020;" if vm.error else "")
        pending = vm.state == "pending"
        self.undo_button.setVisible(pending)
        editable = vm.state in ("editing", "failed")
        for w in (self.send_button, self.later_button, self.draft_button):
            w.setEnabled(editable and (w is not self.send_button or vm.can_send))
        if vm.state in ("sent", "scheduled") and not self._closing:
            self._closing = True
            QtCore.QTimer.singleShot(1200, self.close)

    # ------------------------------------------------------------------ widgets → vm
    def _subject_changed(self, text: str) -> None:
        self.vm.set(subject=text)
        self.setWindowTitle(text or "New message")

    def _body_changed(self) -> None:
        rich = self.rich_box.isChecked()
        self.vm.set(body=self.body.toPlainText(), html=self.body.toHtml() if rich else None)

    def _rich_toggled(self, on: bool) -> None:
        self.body.setAcceptRichText(on)
        self._rich_tools(on)
        if not on:
            self.body.setPlainText(self.body.toPlainText())
        self.vm.set(rich=on, html=self.body.toHtml() if on else None)

    def attach_files(self, paths: list[str]) -> None:
        errors = self.vm.attach_paths(paths)
        if errors:
            self.vm.error = "; ".join(errors)
            self._refresh()

    def choose_files(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Attach files")
        if paths:
            self.attach_files(paths)

    def remove_selected_attachment(self) -> None:
        row = self.attachment_list.currentRow()
        if row >= 0:
            self.vm.remove_attachment(row)

    def send(self) -> asyncio.Task[None] | None:
        return self.vm.send()

    def _send_if_ready(self) -> None:
        if self.send_button.isEnabled():
            self.send()

    def save_draft(self) -> asyncio.Future[bool]:
        return asyncio.ensure_future(self.vm.save_draft(force=True))

    def choose_send_later(self) -> None:
        dialog = QtWidgets.QDialog(self)
        dialog.setWindowTitle("Send later")
        box = QtWidgets.QVBoxLayout(dialog)
        picker = QtWidgets.QDateTimeEdit(QtCore.QDateTime.currentDateTime().addSecs(3600))
        picker.setCalendarPopup(True)
        picker.setMinimumDateTime(QtCore.QDateTime.currentDateTime())
        box.addWidget(QtWidgets.QLabel("Send this message at:"))
        box.addWidget(picker)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        box.addWidget(buttons)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            when = picker.dateTime().toPython()
            assert isinstance(when, datetime)
            self._later = asyncio.ensure_future(self.vm.send_later(when.astimezone()))

    # ------------------------------------------------------------------ window-level drops
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.attach_files(files)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.vm.start_autosave()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.vm.stop_autosave()
        self.vm.save_draft_now()  # blocking and quick: nothing typed is lost on close
        super().closeEvent(event)


def open_compose(store: Store, mode: str, message: Message | None, *,
                 send: SendContext | None = None, contacts: Any = None,
                 raw: bytes | None = None) -> ComposeWindow:
    """Open a compose window: ``mode`` is new, reply, reply-all or forward."""
    if send is None:
        accounts = [a for a in store.accounts() if a.address and "@" in a.address]
        account = accounts[0] if accounts else None
        send = SendContext(account.name if account else "local",
                           Address(account.address if account else "me@localhost"), None)
    if contacts is None:
        from services.contacts import ContactsService

        contacts = ContactsService(store)
    vm = ComposeViewModel(store=store, account=send.account, identity=send.identity,
                          deliver=send.deliver, contacts=contacts)
    if message is not None and mode in ("reply", "reply-all"):
        vm.reply_to(message, everyone=mode == "reply-all")
    elif message is not None and mode == "forward":
        if raw is None and message.id is not None:
            raw = store.raw(message.id)
        vm.forward(message, raw=raw)
    window = ComposeWindow(vm, note=send.note)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    return window
