"""Contacts view-model: the unified contacts list, the selected contact and its timeline.

Pure Python (no Qt).  The contacts service is blocking (SQLite), so every call runs in a
worker thread; a new search or selection cancels the one still running; errors from the
core become ``error`` (a readable line), never exceptions into the view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from services.contacts import ContactEntry, ContactsService, TimelineItem
from services.errors import CommError
from services.models import Contact
from services.store import Store

__all__ = ["ContactsViewModel"]

Listener = Callable[[], None]
T = TypeVar("T")


class ContactsViewModel:
    def __init__(self, source: Store | ContactsService, *, timeline_limit: int = 200) -> None:
        self.service = source if isinstance(source, ContactsService) else ContactsService(source)
        self.timeline_limit = timeline_limit
        self.rows: list[ContactEntry] = []
        self.query = ""
        self.selected: ContactEntry | None = None
        self.timeline: list[TimelineItem] = []
        self.duplicates: list[list[ContactEntry]] = []
        self.error: str | None = None
        self.status = ""
        self._rows_listeners: list[Listener] = []
        self._detail_listeners: list[Listener] = []
        self._search: asyncio.Task[None] | None = None
        self._select: asyncio.Task[None] | None = None

    def on_rows_changed(self, listener: Listener) -> None:
        self._rows_listeners.append(listener)

    def on_detail_changed(self, listener: Listener) -> None:
        self._detail_listeners.append(listener)

    @staticmethod
    def _emit(listeners: Sequence[Listener]) -> None:
        for listener in list(listeners):
            listener()

    async def _call(self, fn: Callable[..., T], *args: object) -> T | None:
        try:
            return await asyncio.to_thread(fn, *args)
        except CommError as exc:
            self.error = str(exc)
            self._emit(self._detail_listeners)
            return None

    # ------------------------------------------------------------------ list
    def search(self, text: str) -> asyncio.Task[None]:
        """Filter the list (name or any handle); cancels a search still running."""
        if self._search is not None and not self._search.done():
            self._search.cancel()
        self._search = asyncio.ensure_future(self._run_search(text))
        return self._search

    async def _run_search(self, text: str) -> None:
        found = await self._call(self.service.search, text)
        if found is None:
            return
        self.query = text
        self.rows = found
        self.status = f"{len(found)} contact(s)"
        self._emit(self._rows_listeners)

    async def refresh(self) -> None:
        await self.search(self.query)
        if self.selected is not None:
            await self.select(self.selected.key)

    def row_of(self, key: str) -> int | None:
        return next((i for i, e in enumerate(self.rows) if e.key == key), None)

    # ------------------------------------------------------------------ detail
    def select(self, key: str | None) -> asyncio.Task[None]:
        """Show one contact and its timeline (None clears); cancels a load still running."""
        if self._select is not None and not self._select.done():
            self._select.cancel()
        self._select = asyncio.ensure_future(self._run_select(key))
        return self._select

    async def _run_select(self, key: str | None) -> None:
        if key is None:
            self.selected, self.timeline = None, []
            self._emit(self._detail_listeners)
            return
        entry = await self._call(self.service.get, key)
        if entry is None:
            return
        timeline = await self._call(
            lambda: self.service.timeline(entry.key, limit=self.timeline_limit))
        self.selected, self.timeline = entry, timeline or []
        self.error = None
        self._emit(self._detail_listeners)

    # ------------------------------------------------------------------ editing
    async def save(self, contact: Contact) -> ContactEntry | None:
        """Save an edited contact; on success it is selected and the list refreshed."""
        entry = await self._call(self.service.save, contact)
        if entry is not None:
            self.error = None
            await self.search(self.query)
            await self.select(entry.key)
            self._say(f"Saved {entry.display_name}")
        return entry

    async def merge(self, keys: Sequence[str], name: str | None = None) -> ContactEntry | None:
        entry = await self._call(lambda: self.service.merge(keys, name=name))
        if entry is not None:
            self.error = None
            self.duplicates = [g for g in self.duplicates if not {e.key for e in g} & set(keys)]
            await self.search(self.query)
            await self.select(entry.key)
            self._say(f"Merged {len(keys)} contacts into {entry.display_name}")
        return entry

    async def delete(self, key: str) -> None:
        self.error = None
        if await self._call(self.service.delete, key) is None and self.error:
            return
        await self.search(self.query)
        await self.select(None)
        self._say("Contact removed")

    def _say(self, status: str) -> None:
        self.status = status
        self._emit(self._detail_listeners)

    async def find_duplicates(self) -> list[list[ContactEntry]]:
        groups = await self._call(self.service.duplicates)
        self.duplicates = groups or []
        self.status = (f"{len(self.duplicates)} possible duplicate(s)" if self.duplicates
                       else "No duplicates found")
        self._emit(self._rows_listeners)
        return self.duplicates

    async def close(self) -> None:
        for task in (self._search, self._select):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (self._search, self._select) if t is not None),
                             return_exceptions=True)
