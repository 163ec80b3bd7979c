"""The inbox view-model, as plain async Python over a real store (no QApplication)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from app.demo import open_demo_store
from services.models import ChannelKind
from services.store import Store
from ui.viewmodels.inbox import InboxViewModel


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_demo_store(tmp_path / "demo.sqlite3")
    yield s
    s.close()


async def test_search_fills_rows_newest_first_across_channels(store: Store) -> None:
    vm = InboxViewModel(store)
    changes: list[int] = []
    vm.on_rows_changed(lambda: changes.append(len(vm.rows)))
    await vm.search("")
    assert changes and changes[-1] == len(vm.rows) > 10
    dates = [r.date for r in vm.rows]
    assert dates == sorted(dates, reverse=True)
    assert {ChannelKind.EMAIL, ChannelKind.SMS, ChannelKind.CHAT} <= {r.channel for r in vm.rows}
    await vm.close()


def test_viewmodel_module_does_not_import_qt() -> None:
    import ui.viewmodels.inbox as mod

    assert "qt" not in {n.split(".")[-1] for n in vars(mod) if not n.startswith("_")}
    assert not any(
        line.lstrip().startswith(("from ui.qt", "import PySide6", "from PySide6"))
        for line in Path(mod.__file__).read_text().splitlines()
    )


async def test_bad_query_sets_error_and_keeps_rows(store: Store) -> None:
    vm = InboxViewModel(store)
    await vm.search("subject:report")
    before = list(vm.rows)
    assert before
    await vm.search("(unbalanced")
    assert vm.error is not None and len(vm.error) > 10
    assert vm.rows == before
    await vm.close()


async def test_open_loads_full_message(store: Store) -> None:
    vm = InboxViewModel(store)
    await vm.search("has:attachment subject:report")
    assert vm.rows
    await vm.open(0)
    assert vm.current is not None and vm.current.attachments
    assert "revenue" in vm.current.body_text or "version" in vm.current.body_text
    await vm.close()


class _SlowStore:
    """A real store whose searches wait on a gate, to observe cancellation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()
        self.calls: list[str] = []

    def search(self, query):  # type: ignore[no-untyped-def]
        self.calls.append(query.to_text())
        self.gate.wait(5)
        return self.store.search(query)

    def get(self, message_id: int):  # type: ignore[no-untyped-def]
        return self.store.get(message_id)


async def test_new_search_cancels_the_previous_one(store: Store) -> None:
    slow = _SlowStore(store)
    vm = InboxViewModel(slow)  # type: ignore[arg-type]
    first = vm.search("subject:report")
    await asyncio.sleep(0.05)
    second = vm.search("from:ben")
    slow.gate.set()
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert vm.query_text == "from:ben"
    assert vm.rows and all("Ben" in r.sender for r in vm.rows)
    await vm.close()
