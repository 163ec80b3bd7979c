"""Compose view-model: a message being written (pure Python, no Qt).

Fields are plain attributes set by the view (``set``); the message is built with
:class:`services.compose.ComposeBuilder` under one Message-ID for its whole life, so
every autosaved draft replaces the previous one in the outbox (status ``draft``) and
sending replaces the draft with the queued message.  Nothing typed is ever lost: a draft
keeps even recipients that do not parse yet (in an ``X-Commhub-Draft`` header).

``send()`` opens an undo window (``undo_seconds``): the message is handed to ``deliver``
(the outbox) only when the window closes; ``undo()`` inside it returns to editing.
``send_later(when)`` queues the message in the outbox with ``next_attempt = when``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Literal, Protocol

from services.compose import ComposeBuilder
from services.compose.addresses import to_addresses
from services.errors import CommError, ValidationError
from services.mime.parse import attachment_bytes, parse_message
from services.models import Address, Message, SendResult
from services.store import Store
from services.store import outbox as outbox_rows

__all__ = ["ComposeViewModel", "Deliver", "DraftAttachment", "State", "display_address"]

Deliver = Callable[[bytes, str, Sequence[str], str], Awaitable[SendResult]]
State = Literal["editing", "pending", "sending", "sent", "scheduled", "failed"]
Listener = Callable[[], None]
_DRAFT_HEADER = b"X-Commhub-Draft"
_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')  # a comma outside quotes
_FIELDS = ("to", "cc", "bcc", "subject", "body", "html", "rich")


class Completer(Protocol):
    def complete(self, prefix: str, *, limit: int = 10) -> list[Address]: ...


@dataclass(frozen=True, slots=True)
class DraftAttachment:
    name: str
    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data)


class _Builder(ComposeBuilder):
    """The builder with this draft's fixed Message-ID and threading headers."""

    def __init__(self, message_id: str, in_reply_to: str | None, references: tuple[str, ...],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._message_id = message_id
        self._in_reply_to = in_reply_to
        self._references = references


def display_address(a: Address) -> str:
    """``Name <address>`` as a person types it (non-ASCII names stay readable)."""
    if not a.name:
        return a.address
    name = a.name.replace('"', "'")
    if any(c in name for c in ',;<>@:()[]\\.'):
        name = f'"{name}"'
    return f"{name} <{a.address}>"


def _split(text: str) -> tuple[list[Address], list[str]]:
    """Addresses of a To/Cc field, and the pieces that are not addresses (yet)."""
    good: list[Address] = []
    bad: list[str] = []
    for piece in (p.strip() for p in _COMMA.split(text.replace(";", ","))):
        if not piece:
            continue
        try:
            good.extend(to_addresses(piece))
        except ValidationError:
            bad.append(piece)
    return good, bad


class ComposeViewModel:
    def __init__(
        self,
        *,
        store: Store,
        account: str,
        identity: Address,
        deliver: Deliver | None,
        contacts: Completer | None = None,
        undo_seconds: float = 5.0,
        autosave_seconds: float = 5.0,
        message_id: str | None = None,
    ) -> None:
        self.store = store
        self.account = account
        self.identity = identity
        self._deliver = deliver
        self._contacts = contacts
        self.undo_seconds = undo_seconds
        self.autosave_seconds = autosave_seconds
        domain = identity.address.rpartition("@")[2] or "localhost"
        self.message_id = message_id or make_msgid(domain=domain).strip("<>")
        self.to = self.cc = self.bcc = self.subject = self.body = ""
        self.html: str | None = None
        self.rich = False
        self.attachments: list[DraftAttachment] = []
        self.in_reply_to: str | None = None
        self.references: tuple[str, ...] = ()
        self.state: State = "editing"
        self.status = ""
        self.error: str | None = None
        self.result: SendResult | None = None
        self.dirty = False
        self.drafts_saved = 0
        self.scheduled_for: datetime | None = None
        self._listeners: list[Listener] = []
        self._send_task: asyncio.Task[None] | None = None
        self._autosave_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ observing
    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self) -> None:
        for listener in list(self._listeners):
            listener()

    # ------------------------------------------------------------------ editing
    def set(self, **fields: Any) -> None:
        """Change fields (to, cc, bcc, subject, body, html, rich)."""
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise TypeError(f"unknown compose field(s): {', '.join(sorted(unknown))}")
        for name, value in fields.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                self.dirty = True
        self._emit()

    def attach_paths(self, paths: Iterable[str | Path]) -> list[str]:
        """Attach files; returns a readable error per file that could not be attached."""
        errors: list[str] = []
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                errors.append(f"{path.name or path}: not a file")
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                errors.append(f"{path.name}: {exc.strerror or exc}")
                continue
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.attachments.append(DraftAttachment(path.name, data, ctype))
            self.dirty = True
        self._emit()
        return errors

    def remove_attachment(self, index: int) -> None:
        del self.attachments[index]
        self.dirty = True
        self._emit()

    async def complete(self, prefix: str, *, limit: int = 8) -> list[str]:
        """Suggestions (``Name <address>``) for the last address being typed in a field."""
        if self._contacts is None or not prefix.strip():
            return []
        found = await asyncio.to_thread(self._contacts.complete, prefix.strip(), limit=limit)
        return [display_address(a) for a in found]

    # ------------------------------------------------------------------ building
    def _builder(self, *, draft: bool) -> _Builder:
        b = _Builder(self.message_id, self.in_reply_to, self.references, identity=self.identity)
        for field_name, add in (("to", b.to), ("cc", b.cc), ("bcc", b.bcc)):
            good, bad = _split(getattr(self, field_name))
            if bad and not draft:
                raise ValidationError(f"{field_name.title()}: not an address: {bad[0]!r}")
            if good:
                add(good)
        b.subject(" ".join(self.subject.splitlines()))
        b.body(self.body)
        if self.rich and self.html:
            b.html(self.html)
        for a in self.attachments:
            b.attach((a.name, a.data, a.content_type))
        return b

    def build(self, *, draft: bool = False) -> tuple[bytes, str, tuple[str, ...]]:
        """``(raw, sender, recipients)``; a draft carries the raw field texts as well."""
        b = self._builder(draft=draft)
        raw = b.build(draft=draft)
        if draft:
            state = {k: getattr(self, k) for k in ("to", "cc", "bcc", "rich")}
            blob = base64.b64encode(json.dumps(state).encode()).decode("ascii")
            raw = _DRAFT_HEADER + b": " + blob.encode() + b"\r\n" + raw
        return raw, self.identity.address, b.recipients()

    @property
    def can_send(self) -> bool:
        return self._deliver is not None

    @property
    def empty(self) -> bool:
        return not any((self.to.strip(), self.cc.strip(), self.bcc.strip(),
                        self.subject.strip(), self.body.strip(), self.attachments))

    # ------------------------------------------------------------------ drafts
    def _draft_due(self, force: bool) -> bool:
        return (self.state in ("editing", "failed") and (self.dirty or force)
                and not self.empty)

    def _saved(self) -> None:
        self.drafts_saved += 1
        self.status = f"Draft saved {time.strftime('%H:%M:%S')}"
        self._emit()

    async def save_draft(self, *, force: bool = False) -> bool:
        """Persist the draft if something changed; True when a draft was written."""
        if not self._draft_due(force):
            return False
        self.dirty = False
        try:
            raw, sender, rcpts = self.build(draft=True)
            await asyncio.to_thread(outbox_rows.save_draft, self.store, self.account, raw,
                                    sender, rcpts, self.message_id)
        except CommError as exc:
            self.dirty = True
            self.error = f"draft not saved: {exc}"
            self._emit()
            return False
        self._saved()
        return True

    def save_draft_now(self) -> bool:
        """The same, blocking (a window closing cannot wait for the loop)."""
        if not self._draft_due(False):
            return False
        try:
            raw, sender, rcpts = self.build(draft=True)
            outbox_rows.save_draft(self.store, self.account, raw, sender, rcpts, self.message_id)
        except CommError as exc:
            self.error = f"draft not saved: {exc}"
            self._emit()
            return False
        self.dirty = False
        self._saved()
        return True

    def stop_autosave(self) -> None:
        if self._autosave_task is not None:
            self._autosave_task.cancel()

    def start_autosave(self) -> None:
        """Save the draft every ``autosave_seconds`` while something changed."""
        if self._autosave_task is None or self._autosave_task.done():
            self._autosave_task = asyncio.ensure_future(self._autosave())

    async def _autosave(self) -> None:
        while self.state in ("editing", "failed", "pending"):
            await asyncio.sleep(self.autosave_seconds)
            await self.save_draft()

    # ------------------------------------------------------------------ sending
    def send(self) -> asyncio.Task[None] | None:
        """Start the undo window; None (and ``error`` set) if the message cannot be sent."""
        if self.state not in ("editing", "failed"):
            return None
        if self._deliver is None:
            self.error = "this account cannot send"
            self._emit()
            return None
        try:
            raw, sender, rcpts = self.build()
        except CommError as exc:
            self.error = str(exc)
            self._emit()
            return None
        self.error = None
        self.dirty = True
        self.save_draft_now()  # a crash inside the undo window still leaves the draft
        self.state = "pending"
        self.status = f"Sending in {self.undo_seconds:.0f} s… Undo"
        self._emit()
        self._send_task = asyncio.ensure_future(self._send_after_window(raw, sender, rcpts))
        return self._send_task

    def undo(self) -> bool:
        """Cancel a send still in its undo window; True if it was cancelled."""
        if self.state != "pending" or self._send_task is None:
            return False
        self._send_task.cancel()
        self.state = "editing"
        self.status = "Sending cancelled"
        self.dirty = True
        self._emit()
        return True

    async def _send_after_window(self, raw: bytes, sender: str, rcpts: tuple[str, ...]) -> None:
        await asyncio.sleep(self.undo_seconds)
        assert self._deliver is not None
        self.state = "sending"
        self.status = "Sending…"
        self._emit()
        try:
            result = await self._deliver(raw, sender, rcpts, self.message_id)
        except CommError as exc:
            result = SendResult.failed(str(exc), message_id=self.message_id)
        self.result = result
        self.state = "sent" if result.success else "failed"
        self.error = None if result.success else result.error
        self.status = "Sent" if result.success else f"Not sent: {result.error}"
        self._emit()

    async def send_later(self, when: datetime) -> bool:
        """Queue the message in the outbox to go at ``when`` (a scheduled outbox row)."""
        if self.state not in ("editing", "failed"):
            return False
        try:
            raw, sender, rcpts = self.build()
            stamp = when.timestamp()
            if stamp <= time.time():
                raise ValidationError("choose a time in the future")
            await asyncio.to_thread(outbox_rows.enqueue, self.store, self.account, raw, sender,
                                    rcpts, self.message_id, now=stamp)
        except CommError as exc:
            self.error = str(exc)
            self._emit()
            return False
        self.state = "scheduled"
        self.scheduled_for = when
        self.status = f"Scheduled for {when:%Y-%m-%d %H:%M}"
        self.error = None
        self._emit()
        return True

    async def close(self) -> None:
        """Stop autosaving and keep what was typed (a pending send goes ahead)."""
        if self._autosave_task is not None:
            self._autosave_task.cancel()
            await asyncio.gather(self._autosave_task, return_exceptions=True)
        if self.state == "pending" and self._send_task is not None:
            await asyncio.gather(self._send_task, return_exceptions=True)
        await self.save_draft()

    # ------------------------------------------------------------------ prefilling
    def _prefill_from_raw(self, raw: bytes) -> None:
        head, _, _ = raw.partition(b"\r\n\r\n")
        fields: dict[str, Any] = {}
        for line in head.split(b"\r\n"):
            if line.startswith(_DRAFT_HEADER + b":"):
                fields = json.loads(base64.b64decode(line.split(b":", 1)[1].strip()))
        m = parse_message(raw)
        self.to = fields.get("to", ", ".join(display_address(a) for a in m.to))
        self.cc = fields.get("cc", ", ".join(display_address(a) for a in m.cc))
        self.bcc = fields.get("bcc", ", ".join(display_address(a) for a in m.bcc))
        self.rich = bool(fields.get("rich", m.body_html is not None))
        self.subject = m.subject
        self.body = m.body_text.rstrip("\n") + ("\n" if m.body_text.strip() else "")
        self.html = m.body_html if self.rich else None
        self.in_reply_to = m.in_reply_to.strip("<>") if m.in_reply_to else None
        self.references = tuple(r.strip("<>") for r in m.references)
        self.attachments = [
            DraftAttachment(a.filename, attachment_bytes(raw, a.part_id), a.content_type)
            for a in m.attachments if a.part_id and not a.inline
        ]

    def _prefill_with(self, apply: Callable[[ComposeBuilder], object]) -> None:
        b = ComposeBuilder(identity=self.identity)
        apply(b)
        self._prefill_from_raw(b.build(draft=True))
        self.dirty = False
        self._emit()

    def reply_to(self, message: Message, *, everyone: bool = False) -> None:
        """Prefill as a reply (or reply-all) to ``message``: recipients, subject, quote."""
        if everyone:
            self._prefill_with(lambda b: b.reply_all(message, me=self.identity.address))
        else:
            self._prefill_with(lambda b: b.reply(message))

    def forward(self, message: Message, raw: bytes | None = None) -> None:
        """Prefill as a forward of ``message`` (text and attachments; ``raw``: its bytes)."""
        self._prefill_with(lambda b: b.forward(message, raw=raw))

    @classmethod
    def open_draft(cls, store: Store, message_id: str, **kwargs: Any) -> ComposeViewModel:
        """Continue a draft saved in the outbox."""
        item = outbox_rows.get(store, message_id)
        if item.status != "draft":
            raise ValidationError(f"{message_id} is {item.status}, not a draft")
        vm = cls(store=store, account=item.account, message_id=item.message_id, **kwargs)
        vm._prefill_from_raw(outbox_rows.load_raw(store, item))
        return vm
