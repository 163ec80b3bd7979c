"""WAL checkpoints on a thread of their own, off the writer.

In WAL mode a commit appends the pages it changed to the log; a *checkpoint* copies the
log's newest version of each page back into the database file.  SQLite's automatic
checkpoint runs on the committing connection once the log holds ``wal_autocheckpoint``
pages (1,000 by default): on the writer thread, one of the two busiest stages of a bulk
sync, and after nearly every commit of one, since a batch of a few thousand messages changes
more pages than that.  The store instead

- sets the automatic checkpoint to :data:`BACKSTOP_PAGES`, so the log is still bounded
  when this thread falls behind or cannot run (the writer's own checkpoint then copies
  what is left and the next transaction starts the log over); and
- wakes a :class:`Checkpointer` after commits that changed at least :data:`WAKE_CHANGES`
  rows since it last woke it.  The checkpointer runs ``PRAGMA wal_checkpoint(PASSIVE)`` on
  its own connection: it copies what it can without waiting for, or blocking, the writer
  or any reader, and SQLite releases the GIL while it does.

A page the log holds many times over (an index leaf that every batch touches) is copied once
per checkpoint, so fewer checkpoints over a longer log also copy less.  A failed checkpoint
is logged and changes nothing: the backstop still holds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from services.errors import StoreError
from services.store.cipher import DB_ERRORS

__all__ = ["BACKSTOP_PAGES", "WAKE_CHANGES", "Checkpointer"]

#: ``wal_autocheckpoint`` of the write connection: 64 MiB of 4 KiB pages.
BACKSTOP_PAGES = 16384
#: Rows a commit (or several) must change before the checkpointer is woken.
WAKE_CHANGES = 1000

_log = logging.getLogger(__name__)


class Checkpointer:
    """A thread that runs a passive checkpoint each time it is woken (wakes that come
    while it works fold into one more run).  ``connect`` opens its connection, on the
    thread, when it is first woken; a failure to open is logged and leaves checkpoints to
    the writer.
    :meth:`close` waits for a running checkpoint and closes the connection."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._wake = threading.Event()
        self._closed = False
        self.runs = 0  #: checkpoints completed (busy or not)
        self._thread = threading.Thread(target=self._loop, name="commhub-store-checkpoint",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join()

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                if conn is None:  # at the first wake: a short-lived store never opens it
                    try:
                        conn = self._connect()
                    except StoreError as exc:
                        _log.warning("no background checkpoints (the writer's own still "
                                     "run): %s", exc)
                        return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except DB_ERRORS as exc:
                    _log.warning("background checkpoint failed (the writer's own "
                                 "checkpoint still runs): %s", exc)
                else:
                    self.runs += 1
        finally:
            if conn is not None:
                conn.close()
