"""Push: IMAP IDLE on a dedicated connection per watched folder.

Each watcher syncs its folder, IDLEs, and on EXISTS / EXPUNGE / FETCH / VANISHED leaves
IDLE, runs an incremental sync of the folder and reports the new local ids.  IDLE is
renewed before ``idle_refresh`` (≤ 25 min, under the 29-minute server limit).  A dropped
connection is reopened with backoff (first retry after 0.5 s, doubling up to 30 s); a
refused login ends the watch with the AuthenticationError.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from services.email.imap.sync import sync_folder
from services.errors import AuthenticationError, CommError, ConnectionFailed

if TYPE_CHECKING:
    from services.email.imap.service import ImapService

__all__ = ["idle_changed", "watch"]

_log = logging.getLogger(__name__)
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
_POLL = 5.0
_CHANGES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED", b"RECENT"}


def idle_changed(responses: Sequence[tuple[Any, ...]]) -> bool:
    """Whether IDLE responses say the folder changed; raises on ``BYE`` (server leaving)."""
    changed = False
    for resp in responses:
        words = [w.upper() for w in resp if isinstance(w, bytes)]
        if b"BYE" in words[:1]:
            raise ConnectionFailed("the IMAP server closed the IDLE connection (BYE)")
        if any(w in _CHANGES for w in words[:2]):
            changed = True
    return changed


async def _watch_folder(
    service: ImapService, folder: str, out: asyncio.Queue[list[int] | BaseException]
) -> None:
    delay = _BACKOFF_FIRST
    refresh = service.config.idle_refresh
    while True:
        conn = service.new_connection()
        try:
            await conn.open()
            result = await sync_folder(conn, service.store, service.name, folder,
                                       service.config)
            delay = _BACKOFF_FIRST
            if result.added:
                await out.put(result.added)
            while True:
                await conn.idle()
                started = time.monotonic()
                changed = False
                while not changed:
                    left = refresh - (time.monotonic() - started)
                    if left <= 0:
                        break
                    changed = idle_changed(await conn.idle_check(min(_POLL, left)))
                await conn.idle_done()
                if changed:
                    result = await sync_folder(conn, service.store, service.name, folder,
                                               service.config)
                    if result.added:
                        await out.put(result.added)
                else:
                    await conn.noop()
        except AuthenticationError as exc:
            await out.put(exc)
            return
        except CommError as exc:
            _log.info("IDLE on %s/%s dropped (%s); reconnecting in %.1f s",
                      service.name, folder, exc, delay)
        finally:
            conn.abort()  # unblocks a thread still waiting in idle_check
            with contextlib.suppress(Exception):
                await conn.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, _BACKOFF_MAX)


async def watch(service: ImapService, folders: Sequence[str]) -> AsyncIterator[list[int]]:
    queue: asyncio.Queue[list[int] | BaseException] = asyncio.Queue()
    tasks = [asyncio.create_task(_watch_folder(service, f, queue), name=f"imap-idle-{f}")
             for f in folders]
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
