"""Reading and deleting from the window reach the server: CommManager.set_flags and
delete_messages against a real Dovecot account, and the view-models wired to them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import CommManager
from services.models import Flag
from services.security.secrets import MemorySecrets
from tests.support.servers.dovecot import DovecotServer
from ui.viewmodels.inbox import InboxViewModel
from ui.viewmodels.reader import ReaderViewModel, SenderPrefs

pytestmark = pytest.mark.integration


@pytest.fixture
def comm(clean_mailbox: DovecotServer, tmp_path: Path) -> Iterator[CommManager]:
    for n in range(3):
        clean_mailbox.deliver(
            "alice", f"Subject: action {n}\r\nFrom: x@example.test\r\n\r\nbody {n}\r\n")
    manager = CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets())
    manager.add_account("work", "imap", {
        "address": "alice@example.test",
        "imap": {"host": "127.0.0.1", "port": clean_mailbox.imap_port, "security": "starttls",
                 "username": "alice", "ca_file": str(clean_mailbox.ca_pem)},
    }, secrets={"password": clean_mailbox.users["alice"]})
    manager.account("work").sync()
    yield manager
    manager.close()


def _ids(comm: CommManager) -> dict[str, int]:
    return {m.subject: m.id for m in comm.search("subject:action") if m.id is not None}


def _server_state(dovecot: DovecotServer) -> dict[str, tuple[bytes, ...]]:
    with dovecot.imap("alice") as client:
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        got = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return {
        v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip(): v[b"FLAGS"]
        for v in got.values()
    }


def test_flags_and_deletes_go_to_the_server_and_stay_after_a_sync(
    comm: CommManager, clean_mailbox: DovecotServer
) -> None:
    ids = _ids(comm)
    comm.set_flags(ids["action 0"], add=[Flag.SEEN, Flag.FLAGGED])
    assert comm.delete_messages([ids["action 1"], 999_999]) == 1  # unknown ids are skipped
    server = _server_state(clean_mailbox)
    assert set(server) == {"action 0", "action 2"}
    assert b"\\Seen" in server["action 0"] and b"\\Flagged" in server["action 0"]
    comm.account("work").sync()  # the server agrees: nothing comes back, flags stay
    assert set(_ids(comm)) == {"action 0", "action 2"}
    assert comm.get(ids["action 0"]).flags >= {Flag.SEEN, Flag.FLAGGED}


async def test_view_models_read_and_delete_through_the_manager(
    comm: CommManager, clean_mailbox: DovecotServer, tmp_path: Path
) -> None:
    ids = _ids(comm)
    store = comm.store
    reader = ReaderViewModel(store, SenderPrefs(tmp_path / "p.json"), scratch_dir=tmp_path,
                             fetch=None,
                             mark_read=lambda i: comm.set_flags(i, add=[Flag.SEEN]))
    await reader.open(ids["action 2"])
    for _ in range(200):  # the server update is a background task after the render
        if b"\\Seen" in _server_state(clean_mailbox)["action 2"]:
            break
        await asyncio.sleep(0.02)
    assert b"\\Seen" in _server_state(clean_mailbox)["action 2"]
    await reader.close()

    inbox = InboxViewModel(store, deleter=comm.delete_messages)
    assert await inbox.delete([ids["action 0"]]) == 1
    assert "action 0" not in _server_state(clean_mailbox)
    await inbox.close()


def test_sign_in_and_failed_sign_in_are_audited(
    clean_mailbox: DovecotServer, tmp_path: Path
) -> None:
    from services.errors import AuthenticationError

    imap = {"host": "127.0.0.1", "port": clean_mailbox.imap_port, "security": "starttls",
            "username": "alice", "ca_file": str(clean_mailbox.ca_pem)}
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets(),
                     audit_logging=True) as manager:
        manager.add_account("good", "imap", {"address": "alice@example.test", "imap": imap},
                            secrets={"password": clean_mailbox.users["alice"]})
        manager.add_account("bad", "imap", {  # another source address: Dovecot's
            "address": "alice@example.test",   # bad-login penalty stays off 127.0.0.1
            "imap": {**imap, "source_address": "127.0.0.2"}},
            secrets={"password": "wrong password"})
        manager.account("good").sync()
        manager.account("good").sync()  # one sign-in per session, not one per sync
        with pytest.raises(AuthenticationError):
            manager.account("bad").sync()
        events = [(e.event, e.object_id) for e in manager.audit_log.entries()
                  if e.event.startswith("sign-in")]
        assert events == [("sign-in", "good"), ("sign-in-failed", "bad")]
        failed = next(e for e in manager.audit_log.entries() if e.event == "sign-in-failed")
        assert "wrong password" not in str(failed.details)  # the secret never lands there
        assert manager.audit_log.verify().ok
