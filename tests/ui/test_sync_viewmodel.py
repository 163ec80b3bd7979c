"""The sync view-model as plain async Python: a fake sync for the bookkeeping, then a real
IMAP account (Dovecot) through CommManager, as the window runs it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services import CommManager
from services.errors import AuthenticationError
from services.security.secrets import MemorySecrets
from ui.viewmodels.sync import SyncViewModel


async def test_progress_from_the_worker_reaches_listeners_on_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str | None, int, int | None, int]] = []

    def sync(name: str, progress: Any) -> Any:
        assert threading.get_ident() != loop_thread  # blocking work is off the loop
        for done in (0, 5, 10):
            progress(done, 10)
        if name == "broken":
            raise AuthenticationError("login refused for bob@example.org")
        return SimpleNamespace(added=10)

    vm = SyncViewModel(lambda: ["work", "broken"], sync, interval=3600)

    def listener() -> None:
        assert threading.get_ident() == loop_thread
        seen.append((vm.state.account, vm.state.done, vm.state.total, len(vm.errors)))

    vm.on_changed(listener)
    assert await vm.sync_all() == 10
    await asyncio.sleep(0)  # late thread-safe callbacks are dropped, never applied
    assert ("work", 10, 10, 0) in seen
    assert vm.activity is None and vm.state.last_added == 10
    assert vm.errors == {"broken": "login refused for bob@example.org"}
    assert vm.error_text == "broken: login refused for bob@example.org"
    # a later round that works clears the account's error
    vm2_ok = SyncViewModel(lambda: ["broken"], lambda n, p: SimpleNamespace(added=0))
    vm2_ok.errors = dict(vm.errors)
    await vm2_ok.sync_all()
    assert vm2_ok.errors == {}


async def test_start_repeats_and_close_cancels() -> None:
    rounds: list[str] = []
    vm = SyncViewModel(lambda: ["a"], lambda n, p: rounds.append(n), interval=0.01)
    vm.start()
    for _ in range(200):
        if len(rounds) >= 3:
            break
        await asyncio.sleep(0.01)
    await vm.close()
    count = len(rounds)
    assert count >= 3
    await asyncio.sleep(0.05)
    assert len(rounds) == count  # nothing runs after close


@pytest.mark.integration
async def test_keeps_a_real_imap_account_in_sync(clean_mailbox: Any, tmp_path: Path) -> None:
    dovecot = clean_mailbox
    for n in range(3):
        dovecot.deliver("alice", f"Subject: synced {n}\r\nFrom: x@example.test\r\n\r\nhi\r\n")
    comm = CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets())
    try:
        comm.add_account("work", "imap", {
            "address": "alice@example.test",
            "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls",
                     "username": "alice", "ca_file": str(dovecot.ca_pem)},
        }, secrets={"password": dovecot.users["alice"]})
        vm = SyncViewModel(lambda: [a.name for a in comm.server_accounts()],
                           lambda name, progress: comm.account(name).sync(progress))
        states: list[str | None] = []
        vm.on_changed(lambda: states.append(vm.activity))
        assert await vm.sync_all() == 3
        assert any(s and s.startswith("Syncing work") for s in states)
        assert sorted(m.subject for m in comm.search("subject:synced")) == [
            "synced 0", "synced 1", "synced 2"]
        dovecot.deliver("alice", "Subject: synced 3\r\nFrom: x@example.test\r\n\r\nhi\r\n")
        assert await vm.sync_all() == 1 and vm.errors == {}
    finally:
        comm.close()
