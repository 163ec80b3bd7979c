"""Folders and sync against the Gmail fake, with the real googleapiclient."""

from __future__ import annotations

from collections import Counter

from services.email.gmail import GmailService
from services.email.gmail.sync import STATE_FOLDER
from services.models import Flag
from services.store.store import Store
from services.store.syncstate import get_sync_state
from tests.fakes.gmail import GmailFake
from tests.integration.gmail.helpers import by_remote, labels_of, stored
from tests.support.corpus import GeneratedMessage, generate_messages
from tests.support.mail import make_message


def gmail_labels(m: GeneratedMessage) -> list[str]:
    labels = {"INBOX": ["INBOX"], "Sent": ["SENT"], "Archive": []}.get(m.folder, [m.folder])
    if "\\Seen" not in m.flags:
        labels.append("UNREAD")
    if "\\Flagged" in m.flags:
        labels.append("STARRED")
    return labels


def expected_folder(labels: list[str]) -> str:
    """INBOX or SENT if present, else Archive (user labels do not make a folder)."""
    return next((s for s in ("INBOX", "SENT") if s in labels), "Archive")


async def test_labels_become_folders_with_roles(service: GmailService, gmail_fake: GmailFake
                                                ) -> None:
    gmail_fake.add_label("Work/Projects")
    gmail_fake.add_label("Receipts")
    folders = {f.name: f.role for f in await service.list_folders()}
    assert folders["INBOX"] == "inbox"
    assert folders["SENT"] == "sent"
    assert folders["DRAFT"] == "drafts"
    assert folders["TRASH"] == "trash"
    assert folders["SPAM"] == "junk"
    assert folders["STARRED"] == "flagged"
    assert folders["Archive"] == "archive"
    assert folders["Work/Projects"] is None and folders["Receipts"] is None
    assert "UNREAD" not in folders


async def test_full_sync_batched_counts_flags_folders(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    corpus = list(generate_messages(120, seed=7))
    ids = {gmail_fake.add_message(m.raw, gmail_labels(m)): m for m in corpus}
    progress: list[tuple[int, int | None]] = []
    report = await service.sync(progress=lambda d, t: progress.append((d, t)))
    assert report.added == 120 and not report.full_resync and report.removed == 0
    assert progress[-1] == (120, 120)
    assert gmail_fake.batches and max(gmail_fake.batches) <= 50  # batched gets
    assert "messages.get" in gmail_fake.calls
    rows = by_remote(store)
    assert set(rows) == set(ids)
    for rid, m in ids.items():
        local_id, folder, flags = rows[rid]
        labels = gmail_labels(m)
        assert folder == expected_folder(labels), (m.folder, folder)
        assert (Flag.SEEN in flags) == ("UNREAD" not in labels)
        assert (Flag.FLAGGED in flags) == ("STARRED" in labels)
        user = {lb for lb in labels if lb not in ("INBOX", "SENT", "UNREAD", "STARRED")}
        assert labels_of(store, local_id) == user
    state = get_sync_state(store, "work", STATE_FOLDER)
    assert state is not None and state.token == str(gmail_fake.history_id)
    full = store.get(rows[next(iter(ids))][0])
    assert full.body_text  # format=raw: bodies are local, searchable offline
    folders = Counter(f for _, f, _ in rows.values())
    assert folders["INBOX"] == sum(1 for m in corpus if m.folder == "INBOX")


async def test_incremental_add_delete_and_label_changes(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    first = gmail_fake.add_message(make_message("first"), ["INBOX", "UNREAD"])
    second = gmail_fake.add_message(make_message("second"), ["INBOX"])
    await service.sync()
    gets_before = gmail_fake.calls.count("messages.get")
    third = gmail_fake.add_message(make_message("third"), ["INBOX", "UNREAD"])
    gmail_fake.delete_message(second)
    gmail_fake.set_labels(first, add=("STARRED", "Receipts"), remove=("UNREAD", "INBOX"))
    report = await service.sync()
    assert not report.full_resync
    assert (report.added, report.removed, report.updated) == (1, 1, 1)
    assert gmail_fake.calls.count("messages.get") - gets_before == 2  # third raw, first minimal
    rows = by_remote(store)
    assert set(rows) == {first, third}
    local_id, folder, flags = rows[first]
    assert folder == "Archive" and flags >= {Flag.SEEN, Flag.FLAGGED}
    assert labels_of(store, local_id) == {"Receipts"}
    assert rows[third][1] == "INBOX" and Flag.SEEN not in rows[third][2]
    again = await service.sync()  # nothing new: no change, no fetch
    assert (again.added, again.removed, again.updated) == (0, 0, 0)


async def test_expired_history_full_resync_without_duplicates(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    keep = [gmail_fake.add_message(make_message(f"m{i}"), ["INBOX", "UNREAD"]) for i in range(5)]
    await service.sync()
    ids_before = {rid: row[0] for rid, row in by_remote(store).items()}
    gmail_fake.delete_message(keep[0])
    gmail_fake.set_labels(keep[1], remove=("UNREAD",))
    new = gmail_fake.add_message(make_message("late"), ["INBOX"])
    gmail_fake.expire_history()
    report = await service.sync()
    assert report.full_resync
    assert (report.added, report.removed, report.updated) == (1, 1, 1)
    rows = by_remote(store)
    assert set(rows) == {*keep[1:], new}
    assert len(stored(store)) == 5  # no duplicates
    assert all(rows[r][0] == ids_before[r] for r in keep[1:])  # same local ids
    assert Flag.SEEN in rows[keep[1]][2]
    assert not (await service.sync()).full_resync  # the new historyId works
