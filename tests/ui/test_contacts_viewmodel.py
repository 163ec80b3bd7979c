"""The contacts view-model as plain async Python over the demo store (no QApplication)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import open_demo_store
from services.models import ChannelKind, Contact
from services.store import Store
from ui.viewmodels.contacts import ContactsViewModel


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_demo_store(tmp_path / "demo.sqlite3")
    yield s
    s.close()


async def test_search_select_and_timeline(store: Store) -> None:
    vm = ContactsViewModel(store)
    changes: list[int] = []
    vm.on_rows_changed(lambda: changes.append(len(vm.rows)))
    await vm.search("")
    assert changes == [len(vm.rows)] and len(vm.rows) == 9
    await vm.search("ana")
    assert [e.display_name for e in vm.rows] == ["Ana Lima"]
    await vm.select(vm.rows[0].key)
    assert vm.selected is not None and vm.selected.display_name == "Ana Lima"
    assert [t.subject for t in vm.timeline] == [
        "Re: Quarterly report draft", "Re: Quarterly report draft", "Quarterly report draft"]
    assert [t.incoming for t in vm.timeline] == [True, False, True]
    await vm.close()


async def test_find_duplicates_and_merge(store: Store) -> None:
    vm = ContactsViewModel(store)
    await vm.search("")
    groups = await vm.find_duplicates()
    assert len(groups) == 1 and len(groups[0]) == 3
    merged = await vm.merge([e.key for e in groups[0]])
    assert merged is not None and vm.duplicates == []
    assert vm.selected is not None and vm.selected.key == merged.key
    assert {t.channel for t in vm.timeline} == {ChannelKind.EMAIL, ChannelKind.SMS,
                                                ChannelKind.CHAT}
    assert len(vm.rows) == 7 and "Merged 3 contacts" in vm.status
    await vm.close()


async def test_bad_edit_reports_an_error_and_changes_nothing(store: Store) -> None:
    vm = ContactsViewModel(store)
    await vm.search("")
    saved = await vm.save(Contact("ben@okafor.example", name="Ben"))
    assert saved is not None and vm.error is None
    clash = await vm.save(Contact(emails=["BEN@okafor.example"], name="Impostor"))
    assert clash is None and vm.error is not None and "already belongs to 'Ben'" in vm.error
    assert [e.display_name for e in vm.rows if e.recorded] == ["Ben"]
    await vm.delete(saved.key)
    assert vm.selected is None and not any(e.recorded for e in vm.rows)
    await vm.close()


@pytest.mark.parametrize("name", ["compose", "contacts", "accounts"])
def test_viewmodels_do_not_import_qt(name: str) -> None:
    import importlib

    mod = importlib.import_module(f"ui.viewmodels.{name}")
    source = Path(mod.__file__ or "").read_text()
    assert "ui.qt" not in source and "PySide6" not in source
