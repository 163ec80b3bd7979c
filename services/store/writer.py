"""The single writer: one thread owns the write connection, fed through a queue.

Every write is a task ``fn(conn) -> (result, events)`` run inside one
``BEGIN IMMEDIATE`` transaction; after ``COMMIT`` the events go to ``on_commit``
(on the writer thread).  A task submitted from the writer thread itself (a
subscriber that writes) runs at once instead of deadlocking on the queue.  Commits wake
the :class:`~services.store.checkpoint.Checkpointer`, if given, which copies the WAL
into the database on its own thread.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from services.errors import StoreError
from services.store.checkpoint import WAKE_CHANGES, Checkpointer
from services.store.cipher import DB_ERRORS, DatabaseKey, open_database
from services.store.events import StoreEvent

__all__ = ["Writer", "connect"]

T = TypeVar("T")
Task = Callable[[sqlite3.Connection], tuple[T, list[StoreEvent]]]
_log = logging.getLogger(__name__)


def connect(
    path: Path, *, readonly: bool = False, key: DatabaseKey | None = None
) -> sqlite3.Connection:
    """A connection with the store's pragmas (autocommit mode; WAL); with ``key``, an
    encrypted (SQLCipher) one (see :mod:`services.store.cipher`)."""
    try:
        conn = open_database(path, key)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA mmap_size = 268435456")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
    except DB_ERRORS as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    return conn


@dataclass
class _Job(Generic[T]):
    fn: Task[T]
    future: Future[T] = field(default_factory=Future)


class Writer:
    """Owns the write connection; run tasks with :meth:`submit` or :meth:`call`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        on_commit: Callable[[list[StoreEvent]], None],
        *,
        queue_size: int = 4,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self._conn = conn
        self._on_commit = on_commit
        self._checkpointer = checkpointer
        self._woken_at = conn.total_changes
        self._queue: queue.Queue[_Job[Any] | None] = queue.Queue(maxsize=queue_size)
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="commhub-store-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, fn: Task[T]) -> Future[T]:
        """Queue ``fn``; blocks when the queue is full (back-pressure)."""
        job: _Job[T] = _Job(fn)
        if threading.current_thread() is self._thread:
            self._run(job)
            return job.future
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
        self._queue.put(job)
        return job.future

    def call(self, fn: Task[T]) -> T:
        return self.submit(fn).result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._conn.close()  # the last connection: SQLite checkpoints and drops the WAL

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: _Job[Any]) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            result, events = job.fn(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except DB_ERRORS:
                    _log.exception("rollback failed")
            if isinstance(exc, DB_ERRORS):
                error = StoreError(f"database write failed: {exc}")
                error.__cause__ = exc
                job.future.set_exception(error)
            else:
                job.future.set_exception(exc)
            return
        if self._checkpointer is not None and conn.total_changes - self._woken_at >= WAKE_CHANGES:
            self._woken_at = conn.total_changes
            self._checkpointer.wake()
        if events:  # before the result, so a caller sees its events once it returns
            try:
                self._on_commit(events)
            except Exception:
                _log.exception("store event dispatch failed")
        job.future.set_result(result)
