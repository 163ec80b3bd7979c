"""The inbox and sidebar view-models, as plain async Python over real stores (no Qt)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from services.models import ChannelKind, Flag, SortOrder
from services.store import Store
from tests.ui.inbox_stores import bulk_messages, bulk_store, mail_store
from ui.viewmodels.inbox import InboxViewModel
from ui.viewmodels.sidebar import UNIFIED, SavedSearches, SidebarViewModel


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = mail_store(tmp_path / "mail.sqlite3")
    yield s
    s.close()


@pytest.fixture
def bulk(tmp_path: Path) -> Any:
    s = bulk_store(tmp_path / "bulk.sqlite3", 1000)
    yield s
    s.close()


def rows(vm: InboxViewModel) -> list[Any]:
    return [vm.row(i) for i in range(vm.count)]


async def test_search_counts_and_pages_newest_first_across_channels(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    resets: list[int] = []
    vm.on_reset(lambda: resets.append(vm.count))
    await vm.search("")
    assert resets == [6] and vm.count == 6
    got = rows(vm)
    assert all(r is not None for r in got)
    stamps = [r.timestamp for r in got]
    assert stamps == sorted(stamps, reverse=True)
    assert {r.channel for r in got} == {ChannelKind.EMAIL, ChannelKind.SMS}
    assert sum(r.unread for r in got) == 5  # everything but the Sent reply
    await vm.close()


def test_viewmodel_modules_do_not_import_qt() -> None:
    import ui.viewmodels.inbox
    import ui.viewmodels.reader
    import ui.viewmodels.sidebar

    for mod in (ui.viewmodels.inbox, ui.viewmodels.reader, ui.viewmodels.sidebar):
        source = Path(str(mod.__file__)).read_text()
        assert "PySide6" not in source and "ui.qt" not in source, mod.__name__
    code = ("import sys, ui.viewmodels.inbox, ui.viewmodels.reader, ui.viewmodels.sidebar; "
            "print('PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], check=True)
    assert out.stdout.strip() == "False"


async def test_pages_load_on_demand_and_cache_is_bounded(bulk: Store) -> None:
    vm = InboxViewModel(bulk, page_size=50, max_pages=4, debounce=0)
    loaded: list[tuple[int, int]] = []
    vm.on_rows_loaded(lambda a, b: loaded.append((a, b)))
    await vm.search("")
    assert vm.count == 1000
    assert loaded == [(0, 49)] and vm.cached_pages() == [0]
    assert vm.row(500) is None  # not loaded yet: requested
    await vm.ensure_rows(500, 500)
    row = vm.row(500)
    assert row is not None and row.subject == "Subject 000500"
    # a jump (page 10 without page 9) found its keyset anchor correctly
    await vm.ensure_rows(0, 999)
    assert len(vm.cached_pages()) <= 4
    await vm.ensure_rows(950, 999)
    assert vm.row(999) is not None and vm.row(999).subject == "Subject 000999"  # type: ignore[union-attr]
    # sequential pages after a jump line up with no gap or overlap
    await vm.ensure_rows(700, 799)
    subjects = [vm.row(i).subject for i in range(700, 800)]  # type: ignore[union-attr]
    assert subjects == [f"Subject {i:06d}" for i in range(700, 800)]
    await vm.close()


async def test_sort_by_sender_and_oldest_first(bulk: Store) -> None:
    vm = InboxViewModel(bulk, page_size=100, debounce=0)
    await vm.set_sort("date", SortOrder.ASC)
    assert vm.row(0).subject == "Subject 000999"  # type: ignore[union-attr]
    await vm.set_sort("from", SortOrder.ASC)
    await vm.ensure_rows(0, 199)
    senders = [vm.row(i).sender for i in range(200)]  # type: ignore[union-attr]
    assert senders == sorted(senders)
    with pytest.raises(ValueError):
        vm.set_sort("colour", SortOrder.ASC)
    await vm.close()


async def test_bad_query_sets_error_and_keeps_rows(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    await vm.search("subject:report")
    assert vm.count == 3
    await vm.search("(unbalanced")
    assert vm.error is not None and len(vm.error) > 10
    assert vm.count == 3 and vm.row(0) is not None
    await vm.search("from:ben")
    assert vm.error is None and vm.count == 1
    await vm.close()


async def test_sidebar_selection_narrows_and_search_narrows_further(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    await vm.set_base_query('account:"work" folder:"INBOX"')
    assert vm.count == 3
    await vm.search("has:attachment")
    assert vm.count == 2
    await vm.set_base_query("")
    assert vm.count == 2  # the search text stays; every account again
    await vm.close()


async def test_debounced_search_runs_only_the_last_text(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0.05)
    seen: list[str] = []
    vm.on_reset(lambda: seen.append(vm.query_text))
    tasks = [vm.search(t) for t in ("q", "qu", "from:", "from:ana")]
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(t.cancelled() for t in tasks[:-1])
    assert seen == ["from:ana"] and vm.count == 2
    await vm.close()


class _SlowStore:
    """A real store whose counts wait on a gate, to observe cancellation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def count(self, query: Any) -> int:
        self.gate.wait(5)
        return self.store.count(query)


