"""Inbox view-model: the message list for a query, and the message being read.

Pure Python (no Qt): the store is blocking, so every load runs in a worker thread
through ``asyncio.to_thread``; a new search cancels the one still running; every
background task is tracked and awaited on ``close``.  Views observe changes via
plain callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from services.errors import CommError
from services.models import ChannelKind, Message
from services.query.builder import EmailQuery

Listener = Callable[[], None]


class MessageSource(Protocol):
    def search(self, query: EmailQuery) -> list[Message]: ...
    def get(self, message_id: int) -> Message: ...


@dataclass(frozen=True, slots=True)
class MessageRow:
    """What one row of the list shows."""

    id: int
    channel: ChannelKind
    sender: str
    subject: str
    date: str
    unread: bool
    flagged: bool
    attachments: int

    @classmethod
    def of(cls, m: Message) -> MessageRow:
        sender = (m.sender.name or m.sender.address) if m.sender else ""
        subject = m.subject or m.snippet
        return cls(
            id=m.id or 0,
            channel=m.channel,
            sender=sender,
            subject=subject,
            date=m.date.strftime("%Y-%m-%d %H:%M") if m.date else "",
            unread=m.is_unread,
            flagged=m.is_flagged,
            attachments=len(m.attachments),
        )


class InboxViewModel:
    def __init__(self, source: MessageSource, *, page_size: int = 500) -> None:
        self._source = source
        self.page_size = page_size
        self.rows: list[MessageRow] = []
        self.query_text = ""
        self.error: str | None = None
        self.current: Message | None = None
        self.loading = False
        self._rows_listeners: list[Listener] = []
        self._reader_listeners: list[Listener] = []
        self._search_task: asyncio.Task[None] | None = None
        self._open_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def on_rows_changed(self, listener: Listener) -> None:
        self._rows_listeners.append(listener)

    def on_reader_changed(self, listener: Listener) -> None:
        self._reader_listeners.append(listener)

    def _emit(self, listeners: list[Listener]) -> None:
        for listener in listeners:
            listener()

    def _track(self, coro: asyncio.Future[None] | asyncio.Task[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def search(self, text: str) -> asyncio.Task[None]:
        """Start a search; the one still running, if any, is cancelled."""
        if self._search_task is not None and not self._search_task.done():
            self._search_task.cancel()
        task = asyncio.ensure_future(self._run_search(text))
        self._search_task = task
        self._track(task)
        return task

    async def _run_search(self, text: str) -> None:
        self.query_text = text
        self.loading = True
        try:
            query = EmailQuery.parse(text) if text.strip() else EmailQuery()
            query.limit(self.page_size)
            messages = await asyncio.to_thread(self._source.search, query)
        except CommError as exc:
            self.error = str(exc)
            self.loading = False
            self._emit(self._rows_listeners)
            return
        self.error = None
        self.rows = [MessageRow.of(m) for m in messages]
        self.loading = False
        self._emit(self._rows_listeners)

    def open(self, row: int) -> asyncio.Task[None]:
        """Load the message of ``row`` into the reader; cancels a load still running."""
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        message_id = self.rows[row].id
        task = asyncio.ensure_future(self._run_open(message_id))
        self._open_task = task
        self._track(task)
        return task

    async def _run_open(self, message_id: int) -> None:
        try:
            self.current = await asyncio.to_thread(self._source.get, message_id)
        except CommError as exc:
            self.error = str(exc)
            self.current = None
        self._emit(self._reader_listeners)

    async def close(self) -> None:
        """Cancel and await every background task."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
