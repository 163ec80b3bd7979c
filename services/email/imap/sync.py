"""The IMAP sync engine: one folder at a time, over an open :class:`ImapConnection`.

Initial sync (and the resumption of one that stopped): UID SEARCH (within the window),
diff against the store, fetch the missing messages' headers newest first in chunks,
parse them in a worker process (in a thread until it is up) and ingest whole chunks per
transaction (the chunks parsed while the previous write ran go together).  The folder's sync
state is written only when the folder is complete, so an interrupted sync (pause,
cancellation, a dropped server) resumes by the same diff: never a duplicate (the store
dedupes by folder + UID), never a gap.

Incremental sync: new UIDs from the saved UIDNEXT; flag changes by CONDSTORE
(``CHANGEDSINCE``) or, without it, a FLAGS scan; expunges by QRESYNC ``VANISHED`` or a
UID SEARCH diff, only when the EXISTS arithmetic says something left.  A changed
UIDVALIDITY orphans the local copies and re-syncs, claiming them back (see
:mod:`services.store.partial`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.email.imap.client import ImapConnection
from services.email.imap.config import ImapConfig
from services.email.imap.protocol import (
    FolderStatus,
    Mode,
    SyncPlan,
    SyncToken,
    chunked,
    expunged_count,
    flag_updates,
    header_items,
    plan_folder,
    prepare_header_blob,
    prepare_header_data,
    uid_set,
    warm_up,
)
from services.store.blobs import Codec
from services.store.bulkgc import older_objects_frozen
from services.store.partial import (
    RemoteIngest,
    apply_remote_flags,
    drop_stale,
    folder_index,
    ingest_remote,
    mark_stale,
)
from services.store.prepare import PreparedMessage, unpack_prepared
from services.store.store import Store
from services.store.syncstate import SyncState, get_sync_state, put_sync_state

__all__ = ["FolderResult", "ProgressCounter", "sync_folder"]

_log = logging.getLogger(__name__)
_POOL_THRESHOLD = 4000  # below this, parse in a thread (a process pool costs ~0.5 s to start)
_INFLIGHT = 6  # parsed chunks waiting for the writer (the consumer groups them)
_GROUP = 6  # chunks the writer may take at once
_GROUP_MESSAGES = 5000  # messages per write transaction at most (whole chunks)
# ... and at least, while more are coming: a commit costs about as much as the pages it
# touches, and the index pages a small batch touches are nearly as many as a big one's
_GROUP_MIN = 3000
_FLAG_CHUNK = 5000


@dataclass(slots=True)
class FolderResult:
    folder: str
    added: list[int] = field(default_factory=list)
    updated: int = 0
    removed: int = 0
    full_resync: bool = False
    complete: bool = True


class ProgressCounter:
    """Cumulative ``(done, total)`` over every folder of one sync."""

    def __init__(self, callback: Callable[[int, int | None], None] | None) -> None:
        self.callback = callback
        self.done = 0
        self.total = 0

    def grow(self, n: int) -> None:
        self.total += n
        self.report()

    def advance(self, n: int) -> None:
        self.done += n
        self.report()

    def report(self) -> None:
        if self.callback is not None:
            try:
                self.callback(self.done, self.total)
            except Exception:
                _log.exception("sync progress callback failed")


def _since(config: ImapConfig) -> date | None:
    if config.sync_window_days is None:
        return None
    return date.today() - timedelta(days=config.sync_window_days)


def _executor(config: ImapConfig, count: int) -> Executor | None:
    if config.parse_workers <= 0 or count < _POOL_THRESHOLD:
        return None  # the loop's default thread pool
    # spawn: never fork a process that runs the store's writer thread
    return ProcessPoolExecutor(max_workers=config.parse_workers,
                               mp_context=multiprocessing.get_context("spawn"))


Parsed = list[PreparedMessage] | bytes  # a chunk parsed in the thread, or packed by a worker


def _unpack(parsed: Parsed) -> list[PreparedMessage]:
    return unpack_prepared(parsed) if isinstance(parsed, bytes) else list(parsed)


_Chunk = tuple[Codec, str, str, list[object], list[int]]  # prepare_header_*'s arguments


class _Parsers:
    """Where header chunks are parsed: in the worker process once it is up (it answers
    with a packed blob); until then in one thread of this process, one chunk at a time.
    A spawned worker takes a few tenths of a second to start, so the first chunks would
    queue up behind the thread (which shares this process with the store's writer) while
    the worker sits idle: a chunk that finds the thread busy waits here instead and goes
    to whichever frees first, the thread or the worker.  A worker that fails to start
    leaves everything to the thread (logged once)."""

    def __init__(self, config: ImapConfig, count: int) -> None:
        self.pool = _executor(config, count)
        self.thread = ThreadPoolExecutor(1, "imap-parse")
        self.warm: Future[None] | None = None
        self.threaded = 0  # chunks handed to the thread and not finished
        self.waiting: deque[tuple[asyncio.Future[Parsed], _Chunk]] = deque()
        if self.pool is not None:
            try:
                self.warm = self.pool.submit(warm_up)
            except Exception as exc:  # a broken pool (BrokenProcessPool) or one shut down
                self._give_up(exc)
            else:  # the worker is up (or failed): the chunks waiting for it go
                loop = asyncio.get_running_loop()
                self.warm.add_done_callback(lambda _: _call_soon(loop, self._dispatch, loop))

    def _give_up(self, exc: BaseException) -> None:
        _log.warning("header parsing stays in a thread: the worker process failed: %s", exc)
        self.warm = None

    def _pool_ready(self) -> bool:
        if self.warm is None or not self.warm.done():
            return False
        exc = self.warm.exception()
        if exc is not None:
            self._give_up(exc)
            return False
        return True

    def submit(self, store: Store, account: str, folder: str, data: list[object],
               uids: list[int]) -> asyncio.Future[Parsed]:
        loop = asyncio.get_running_loop()
        chunk: _Chunk = (store.codec, account, folder, data, uids)
        if not self.waiting:
            started = self._start(loop, chunk)
            if started is not None:
                return started
        result: asyncio.Future[Parsed] = loop.create_future()
        self.waiting.append((result, chunk))
        return result

    def _start(self, loop: asyncio.AbstractEventLoop,
               chunk: _Chunk) -> asyncio.Future[Parsed] | None:
        """Hand ``chunk`` to the worker or to a free thread (None: both are busy)."""
        if self._pool_ready():
            return loop.run_in_executor(self.pool, prepare_header_blob, *chunk)
        if self.threaded and self.warm is not None:
            return None  # the worker is on its way: wait for it or for the thread
        self.threaded += 1
        future: asyncio.Future[Parsed] = loop.run_in_executor(
            self.thread, prepare_header_data, *chunk)
        future.add_done_callback(lambda _: self._thread_done(loop))
        return future

    def _thread_done(self, loop: asyncio.AbstractEventLoop) -> None:
        self.threaded -= 1
        self._dispatch(loop)

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        while self.waiting:
            result, chunk = self.waiting[0]
            if not result.cancelled():
                started = self._start(loop, chunk)
                if started is None:
                    return
                _chain(started, result)
            self.waiting.popleft()

    def shutdown(self) -> None:
        for result, _ in self.waiting:
            result.cancel()
        self.waiting.clear()
        self.thread.shutdown(wait=False, cancel_futures=True)
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: object) -> None:
    """``fn(*args)`` on ``loop`` from any thread; nothing once the loop is closed."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(fn, *args)


def _chain(source: asyncio.Future[Parsed], target: asyncio.Future[Parsed]) -> None:
    """``target`` settles as ``source`` does; cancelling ``target`` cancels ``source``."""

    def settle(_: object) -> None:
        if target.done():
            return
        if source.cancelled():
            target.cancel()
        elif (exc := source.exception()) is not None:
            target.set_exception(exc)
        else:
            target.set_result(source.result())

    source.add_done_callback(settle)
    target.add_done_callback(lambda _: source.cancel() if target.cancelled() else None)


async def fetch_headers(
    conn: ImapConnection,
    store: Store,
    account: str,
    folder: str,
    uids: list[int],
    config: ImapConfig,
    progress: ProgressCounter,
    pause: asyncio.Event | None,
) -> tuple[list[int], bool]:
    """Fetch, parse and ingest the headers of ``uids`` in the given order; returns (new
    local ids, finished).  Each write is one transaction of whole chunks: the ones parsed
    while the previous write ran, up to ``_GROUP_MESSAGES`` (when writing is the slow
    stage, fewer, bigger commits), and at least ``_GROUP_MIN`` messages unless the fetch
    has ended.  Stopping leaves no half chunk.  A bulk fetch (as many messages as make a
    worker process worth starting) runs with the collector skipping older objects
    (:mod:`services.store.bulkgc`)."""
    parsers = _Parsers(config, len(uids))
    queue: asyncio.Queue[asyncio.Future[Parsed] | None] = asyncio.Queue(_INFLIGHT)
    ids: list[int] = []
    writing: list[asyncio.Future[RemoteIngest]] = []

    async def consume() -> None:
        waiting: deque[asyncio.Future[Parsed] | list[PreparedMessage]] = deque()
        end = False

        async def take() -> None:
            """The next parse from the queue into ``waiting`` (None: the fetch has ended)."""
            nonlocal end
            item = await queue.get()
            if item is None:
                end = True
            else:
                waiting.append(item)

        while not end or waiting:
            while not end and (not waiting or (len(waiting) < _GROUP and not queue.empty())):
                await take()
            if not waiting:
                break
            head = waiting.popleft()
            prepared = head if isinstance(head, list) else _unpack(await head)
            # chunks parsed while the last write ran go in with it, and the write waits
            # for chunks still being parsed up to _GROUP_MIN: one commit for several
            while True:
                if not waiting and not end and len(prepared) < _GROUP_MIN:
                    await take()
                if not waiting:
                    break
                nxt = waiting[0]
                if not isinstance(nxt, list):
                    if not nxt.done():
                        if len(prepared) >= _GROUP_MIN:
                            break
                        await asyncio.wait((nxt,))
                    if nxt.cancelled() or nxt.exception() is not None:
                        break  # raised when it heads the next write
                    nxt = waiting[0] = _unpack(nxt.result())
                if len(prepared) + len(nxt) > _GROUP_MESSAGES:
                    break
                waiting.popleft()
                prepared.extend(nxt)
            write = asyncio.ensure_future(
                asyncio.to_thread(ingest_remote, store, prepared, headers_only=True)
            )
            writing[:] = [write]
            result = await asyncio.shield(write)
            ids.extend(result.result.ids)
            ids.extend(result.claimed)
            progress.advance(len(prepared))

    consumer = asyncio.create_task(consume())

    async def put(item: asyncio.Future[Parsed] | None) -> None:
        """Queue ``item``, unless the consumer stops first (a failed write): then its
        error is raised here instead of waiting forever for room in the queue."""
        putting = asyncio.ensure_future(queue.put(item))
        await asyncio.wait((putting, consumer), return_when=asyncio.FIRST_COMPLETED)
        if not putting.done():
            putting.cancel()
            if item is not None:
                item.cancel()
        if consumer.done():
            consumer.result()  # the write's error (it only ends by itself after None)

    items = header_items(config.extra_headers, full=config.full_headers)
    finished = True
    bulk = contextlib.ExitStack()
    if len(uids) >= _POOL_THRESHOLD:
        bulk.enter_context(older_objects_frozen())
    try:
        for chunk in chunked(uids, config.fetch_chunk):
            if pause is not None and pause.is_set():
                finished = False
                break
            data = await conn.fetch_data(uid_set(chunk), items)
            await put(parsers.submit(store, account, folder, data, chunk))
        await put(None)
        await consumer
    except BaseException:
        consumer.cancel()
        # a batch already handed to the writer commits anyway: settle it before returning
        await asyncio.gather(consumer, *writing, return_exceptions=True)
        raise
    finally:
        parsers.shutdown()
        bulk.close()
    return ids, finished


async def _flag_scan(conn: ImapConnection, uids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in chunked(uids, _FLAG_CHUNK):
        answer = await conn.fetch(uid_set(chunk), ("UID", "FLAGS"))
        out.update(flag_updates(answer.items))
    return out


async def _apply_flags(
    store: Store, index: dict[str, tuple[int, int]], updates: dict[int, int]
) -> int:
    wanted: dict[int, int] = {}
    for uid, bits in updates.items():
        local = index.get(str(uid))
        if local is not None and local[1] != bits:
            wanted[local[0]] = bits
    if not wanted:
        return 0
    return len(await asyncio.to_thread(apply_remote_flags, store, wanted))


async def _remove(store: Store, index: dict[str, tuple[int, int]], gone: set[int]) -> int:
    ids = [index[str(u)][0] for u in gone if str(u) in index]
    if not ids:
        return 0
    return await asyncio.to_thread(store.delete, ids)


async def sync_folder(
    conn: ImapConnection,
    store: Store,
    account: str,
    folder: str,
    config: ImapConfig,
    *,
    progress: ProgressCounter | None = None,
    pause: asyncio.Event | None = None,
) -> FolderResult:
    """Bring one folder of the store up to date with the server."""
    counter = progress or ProgressCounter(None)
    status = await conn.select(folder)
    old = await asyncio.to_thread(get_sync_state, store, account, folder)
    plan = plan_folder(old, status, condstore=conn.condstore)
    result = FolderResult(folder)
    if plan.mode is Mode.UNCHANGED:
        return result
    if plan.mode is Mode.REMAP:
        _log.info("%s/%s: UIDVALIDITY changed; re-syncing the folder", account, folder)
        await asyncio.to_thread(mark_stale, store, account, folder)
        result.full_resync = True
    if plan.mode in (Mode.INITIAL, Mode.REMAP):
        await _initial(conn, store, account, folder, config, status, counter, pause, result)
    else:
        assert old is not None
        await _incremental(conn, store, account, folder, config, status, old, plan, counter,
                           pause, result)
    return result


async def _initial(
    conn: ImapConnection, store: Store, account: str, folder: str, config: ImapConfig,
    status: FolderStatus, counter: ProgressCounter, pause: asyncio.Event | None,
    result: FolderResult,
) -> None:
    since = _since(config)
    everything = await conn.search(["ALL"]) if status.exists else []
    wanted = await conn.search(["SINCE", since]) if since is not None and everything else everything
    index = await asyncio.to_thread(folder_index, store, account, folder)
    missing = sorted((u for u in wanted if str(u) not in index and u < status.uidnext),
                     reverse=True)  # newest first
    counter.grow(len(missing))
    added, finished = await fetch_headers(conn, store, account, folder, missing, config,
                                          counter, pause)
    result.added.extend(added)
    if not finished:
        result.complete = False
        return
    if index:  # a resumed sync: what was already here may have changed meanwhile
        present = set(everything)
        result.removed += await _remove(
            store, index, {int(r) for r in index if r.isdigit() and int(r) not in present}
        )
        kept = sorted(int(r) for r in index if r.isdigit() and int(r) in present)
        result.updated += await _apply_flags(store, index, await _flag_scan(conn, kept))
    result.removed += await asyncio.to_thread(drop_stale, store, account, folder)
    token = SyncToken(True, status.exists, since.isoformat() if since else None)
    await asyncio.to_thread(put_sync_state, store, account, folder, SyncState(
        status.uidvalidity, status.uidnext, status.highestmodseq, token.encode()))


async def _incremental(
    conn: ImapConnection, store: Store, account: str, folder: str, config: ImapConfig,
    status: FolderStatus, old: SyncState, plan: SyncPlan, counter: ProgressCounter,
    pause: asyncio.Event | None, result: FolderResult,
) -> None:
    token = SyncToken.decode(old.token)
    new: list[int] = []
    if status.uidnext > plan.new_from_uid:
        found = await conn.search(["UID", f"{plan.new_from_uid}:*"])
        new = sorted((u for u in found if u >= plan.new_from_uid), reverse=True)
    counter.grow(len(new))
    added, finished = await fetch_headers(conn, store, account, folder, new, config, counter,
                                          pause)
    result.added.extend(added)
    if not finished:
        result.complete = False
        return
    index = await asyncio.to_thread(folder_index, store, account, folder)
    known = plan.new_from_uid - 1
    vanished: set[int] | None = None
    if known >= 1 and plan.changed_since is not None:
        modifiers = [f"CHANGEDSINCE {plan.changed_since}"] + (["VANISHED"] if conn.qresync else [])
        answer = await conn.fetch(f"1:{known}", ("UID", "FLAGS"), modifiers)
        result.updated += await _apply_flags(store, index, flag_updates(answer.items))
        if conn.qresync:
            vanished = set(answer.vanished)
    elif known >= 1 and plan.full_flag_scan:
        local = sorted(int(r) for r in index if r.isdigit() and int(r) <= known)
        result.updated += await _apply_flags(store, index, await _flag_scan(conn, local))
    if expunged_count(token.exists, len(new), status.exists) > 0 or vanished:
        if vanished is None:
            present = set(await conn.search(["ALL"]))
            vanished = {int(r) for r in index if r.isdigit() and int(r) not in present}
        result.removed += await _remove(store, index, vanished)
    await asyncio.to_thread(put_sync_state, store, account, folder, SyncState(
        status.uidvalidity, status.uidnext, status.highestmodseq,
        SyncToken(True, status.exists, token.since).encode()))