async def test_new_search_cancels_the_running_one(store: Store) -> None:
    slow = _SlowStore(store)
    vm = InboxViewModel(slow, debounce=0)  # type: ignore[arg-type]
    first = vm.search("subject:report")
    await asyncio.sleep(0.05)
    second = vm.search("from:ben")
    slow.gate.set()
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert vm.query_text == "from:ben" and vm.count == 1
    assert "Ben" in vm.row(0).sender  # type: ignore[union-attr]
    await vm.close()


async def test_grouping_shows_one_row_per_conversation(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    await vm.set_grouped(True)
    assert vm.count == 3  # report thread, phishing mail, the SMS conversation
    report = next(r for r in rows(vm) if "Quarterly" in r.subject)
    assert report.thread_size == 3 and report.unread
    await vm.set_grouped(False)
    assert vm.count == 6
    await vm.close()


async def test_new_unread_message_is_announced_and_counted(bulk: Store) -> None:
    vm = InboxViewModel(bulk, debounce=0)
    vm.start()
    await vm.search("")
    announced: list[list[Any]] = []
    got = asyncio.Event()
    vm.on_new_messages(lambda r: (announced.append(r), got.set()))
    more = bulk_messages(1, account="bulk")
    fresh = more[0][0].with_changes(remote_id="new-1", subject="Brand new", flags=frozenset())
    await asyncio.to_thread(bulk.ingest, [(fresh, b'{"new": 1}')])
    await asyncio.wait_for(got.wait(), 5)
    assert [r.subject for r in announced[0]] == ["Brand new"]
    for _ in range(100):
        if vm.count == 1001:
            break
        await asyncio.sleep(0.02)
    assert vm.count == 1001
    await vm.close()


async def test_flag_change_reloads_rows_in_place(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    vm.start()
    await vm.search("")
    resets: list[int] = []
    loaded = asyncio.Event()
    vm.on_reset(lambda: resets.append(1))
    vm.on_rows_loaded(lambda a, b: loaded.set())
    target = vm.row(0)
    assert target is not None and target.unread
    await asyncio.to_thread(store.set_flags, target.id, [Flag.SEEN])
    await asyncio.wait_for(loaded.wait(), 5)
    assert vm.row(0).unread is False  # type: ignore[union-attr]
    assert resets == []  # same rows: no reset (the selection survives)
    await vm.close()


async def test_delete_removes_from_store_and_list(store: Store) -> None:
    vm = InboxViewModel(store, debounce=0)
    await vm.search("channel:sms")
    assert vm.count == 2
    assert await vm.delete([vm.row(0).id]) == 1  # type: ignore[union-attr]
    assert vm.count == 1
    await vm.close()


async def test_sidebar_lists_accounts_folders_and_saved_searches(
    store: Store, tmp_path: Path
) -> None:
    saved = SavedSearches(tmp_path / "conf" / "saved.json")
    vm = SidebarViewModel(store, saved)
    changes: list[int] = []
    vm.on_changed(lambda: changes.append(1))
    await vm.refresh()
    labels = [e.label for e in vm.entries]
    assert labels[0] == UNIFIED and vm.entries[0].query == ""
    work = next(e for e in vm.entries if e.label.startswith("work"))
    assert sorted(c.label for c in work.children) == ["INBOX", "Sent"]
    inbox = next(c for c in work.children if c.label == "INBOX")
    assert inbox.query == 'account:"work" folder:"INBOX"'
    await vm.save_search("Attachments", "has:attachment")
    assert vm.entries[-1].label == "Saved searches"
    assert vm.entries[-1].children[0].query == "has:attachment"
    again = SavedSearches(tmp_path / "conf" / "saved.json")
    assert again.items == [("Attachments", "has:attachment")]
    assert len(changes) == 2
