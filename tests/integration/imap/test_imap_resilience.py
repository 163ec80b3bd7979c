"""Interrupted syncs, UIDVALIDITY changes and IDLE push (real Dovecot)."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from services.errors import ConnectionFailed
from services.models import Flag
from services.store import Store
from services.store.syncstate import remote_ids
from tests.integration.imap.conftest import ACCOUNT, ServiceFactory, make_raw
from tests.support.net import wait_for_ports
from tests.support.servers.dovecot import DovecotServer, dovecot_available, dovecot_binary


def _restart_same(server: DovecotServer) -> None:
    """Start Dovecot again on the same config, ports and mail (stop() would delete them)."""
    server.kill()
    binary = dovecot_binary()
    assert binary is not None
    server._proc = subprocess.Popen(
        [binary, "-F", "-c", str(server.config_path)], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_for_ports(server.host, [server.imap_port], 15, alive=lambda: server.running)


def _message_count(store: Store) -> int:
    return int(store.read_rows("SELECT count(*) FROM messages")[0][0])


@pytest.mark.skipif(not dovecot_available(), reason="dovecot is not installed")
async def test_server_killed_mid_sync_resumes_without_duplicates(
    tls_ca: object, store: Store, make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.email.imap import sync as imap_sync
    from tests.support.tls import TestCA

    assert isinstance(tls_ca, TestCA)
    monkeypatch.setattr(imap_sync, "_GROUP_MIN", 40)  # a write per chunk: progress mid-fetch
    with DovecotServer(ca=tls_ca) as server:
        server.append_many("alice", "INBOX", [make_raw(i) for i in range(300)])
        service = make_service(server, fetch_chunk=40, parse_workers=0)
        killed: list[int] = []

        def progress(done: int, total: int | None) -> None:
            if done >= 80 and not killed:
                killed.append(done)
                server.kill()

        with pytest.raises(ConnectionFailed):
            await service.sync(progress=progress)
        partial = len(remote_ids(store, ACCOUNT, "INBOX"))
        assert 80 <= partial < 300
        await service.aclose()
        _restart_same(server)
        report = await service.sync()
        ids = remote_ids(store, ACCOUNT, "INBOX")
        assert len(ids) == 300 and _message_count(store) == 300
        assert report.added == 300 - partial
        with server.imap("alice") as c:
            c.select_folder("INBOX")
            assert {str(u) for u in c.search(["ALL"])} == set(ids)


async def test_uidvalidity_change_remaps_without_duplicates(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append_many("alice", "Remap", [make_raw(i) for i in range(5)])
    service = make_service(clean_mailbox, include_folders=["Remap"])
    await service.sync()
    before = {store.get(i).message_id: i for i in remote_ids(store, ACCOUNT, "Remap").values()}
    with clean_mailbox.imap("alice") as c:
        status = c.select_folder("Remap")
        c.add_flags(c.search(["ALL"])[:1], [b"\\Seen"])
    validity = int(status[b"UIDVALIDITY"]) + 1000
    clean_mailbox.doveadm("mailbox", "update", "-u", "alice", "--uid-validity", str(validity),
                          "Remap")
    report = await service.sync()
    assert report.full_resync
    after = {store.get(i).message_id: i for i in remote_ids(store, ACCOUNT, "Remap").values()}
    assert after == before  # same local messages, no second copy
    assert _message_count(store) == 5
    assert sum(Flag.SEEN in store.get(i).flags for i in after.values()) == 1


async def _next(it: object, timeout: float) -> list[int]:
    return await asyncio.wait_for(it.__anext__(), timeout)  # type: ignore[attr-defined]


async def test_idle_push_and_reconnect_after_a_dropped_connection(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    service = make_service(clean_mailbox)
    it = service.watch()
    try:
        first = asyncio.ensure_future(_next(it, 10))
        await asyncio.sleep(1.0)  # the watcher connects, syncs and enters IDLE
        t0 = time.monotonic()
        clean_mailbox.deliver("alice", make_raw(1, subject="pushed"))
        ids = await first
        assert time.monotonic() - t0 < 2.0
        assert [store.get(i).subject for i in ids] == ["pushed"]
        # drop the IDLE connection from the server side
        clean_mailbox.doveadm("kick", "alice")
        await asyncio.sleep(1.5)
        t1 = time.monotonic()
        clean_mailbox.deliver("alice", make_raw(2, subject="after the kick"))
        ids = await _next(it, 8)
        assert time.monotonic() - t1 < 5.0
        assert [store.get(i).subject for i in ids] == ["after the kick"]
    finally:
        await it.aclose()  # type: ignore[attr-defined]
