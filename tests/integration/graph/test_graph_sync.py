"""Folders, delta sync (initial, incremental, expired link) and move against the fake."""

from __future__ import annotations

from collections import Counter

from services.email.graph.service import GraphMailService
from services.models import Flag
from services.store.store import Store
from services.store.syncstate import get_sync_state
from tests.fakes.graph import FakeGraph


def _inbox(store: Store) -> dict[str, tuple[int, frozenset[Flag]]]:
    rows = store.read_rows(
        "SELECT m.remote_id, m.id FROM messages m JOIN folders f ON f.id = m.folder_id "
        "WHERE f.name = 'Inbox'")
    return {str(r): (int(i), store.get(int(i)).flags) for r, i in rows}


async def test_folders_with_roles_and_children(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    graph_fake.add_folder("Projects", parent="inbox")
    graph_fake.add_folder("2024", parent="Projects")
    folders = {f.name: f.role for f in await service.list_folders()}
    assert folders == {
        "Inbox": "inbox", "Sent Items": "sent", "Drafts": "drafts", "Deleted Items": "trash",
        "Junk Email": "junk", "Archive": "archive", "Inbox/Projects": None,
        "Inbox/Projects/2024": None,
    }
    assert (await service.folder("sentitems")).name == "Sent Items"
    assert (await service.folder("trash")).name == "Deleted Items"


async def test_delta_initial_then_incremental(
    service: GraphMailService, graph_fake: FakeGraph, store: Store,
) -> None:
    ids = [graph_fake.add_message("inbox", subject=f"message {i}", body=f"body {i}")
           for i in range(5)]
    graph_fake.update_message(ids[1], is_read=True)
    graph_fake.update_message(ids[2], flagged=True)

    report = await service.sync()
    assert (report.added, report.updated, report.removed, report.errors) == (5, 0, 0, [])
    assert report.folders == 6 and not report.full_resync
    local = _inbox(store)
    assert set(local) == set(ids)
    assert local[ids[1]][1] == {Flag.SEEN} and local[ids[2]][1] == {Flag.FLAGGED}
    assert store.raw(local[ids[0]][0]) == graph_fake.messages[ids[0]].mime  # raw MIME kept
    inbox_delta = [r for r in graph_fake.graph_requests("GET", "/messages/delta")
                   if graph_fake.folder("inbox").id in r.path]
    assert len(inbox_delta) == 3  # 5 items at 2 per page: nextLink followed
    inbox_id = graph_fake.folder("inbox").id
    state = get_sync_state(store, "work", "Inbox")
    assert state is not None and state.token and "$deltatoken=" in state.token
    assert inbox_id in state.token

    new = graph_fake.add_message("inbox", subject="newcomer")
    graph_fake.delete_message(ids[0])
    graph_fake.update_message(ids[3], is_read=True)
    graph_fake.update_message(ids[2], flagged=False)
    report = await service.sync()
    assert (report.added, report.updated, report.removed) == (1, 2, 1)
    local = _inbox(store)
    assert set(local) == set(ids[1:]) | {new}
    assert local[ids[3]][1] == {Flag.SEEN} and local[ids[2]][1] == frozenset()

    values_before = len(graph_fake.graph_requests("GET", "/$value"))
    report = await service.sync()
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert len(graph_fake.graph_requests("GET", "/$value")) == values_before


async def test_expired_delta_link_resyncs_without_duplicates(
    service: GraphMailService, graph_fake: FakeGraph, store: Store,
) -> None:
    ids = [graph_fake.add_message("inbox", subject=f"m{i}") for i in range(4)]
    await service.sync()
    graph_fake.delete_message(ids[0])
    graph_fake.update_message(ids[1], flagged=True)
    newcomer = graph_fake.add_message("inbox", subject="after expiry")
    graph_fake.expire_delta_links()
    downloads = len(graph_fake.graph_requests("GET", "/$value"))

    report = await service.sync()
    assert report.full_resync and not report.errors
    assert (report.added, report.removed) == (1, 1)
    assert len(graph_fake.graph_requests("GET", "/$value")) == downloads + 1  # only the new one
    remote = [str(r[0]) for r in store.read_rows("SELECT remote_id FROM messages")]
    assert not [r for r, n in Counter(remote).items() if n > 1]
    assert set(_inbox(store)) == {ids[1], ids[2], ids[3], newcomer}
    assert _inbox(store)[ids[1]][1] == {Flag.FLAGGED}
    gone = [r for r in graph_fake.requests if r.path.endswith("/messages/delta")
            and "$deltatoken" in r.query]
    assert gone  # the old link was tried first (and answered 410)


async def test_move_updates_server_and_store_without_redownload(
    service: GraphMailService, graph_fake: FakeGraph, store: Store,
) -> None:
    rid = graph_fake.add_message("inbox", subject="to archive")
    await service.sync()
    local_id = _inbox(store)[rid][0]
    message = store.get(local_id)

    await service.move(message, "archive")
    assert [m.id for m in graph_fake.messages_in("archive")] == [message.remote_id]
    assert message.folder == "Archive" and message.remote_id != rid
    assert message.id is not None and store.get(message.id).folder == "Archive"
    downloads = len(graph_fake.graph_requests("GET", "/$value"))
    report = await service.sync()
    assert (report.added, report.removed) == (0, 0)
    assert len(graph_fake.graph_requests("GET", "/$value")) == downloads
    assert store.read_rows("SELECT count(*) FROM messages")[0][0] == 1
