"""Keeps the server accounts in sync while the window is open (pure Python, no Qt).

One sync per account when started, then again every ``interval`` seconds.  The blocking
sync (the spec's face: ``comm.account(name).sync(progress)``) runs in a worker thread; its
progress callbacks arrive on that thread and are handed to the event loop before anything
changes here, so listeners (the status bar) always run on the loop's thread.  Errors are
kept per account and shown, never raised; a sync still running is cancelled by ``close``
(the worker finishes its current batch: the store never sees half a batch).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.errors import CommError

Listener = Callable[[], None]
Progress = Callable[[int, int | None], None]
SyncFn = Callable[[str, Progress], Any]  # blocking; returns a report with .added


@dataclass(frozen=True, slots=True)
class SyncState:
    account: str | None = None  # the account syncing now (None: idle)
    done: int = 0
    total: int | None = None
    last_added: int = 0  # messages the last round brought in, all accounts
    last_finished: float | None = None  # time.time() of the last finished round


class SyncViewModel:
    def __init__(self, accounts: Callable[[], Sequence[str]], sync: SyncFn, *,
                 interval: float = 120.0) -> None:
        self._accounts = accounts
        self._sync = sync
        self.interval = interval
        self.state = SyncState()
        self.errors: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    # -- observing --------------------------------------------------------------------
    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def activity(self) -> str | None:
        """One line for the status bar while a sync runs (None when idle)."""
        s = self.state
        if s.account is None:
            return None
        of = f"/{s.total:,}" if s.total else ""
        return f"Syncing {s.account}: {s.done:,}{of}"

    @property
    def error_text(self) -> str | None:
        if not self.errors:
            return None
        return "; ".join(f"{name}: {text}" for name, text in sorted(self.errors.items()))

    # -- running ----------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Sync now and then every ``interval`` seconds, until :meth:`close`."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return self._task

    async def _run(self) -> None:
        while True:
            await self.sync_all()
            await asyncio.sleep(self.interval)

    async def sync_all(self) -> int:
        """One round over every account; returns how many messages it brought in."""
        added = 0
        for name in list(self._accounts()):
            added += await self._one(name)
        self.state = SyncState(last_added=added, last_finished=time.time())
        self._emit()
        return added

    async def _one(self, name: str) -> int:
        loop = asyncio.get_running_loop()
        self.state = SyncState(account=name, last_added=self.state.last_added,
                               last_finished=self.state.last_finished)
        self._emit()

        def progress(done: int, total: int | None) -> None:  # on the worker thread
            loop.call_soon_threadsafe(self._progress, name, done, total)

        try:
            report = await asyncio.to_thread(self._sync, name, progress)
        except CommError as exc:  # the user's world (password, network): shown, kept
            self.errors[name] = str(exc)
            self._emit()
            return 0
        self.errors.pop(name, None)
        return int(getattr(report, "added", 0) or 0)

    def _progress(self, name: str, done: int, total: int | None) -> None:
        if self.state.account != name:
            return  # a late callback of a sync that already ended
        self.state = SyncState(account=name, done=done, total=total,
                               last_added=self.state.last_added,
                               last_finished=self.state.last_finished)
        self._emit()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
