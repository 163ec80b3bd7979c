"""The header sync's worker process: the same store as parsing in a thread, and a worker
that cannot start leaves the parsing in the thread (against the real Dovecot)."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from services.email.imap import ImapConfig, ImapService
from services.email.imap import sync as imap_sync
from services.security.secrets import MemorySecrets
from services.store import Store
from services.store.syncstate import remote_ids
from tests.integration.imap.conftest import make_raw
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


async def _sync(server: DovecotServer, path: Path, workers: int) -> dict[str, tuple[object, ...]]:
    store = Store.open(path)
    try:
        account = store.ensure_account("w", "imap")
        secrets = MemorySecrets()
        secrets.set("w", "password", server.users["alice"])
        config = ImapConfig.from_mapping({
            "host": server.host, "port": server.imap_port, "security": "plain",
            "allow_plaintext": True, "username": "alice", "fetch_chunk": 7,
            "parse_workers": workers, "include_folders": ["INBOX"], "timeout": 30.0,
        })
        service = ImapService(account, store, config, secrets)
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
    real_ready = imap_sync._ready
    monkeypatch.setattr(imap_sync, "_ready", lambda warm: ready.append(real_ready(warm))
                        or ready[-1])
    in_worker = await _sync(mailbox, tmp_path / "worker.sqlite3", workers=1)
    assert ready.count(True) >= 5  # (the first chunk may still go to the thread)
    assert in_worker == in_thread and len(in_worker) == COUNT


async def test_a_worker_that_cannot_start_leaves_parsing_in_the_thread(
    mailbox: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(imap_sync, "_executor", _broken_pool)
    with caplog.at_level(logging.WARNING, logger=imap_sync.__name__):
        rows = await _sync(mailbox, tmp_path / "broken.sqlite3", workers=1)
    assert len(rows) == COUNT
    assert "the worker process failed" in caplog.text
