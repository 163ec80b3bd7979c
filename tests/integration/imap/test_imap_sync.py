"""IMAP sync, flags, moves, lazy bodies and remote search against the real Dovecot."""

from __future__ import annotations

import asyncio

import pytest

from services.models import Flag
from services.query import EmailQuery
from services.store import Store
from services.store.partial import BODY_FULL, BODY_HEADERS, body_state
from services.store.syncstate import get_sync_state, remote_ids
from tests.integration.imap.conftest import ACCOUNT, ServiceFactory, make_raw
from tests.support.servers.dovecot import DovecotServer


def _subjects(store: Store, folder: str = "INBOX") -> list[str]:
    ids = remote_ids(store, ACCOUNT, folder)
    return sorted(store.get(i).subject for i in ids.values())


async def test_initial_sync_newest_first_within_window(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime, timedelta

    from services.email.imap import sync as imap_sync

    monkeypatch.setattr(imap_sync, "_GROUP_MIN", 10)  # progress as each chunk of 10 is written

    now = datetime.now(UTC)
    old = [make_raw(i, days_ago=40) for i in range(3)]
    new = [make_raw(10 + i) for i in range(25)]
    clean_mailbox.append_many("alice", "INBOX", old, msg_time=now - timedelta(days=40))
    clean_mailbox.append_many("alice", "INBOX", new)
    service = make_service(clean_mailbox, sync_window_days=30, fetch_chunk=10, parse_workers=0)
    seen: list[tuple[int, int | None]] = []
    order: list[int] = []
    store.subscribe(lambda e: order.extend(e.message_ids) if e.kind == "added" else None)
    report = await service.sync(progress=lambda d, t: seen.append((d, t)))
    assert report.added == 25 and report.errors == []
    ids = remote_ids(store, ACCOUNT, "INBOX")
    assert len(ids) == 25  # the three 40-day-old messages are outside the window
    uids_in_order = [int(store.get(i).remote_id or 0) for i in order]
    assert uids_in_order == sorted(uids_in_order, reverse=True)  # newest (highest UID) first
    assert seen[-1] == (25, 25) and len(seen) >= 3
    one = next(iter(ids.values()))
    assert body_state(store, one) == BODY_HEADERS
    assert get_sync_state(store, ACCOUNT, "INBOX") is not None


async def test_incremental_new_flags_both_ways_and_expunge(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append_many("alice", "INBOX", [make_raw(i) for i in range(5)])
    service = make_service(clean_mailbox)
    await service.sync()
    # server → store: a new message, a flag set, a flag removed, an expunge (CONDSTORE path)
    clean_mailbox.append("alice", "INBOX", make_raw(99, subject="fresh one"), flags=["\\Flagged"])
    with clean_mailbox.imap("alice") as c:
        c.select_folder("INBOX")
        uids = sorted(c.search(["ALL"]))
        c.add_flags([uids[0]], [b"\\Seen"])
        c.delete_messages([uids[1]])
        c.expunge()
    report = await service.sync()
    assert (report.added, report.removed) == (1, 1)
    assert report.updated >= 1
    ids = remote_ids(store, ACCOUNT, "INBOX")
    assert str(uids[1]) not in ids and len(ids) == 5
    assert Flag.SEEN in store.get(ids[str(uids[0])]).flags
    fresh = next(store.get(i) for i in ids.values() if store.get(i).subject == "fresh one")
    assert Flag.FLAGGED in fresh.flags
    # store → server
    await service.set_flags(fresh, add=[Flag.SEEN], remove=[Flag.FLAGGED])
    with clean_mailbox.imap("alice") as c:
        c.select_folder("INBOX")
        flags = c.get_flags([int(fresh.remote_id or 0)])[int(fresh.remote_id or 0)]
    assert b"\\Seen" in flags and b"\\Flagged" not in flags
    assert store.get(fresh.id or 0).flags == frozenset({Flag.SEEN})
    # removing a flag on the server comes back too
    with clean_mailbox.imap("alice") as c:
        c.select_folder("INBOX")
        c.remove_flags([uids[0]], [b"\\Seen"])
    await service.sync()
    assert Flag.SEEN not in store.get(ids[str(uids[0])]).flags
    # a no-change resync does nothing
    again = await service.sync()
    assert (again.added, again.updated, again.removed) == (0, 0, 0)


async def test_fallback_without_condstore(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append_many("alice", "INBOX", [make_raw(i) for i in range(4)])
    service = make_service(clean_mailbox, use_condstore=False)
    await service.sync()
    state = get_sync_state(store, ACCOUNT, "INBOX")
    assert state is not None and state.highestmodseq is None
    with clean_mailbox.imap("alice") as c:
        c.select_folder("INBOX")
        uids = sorted(c.search(["ALL"]))
        c.add_flags([uids[2]], [b"\\Flagged", b"\\Seen"])
        c.delete_messages([uids[0]])
        c.expunge()
    clean_mailbox.append("alice", "INBOX", make_raw(50))
    report = await service.sync()
    assert (report.added, report.removed, report.updated) == (1, 1, 1)
    ids = remote_ids(store, ACCOUNT, "INBOX")
    assert store.get(ids[str(uids[2])]).flags == frozenset({Flag.SEEN, Flag.FLAGGED})


async def test_move_copy_delete_archive(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append_many("alice", "INBOX", [make_raw(i) for i in range(4)])
    with clean_mailbox.imap("alice") as c:
        c.create_folder("Work")
    service = make_service(clean_mailbox)
    await service.sync()
    msgs = sorted((store.get(i) for i in remote_ids(store, ACCOUNT, "INBOX").values()),
                  key=lambda m: int(m.remote_id or 0))
    await service.move(msgs[0], "Work")
    copy_id = await service.copy(msgs[1], "Work")
    await service.delete(msgs[2])
    archive = await service.archive(msgs[3])
    assert archive == "Archive"
    with clean_mailbox.imap("alice") as c:
        counts = {f: len(c.select_folder(f) and c.search(["ALL"]))
                  for f in ("INBOX", "Work", "Archive")}
    assert counts == {"INBOX": 1, "Work": 2, "Archive": 1}
    assert copy_id is not None
    report = await service.sync()  # the store already matches the server: no duplicate
    assert report.added == 0
    for folder, n in (("INBOX", 1), ("Work", 2), ("Archive", 1)):
        assert len(remote_ids(store, ACCOUNT, folder)) == n, folder


async def test_lazy_body_fetch_makes_body_searchable(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append("alice", "INBOX", make_raw(1, body="the word zanzibarquux lives here"))
    service = make_service(clean_mailbox)
    await service.sync()
    [mid] = remote_ids(store, ACCOUNT, "INBOX").values()
    assert store.count(EmailQuery.parse("zanzibarquux")) == 0
    assert b"zanzibarquux" not in store.raw(mid)
    full = await service.fetch_body(mid)
    assert "zanzibarquux" in full.body_text
    assert b"zanzibarquux" in store.raw(mid)
    assert body_state(store, mid) == BODY_FULL
    assert store.search_ids(EmailQuery.parse("zanzibarquux")) == [mid]
    assert store.count(EmailQuery.parse("subject:message")) == 1  # header terms still there


async def test_remote_search_with_residual_and_has_message_id(
    clean_mailbox: DovecotServer, store: Store, make_service: ServiceFactory
) -> None:
    clean_mailbox.append_many("alice", "INBOX", [
        make_raw(1, subject="quarterly report", body="numbers inside"),
        make_raw(2, subject="quarterly reporting tool", body="other"),
        make_raw(3, subject="lunch", msgid="<known-id@example.test>"),
    ])
    service = make_service(clean_mailbox)
    # nothing synced yet: the hits are synced on the way; "report" as a whole word is the
    # residual (IMAP matches the substring in "reporting" too)
    found = await service.search_remote(EmailQuery.parse("subject:report"))
    assert [m.subject for m in found] == ["quarterly report"]
    assert await service.has_message_id("INBOX", "known-id@example.test")
    assert not await service.has_message_id("INBOX", "<absent@example.test>")
    uid = await service.append("INBOX", make_raw(4, msgid="<sent-1@example.test>"), [Flag.SEEN])
    assert uid is not None and await service.has_message_id("INBOX", "sent-1@example.test")
    assert str(uid) in remote_ids(store, ACCOUNT, "INBOX")
    await asyncio.sleep(0)
