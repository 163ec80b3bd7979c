"""Inbox view-model: a paged, never-fully-loaded message list for a query.

Pure Python (no Qt).  The store is blocking, so every read runs in a worker
thread through ``asyncio.to_thread``.  The list knows its length from
``store.count`` and loads fixed-size pages on demand (keyset pages newest
first, via ``store.page_after``), keeping at most ``max_pages`` of them (LRU).
A search is debounced; a new one cancels the one still running; every
background task is tracked and awaited on :meth:`close`.  Views observe
changes through plain callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.errors import CommError
from services.models import ChannelKind, Flag, Message, SortOrder
from services.query.builder import EmailQuery
from services.store.events import StoreEvent

Listener = Callable[[], None]
RangeListener = Callable[[int, int], None]
NewListener = Callable[[list["MessageRow"]], None]

SORT_KEYS = ("date", "from", "subject", "size")


class MessageStore(Protocol):
    """What the inbox needs from :class:`services.store.Store`."""

    def count(self, query: EmailQuery) -> int: ...
    def page_after(
        self, query: EmailQuery, last_date: int | None, last_id: int | None, n: int
    ) -> list[Message]: ...
    def search(self, query: EmailQuery) -> list[Message]: ...
    def subscribe(self, callback: Callable[[StoreEvent], None]) -> Callable[[], None]: ...
    def delete(self, ids: Sequence[int]) -> int: ...
    def get(self, message_id: int) -> Message: ...


@dataclass(frozen=True, slots=True)
class MessageRow:
    """What one row of the list shows (one message, or one conversation when grouped)."""

    id: int
    channel: ChannelKind
    sender: str
    subject: str
    date: str
    timestamp: int | None
    unread: bool
    flagged: bool
    attachments: int
    account: str = ""
    folder: str = ""
    thread_id: int | None = None
    thread_size: int = 1
    cells: tuple[str, ...] = ()  # the list's text per column, computed once (off the GUI)

    @property
    def accessible_text(self) -> str:
        return f"{'Unread. ' if self.unread else ''}{self.sender}: {self.subject}, {self.date}"

    @classmethod
    def of(cls, m: Message, *, thread_size: int = 1, unread: bool | None = None) -> MessageRow:
        sender = (m.sender.name or m.sender.address) if m.sender else ""
        date = m.date.strftime("%Y-%m-%d %H:%M") if m.date else ""
        subject = m.subject or m.snippet
        unread = m.is_unread if unread is None else unread
        status = ("●" if unread else "") + ("★" if m.is_flagged else "")
        who = sender + (f" ({thread_size})" if thread_size > 1 else "")
        return cls(
            id=m.id or 0,
            channel=m.channel,
            sender=sender,
            subject=subject,
            date=date,
            timestamp=int(m.date.timestamp()) if m.date else None,
            unread=unread,
            flagged=m.is_flagged,
            attachments=sum(1 for a in m.attachments if not a.inline),
            account=m.account,
            folder=m.folder,
            thread_id=m.thread_id,
            thread_size=thread_size,
            cells=(status, "", who, subject, "", date),
        )


def combine(base: str, search: str) -> EmailQuery:
    """The query of a sidebar entry (``base``) narrowed by the search box text."""
    parts = [f"({t})" for t in (base.strip(), search.strip()) if t]
    return EmailQuery.parse(" ".join(parts)) if parts else EmailQuery()


class InboxViewModel:
    def __init__(
        self,
        store: MessageStore,
        *,
        page_size: int = 100,
        max_pages: int = 40,
        debounce: float = 0.25,
        group_window: int = 2000,
        deleter: Callable[[Sequence[int]], int] | None = None,
    ) -> None:
        self._store = store
        # deletes on the messages' servers too (blocking, run in a worker thread);
        # None: from the local store only
        self._deleter = deleter
        self.page_size = page_size
        self.max_pages = max_pages
        self.debounce = debounce
        self.group_window = group_window
        self.base_query = ""
        self.query_text = ""
        self.query = EmailQuery()
        self.sort_key = "date"
        self.sort_order = SortOrder.DESC
        self.grouped = False
        self.count = 0
        self.error: str | None = None
        self.loading = False
        self._generation = 0
        self._pages: OrderedDict[int, list[MessageRow]] = OrderedDict()
        self._last_keys: dict[int, tuple[int | None, int]] = {}
        self._groups: list[MessageRow] = []
        self._touched = -1
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._search_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._about_listeners: list[Listener] = []
        self._reset_listeners: list[Listener] = []
        self._range_listeners: list[RangeListener] = []
        self._status_listeners: list[Listener] = []
        self._new_listeners: list[NewListener] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresh_pending = False

    # -- observers -------------------------------------------------------------------
    def on_about_to_reset(self, listener: Listener) -> None:
        """Called just before the list changes wholesale."""
        self._about_listeners.append(listener)

    def on_reset(self, listener: Listener) -> None:
        """The list changed wholesale (new query, sort, grouping, or count)."""
        self._reset_listeners.append(listener)

    def on_rows_loaded(self, listener: RangeListener) -> None:
        """Rows ``first..last`` (inclusive) now have data."""
        self._range_listeners.append(listener)

    def on_status(self, listener: Listener) -> None:
        """``loading``/``error`` changed."""
        self._status_listeners.append(listener)

    def on_new_messages(self, listener: NewListener) -> None:
        """New unread messages arrived in the store (for notifications)."""
        self._new_listeners.append(listener)

    @staticmethod
    def _emit(listeners: Sequence[Listener]) -> None:
        for listener in list(listeners):
            listener()

    def _track(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- live updates ------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Subscribe to store changes, delivered on ``loop`` (default: the running one)."""
        self._loop = loop or asyncio.get_running_loop()
        if self._unsubscribe is None:
            self._unsubscribe = self._store.subscribe(self._on_store_event)

    def _on_store_event(self, event: StoreEvent) -> None:  # on the store's writer thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing
                loop.call_soon_threadsafe(self._handle_event, event)

    def _handle_event(self, event: StoreEvent) -> None:
        if event.kind == "added" and self._new_listeners:
            self._track(asyncio.ensure_future(self._announce(event.message_ids)))
        if not self._refresh_pending:
            self._refresh_pending = True
            self._track(asyncio.ensure_future(self._refresh_soon()))

    async def _announce(self, ids: tuple[int, ...]) -> None:
        try:
            found = await asyncio.to_thread(self._summaries, ids[:20])
        except CommError:
            return
        fresh = [MessageRow.of(m) for m in found if Flag.SEEN not in m.flags]
        if fresh:
            for listener in list(self._new_listeners):
                listener(fresh)

    def _summaries(self, ids: Sequence[int]) -> list[Message]:
        out: list[Message] = []
        for i in ids:
            with contextlib.suppress(CommError):
                out.append(self._store.get(i))
        return out

    async def _refresh_soon(self) -> None:
        await asyncio.sleep(0.05)  # coalesce a burst of events
        self._refresh_pending = False
        await self._apply(keep_rows=True)

    # -- rows -----------------------------------------------------------------------
    def row(self, index: int) -> MessageRow | None:
        """The row at ``index`` if its page is loaded; otherwise None (and the page is
        requested)."""
        if self.grouped:
            return self._groups[index] if 0 <= index < len(self._groups) else None
        if not 0 <= index < self.count:
            return None
        page_no, offset = divmod(index, self.page_size)
        page = self._pages.get(page_no)
        if page is None:
            self.request_page(page_no)
            return None
        if page_no != self._touched:
            self._touched = page_no
            self._pages.move_to_end(page_no)
        return page[offset] if offset < len(page) else None

    def cached_pages(self) -> list[int]:
        return list(self._pages)

    def request_page(self, page_no: int) -> asyncio.Task[None] | None:
        if page_no in self._pages:
            return None
        task = self._pending.get(page_no)
        if task is not None:
            return task
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        task = self._track(asyncio.ensure_future(self._load_page(page_no, self._generation)))
        self._pending[page_no] = task
        return task

    async def ensure_rows(self, first: int, last: int) -> None:
        """Load every page covering rows ``first..last`` (for tests and prefetching)."""
        if self.grouped:
            return
        last = min(last, self.count - 1)
        tasks = []
        for page_no in range(max(first, 0) // self.page_size, last // self.page_size + 1):
            if page_no in self._pages:
                self._pages.move_to_end(page_no)  # in use: evict others first
            task = self.request_page(page_no)
            if task is not None:
                tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _fetch(self, query: EmailQuery, page_no: int) -> list[Message]:
        n = self.page_size
        if self.sort_key != "date" or self.sort_order != SortOrder.DESC:
            q = query.copy().sort_by(self.sort_key, self.sort_order)
            return self._store.search(q.limit(n).offset(page_no * n))
        if page_no == 0:
            return self._store.page_after(query, None, None, n)
        key = self._last_keys.get(page_no - 1)
        if key is None:  # a jump: find the row just before this page (one indexed row)
            q = query.copy().sort_by("date", SortOrder.DESC).limit(1).offset(page_no * n - 1)
            before = self._store.search(q)
            if not before:
                return []
            m = before[0]
            key = (int(m.date.timestamp()) if m.date else None, m.id or 0)
        return self._store.page_after(query, key[0], key[1], n)

    async def _load_page(self, page_no: int, generation: int) -> None:
        query = self.query
        try:
            messages = await asyncio.to_thread(self._fetch, query, page_no)
        except CommError as exc:
            if generation == self._generation:
                self._set_error(str(exc))
            return
        finally:
            if generation == self._generation:
                self._pending.pop(page_no, None)
        if generation != self._generation:
            return
        rows = [MessageRow.of(m) for m in messages]
        self._pages[page_no] = rows
        if rows:
            self._last_keys[page_no] = (rows[-1].timestamp, rows[-1].id)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        first = page_no * self.page_size
        if rows:
            for listener in list(self._range_listeners):
                listener(first, min(first + len(rows), self.count) - 1)

    # -- searching ---------------------------------------------------------------------
    def search(self, text: str, *, immediate: bool = False) -> asyncio.Task[None]:
        """Search for ``text`` (query syntax) after the debounce delay; a search still
        waiting or running is cancelled."""
        if self._search_task is not None and not self._search_task.done():
            self._search_task.cancel()
        delay = 0.0 if immediate else self.debounce
        task = self._track(asyncio.ensure_future(self._debounced(text, delay)))
        self._search_task = task
        return task

    def set_base_query(self, text: str) -> asyncio.Task[None]:
        """The sidebar's selection (folder, account, saved search)."""
        self.base_query = text
        return self.search(self.query_text, immediate=True)

    def set_sort(self, key: str, order: SortOrder) -> asyncio.Task[None]:
        if key not in SORT_KEYS:
            raise ValueError(f"cannot sort by {key!r}")
        self.sort_key, self.sort_order = key, order
        return self.search(self.query_text, immediate=True)

    def set_grouped(self, grouped: bool) -> asyncio.Task[None]:
        self.grouped = grouped
        return self.search(self.query_text, immediate=True)

    async def _debounced(self, text: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        self.query_text = text
        await self._apply(keep_rows=False)

    async def _apply(self, *, keep_rows: bool) -> None:
        try:
            query = combine(self.base_query, self.query_text)
        except CommError as exc:
            self._set_error(str(exc))
            return
        self.loading = True
        self._emit(self._status_listeners)
        try:
            if self.grouped:
                count, groups = await asyncio.to_thread(self._load_groups, query)
            else:
                count, groups = await asyncio.to_thread(self._store.count, query), []
        except CommError as exc:
            self.loading = False
            self._set_error(str(exc))
            return
        if keep_rows and not self.grouped and count == self.count and query == self.query:
            await self._reload_in_place()
            return
        self._emit(self._about_listeners)
        self._generation += 1
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        self.query, self.count, self._groups = query, count, groups
        self._pages.clear()
        self._last_keys.clear()
        self.error = None
        self.loading = False
        self._emit(self._reset_listeners)
        self._emit(self._status_listeners)
        if not self.grouped and count:
            await self.ensure_rows(0, self.page_size - 1)
        del keep_rows

    async def _reload_in_place(self) -> None:
        """Same rows, changed contents (flags): reload the cached pages, keep the rest."""
        self._generation += 1
        self._pending.clear()
        pages = list(self._pages)
        keep = {p: self._last_keys[p] for p in pages if p in self._last_keys}
        self._last_keys = keep
        self.loading = False
        self._emit(self._status_listeners)
        generation = self._generation
        await asyncio.gather(
            *(self._load_page(p, generation) for p in pages), return_exceptions=True
        )

    def _load_groups(self, query: EmailQuery) -> tuple[int, list[MessageRow]]:
        """Conversations among the newest ``group_window`` matches, newest first."""
        messages = self._store.search(
            query.copy().sort_by("date", SortOrder.DESC).limit(self.group_window)
        )
        order: list[int] = []
        members: dict[int, list[Message]] = {}
        for m in messages:
            key = m.thread_id if m.thread_id is not None else -(m.id or 0)
            if key not in members:
                order.append(key)
                members[key] = []
            members[key].append(m)
        rows = [
            MessageRow.of(
                members[k][0],
                thread_size=len(members[k]),
                unread=any(x.is_unread for x in members[k]),
            )
            for k in order
        ]
        return len(rows), rows

    def _set_error(self, message: str) -> None:
        self.error = message
        self._emit(self._status_listeners)

    # -- actions ---------------------------------------------------------------------------
    async def delete(self, ids: Sequence[int]) -> int:
        """Delete messages (on their server too when a ``deleter`` was given; the list
        refreshes from the store's event)."""
        try:
            n = await asyncio.to_thread(self._deleter or self._store.delete, list(ids))
        except CommError as exc:
            self._set_error(str(exc))
            return 0
        await self._apply(keep_rows=True)
        return n

    async def close(self) -> None:
        """Unsubscribe, then cancel and await every background task."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
