"""The header sync's pipeline against the real Dovecot: the worker process stores what
parsing in a thread stores, chunks that find the thread busy wait for the starting worker
instead of queueing behind the thread, a worker that cannot start leaves the parsing in
the thread, chunks parsed during a slow write are committed together (whole chunks,
bounded), and a write waits for chunks still being parsed up to a minimum."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from services.email.imap import ImapConfig, ImapService
from services.email.imap import sync as imap_sync
from services.errors import StoreError
from services.store import Store
from services.store.syncstate import remote_ids
from tests.integration.imap.conftest import inbox_service, make_raw
from tests.support.servers.dovecot import DovecotServer

pytestmark = pytest.mark.integration
COUNT = 60


def _fail() -> None:
    raise RuntimeError("this worker cannot start")


def _spawn(**kw: object) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), **kw)


def _broken_pool(config: ImapConfig, count: int) -> Executor:
    pool = _spawn(initializer=_fail)
    with pytest.raises(BrokenProcessPool):
        pool.submit(int).result(timeout=30)
    return pool


def _warm_pool(config: ImapConfig, count: int) -> Executor:
    pool = _spawn()
    pool.submit(imap_sync.warm_up).result(timeout=30)  # up before the first chunk comes
    return pool


def _service(server: DovecotServer, store: Store, workers: int) -> ImapService:
    """alice's INBOX in chunks of 7, parsed in ``workers`` processes (0: a thread)."""
    return inbox_service(server, store, "w", fetch_chunk=7, parse_workers=workers)


async def _sync(server: DovecotServer, path: Path, workers: int) -> dict[str, tuple[object, ...]]:
    store = Store.open(path)
    try:
        service = _service(server, store, workers)
        report = await service.sync()
        await service.aclose()
        assert report.added == COUNT and report.errors == []
        rows = {}
        for uid, mid in remote_ids(store, "w", "INBOX").items():
            m = store.get(mid)
            rows[uid] = (m.subject, m.sender, m.to, m.date, m.received_at, m.flags, m.message_id,
                         m.size, m.thread_id)
        return rows
    finally:
        store.close()


@pytest.fixture
def mailbox(clean_mailbox: DovecotServer) -> DovecotServer:
    raws = [make_raw(i, subject=f"Re: topic {i % 5}") for i in range(COUNT)]
    clean_mailbox.append_many("alice", "INBOX", raws, flags=["\\Seen"])
    return clean_mailbox


