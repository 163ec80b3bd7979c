"""Bulk writes and the cyclic garbage collector.

A bulk sync allocates millions of short-lived tuples.  Every 700 or so allocations start a
young collection, and every so often a full one, which walks every object the process holds:
in a header sync of 100,000 messages, about 18 full collections of the modules, caches (and,
in the desktop app, the Qt wrappers) that existed before the sync began — 0.35 s of a 7.5 s
sync in a bare process.  :func:`older_objects_frozen` moves the objects that exist when a bulk
operation starts into the permanent generation (``gc.freeze``) for its duration and back
afterwards (``gc.unfreeze``).  Collections still run and still free the operation's own
garbage; they only skip what was there before it.  Cyclic garbage among those older objects
waits until the end of the operation.

The collector is one per process, so overlapping operations (two accounts syncing) share one
freeze: the first to start freezes, the last to finish unfreezes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["older_objects_frozen"]


class _Freezes:
    """How many operations hold the freeze (the collector is process-wide, so is this)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.ours = False  # the freeze was made by the first holder (not by the process)


_freezes = _Freezes()


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Collections skip the objects that exist now, until the last such block ends.  If
    the process froze objects itself (``gc.freeze`` before any block), nothing changes:
    its freeze is not ours to undo."""
    with _freezes.lock:
        if _freezes.holders == 0:
            _freezes.ours = gc.get_freeze_count() == 0
            if _freezes.ours:
                gc.freeze()
        _freezes.holders += 1
    try:
        yield
    finally:
        with _freezes.lock:
            _freezes.holders -= 1
            if _freezes.holders == 0 and _freezes.ours:
                gc.unfreeze()