async def test_worker_process_stores_what_the_thread_stores(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_thread = await _sync(mailbox, tmp_path / "thread.sqlite3", workers=0)
    monkeypatch.setattr(imap_sync, "_executor", _warm_pool)
    ready: list[bool] = []
    real_ready = imap_sync._Parsers._pool_ready

    def spy(parsers: imap_sync._Parsers) -> bool:
        ready.append(real_ready(parsers))
        return ready[-1]

    monkeypatch.setattr(imap_sync._Parsers, "_pool_ready", spy)
    in_worker = await _sync(mailbox, tmp_path / "worker.sqlite3", workers=1)
    assert ready.count(True) >= 5  # (the first chunk may still go to the thread)
    assert in_worker == in_thread and len(in_worker) == COUNT


class _SlowStartingPool(ProcessPoolExecutor):
    """A worker that takes a while to come up, counting the chunks it is given."""

    def __init__(self) -> None:
        super().__init__(1, mp_context=multiprocessing.get_context("spawn"),
                         initializer=time.sleep, initargs=(0.3,))
        self.chunks = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if fn is imap_sync.prepare_header_blob:
            self.chunks += 1
        return super().submit(fn, *args, **kwargs)


async def test_chunks_wait_for_the_starting_worker_rather_than_queue_behind_the_thread(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = await _sync(mailbox, tmp_path / "thread.sqlite3", workers=0)
    pools: list[_SlowStartingPool] = []
    in_thread: list[int] = []
    real_prepare = imap_sync.prepare_header_data

    def slow_prepare(*args: Any) -> Any:
        in_thread.append(len(args[-1]))
        time.sleep(0.5)  # a big chunk, parsed in this process's thread
        return real_prepare(*args)

    def pool(config: ImapConfig, count: int) -> Executor:
        pools.append(_SlowStartingPool())
        return pools[-1]

    monkeypatch.setattr(imap_sync, "_executor", pool)
    monkeypatch.setattr(imap_sync, "prepare_header_data", slow_prepare)
    rows = await _sync(mailbox, tmp_path / "worker.sqlite3", workers=1)
    assert rows == reference
    chunks = -(-COUNT // 7)
    # every chunk once; the first went to the thread at once, and the worker, up long
    # before the thread could have parsed them all (9 x 0.5 s), took a share of the rest
    assert len(in_thread) + pools[0].chunks == chunks
    assert len(in_thread) >= 1 and pools[0].chunks >= 3


async def test_a_worker_that_cannot_start_leaves_parsing_in_the_thread(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(imap_sync, "_executor", _broken_pool)
    with caplog.at_level(logging.WARNING, logger=imap_sync.__name__):
        rows = await _sync(mailbox, tmp_path / "broken.sqlite3", workers=1)
    assert len(rows) == COUNT
    assert caplog.text.count("the worker process failed") == 1  # said once, not per chunk


def _record_writes(monkeypatch: pytest.MonkeyPatch, first_takes: float = 0) -> list[list[int]]:
    """The UIDs of each write, in order (the first write sleeps ``first_takes`` s)."""
    batches: list[list[int]] = []
    real_ingest = imap_sync.ingest_remote

    def ingest(store: Store, prepared: list[Any], **kw: Any) -> Any:
        batches.append([int(p.remote_id) for p in prepared])
        time.sleep(first_takes if len(batches) == 1 else 0)
        return real_ingest(store, prepared, **kw)

    monkeypatch.setattr(imap_sync, "ingest_remote", ingest)
    return batches


async def test_chunks_parsed_during_a_slow_write_commit_together(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = await _sync(mailbox, tmp_path / "one.sqlite3", workers=0)
    batches = _record_writes(monkeypatch, first_takes=0.2)  # the next chunks arrive meanwhile
    monkeypatch.setattr(imap_sync, "_GROUP_MESSAGES", 21)  # three chunks of 7 at most
    monkeypatch.setattr(imap_sync, "_GROUP_MIN", 0)  # no write waits for chunks
    grouped = await _sync(mailbox, tmp_path / "grouped.sqlite3", workers=0)
    assert grouped.keys() == reference.keys()
    sizes = [len(b) for b in batches]
    assert sizes[0] == 7  # the first write took the one chunk there was
    assert sum(sizes) == COUNT and max(sizes) == 21 and all(n % 7 == 0 for n in sizes[:-1])
    order = [uid for batch in batches for uid in batch]
    assert order == sorted(order, reverse=True)  # still newest first, each message once


async def test_a_write_waits_for_chunks_still_being_parsed_up_to_the_minimum(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = await _sync(mailbox, tmp_path / "one.sqlite3", workers=0)
    batches = _record_writes(monkeypatch)
    real_prepare = imap_sync.prepare_header_data

    def slow_prepare(*args: Any) -> Any:
        time.sleep(0.05)  # every chunk is still being parsed when the writer is free
        return real_prepare(*args)

    monkeypatch.setattr(imap_sync, "prepare_header_data", slow_prepare)
    monkeypatch.setattr(imap_sync, "_GROUP_MESSAGES", 21)
    monkeypatch.setattr(imap_sync, "_GROUP_MIN", 14)  # two chunks of 7 at least
    grouped = await _sync(mailbox, tmp_path / "grouped.sqlite3", workers=0)
    assert grouped == reference
    sizes = [len(b) for b in batches]
    # 60 = 8 chunks of 7 and one of 4: every write but the last holds two or three chunks
    assert sum(sizes) == COUNT and all(14 <= n <= 21 for n in sizes[:-1]), sizes
    assert len(sizes) <= 5 and sizes[-1] <= 21
    order = [uid for batch in batches for uid in batch]
    assert order == sorted(order, reverse=True)


async def test_a_failing_write_ends_the_sync_with_its_error_instead_of_hanging(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = imap_sync.ingest_remote
    calls: list[int] = []

    def failing(store: Store, prepared: list[Any], **kw: Any) -> Any:
        calls.append(len(prepared))
        if len(calls) == 2:
            time.sleep(0.3)  # the producer fills the queue meanwhile
            raise StoreError("disk full")
        return real_ingest(store, prepared, **kw)

    monkeypatch.setattr(imap_sync, "ingest_remote", failing)
    monkeypatch.setattr(imap_sync, "_INFLIGHT", 1)
    monkeypatch.setattr(imap_sync, "_GROUP_MESSAGES", 7)  # one chunk a write
    store = Store.open(tmp_path / "fail.sqlite3")
    try:
        service = _service(mailbox, store, workers=0)
        with pytest.raises(StoreError, match="disk full"):  # a local error: raised, at once
            await asyncio.wait_for(service.sync(), 30)
        await service.aclose()
        assert len(remote_ids(store, "w", "INBOX")) == 7  # the first chunk, committed
    finally:
        store.close()


@pytest.mark.parametrize("threshold", [COUNT, COUNT + 1])
async def test_a_bulk_fetch_runs_with_older_objects_frozen(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """From a worker process's worth of messages on (services.store.bulkgc); below it, and
    after it, the collector is as it was."""
    frozen: list[bool] = []
    real_ingest = imap_sync.ingest_remote

    def spy(store: Store, prepared: list[Any], **kw: Any) -> Any:
        frozen.append(gc.get_freeze_count() > 0)
        return real_ingest(store, prepared, **kw)

    monkeypatch.setattr(imap_sync, "ingest_remote", spy)
    monkeypatch.setattr(imap_sync, "_POOL_THRESHOLD", threshold)
    rows = await _sync(mailbox, tmp_path / "gc.sqlite3", workers=0)
    assert len(rows) == COUNT and frozen
    assert set(frozen) == {threshold <= COUNT}
    assert gc.get_freeze_count() == 0
