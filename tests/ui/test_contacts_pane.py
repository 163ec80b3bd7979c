"""The contacts pane offscreen: models pass qtmodeltester, selection shows the timeline,
duplicates merge, and a screenshot of a contact with its timeline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from app.demo import open_demo_store
from services.models import ChannelKind
from ui.qt import Qt
from ui.viewmodels.contacts import ContactsViewModel
from ui.views.contacts_pane import ContactsPane

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def test_pane_search_select_merge_and_screenshot(
    qtbot: Any, qtmodeltester: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    store = open_demo_store(tmp_path / "demo.sqlite3")
    vm = ContactsViewModel(store)
    pane = ContactsPane(vm)
    qtbot.addWidget(pane)
    pane.resize(1000, 560)
    pane.show()
    qloop.run_until_complete(pane.settle())
    assert pane.model.rowCount() == len(vm.rows) == 9
    qtmodeltester.check(pane.model)

    pane.search_box.setText("okafor")
    qloop.run_until_complete(asyncio.sleep(0.3))  # the debounce fires, the search runs
    qloop.run_until_complete(pane.settle())
    assert pane.model.rowCount() == 3  # e-mail, phone and chat handle of Ben Okafor

    pane.search_box.setText("")
    qloop.run_until_complete(asyncio.sleep(0.3))
    qloop.run_until_complete(pane.settle())
    qloop.run_until_complete(vm.find_duplicates())
    assert pane.dupes_list.count() == 1 and not pane.dupes_list.isHidden()
    assert "Ben Okafor — 3 entries" in pane.dupes_list.item(0).text()
    pane._merge_group(pane.dupes_list.item(0))
    qloop.run_until_complete(pane.settle())
    assert pane.dupes_list.isHidden() and pane.model.rowCount() == 7
    assert pane.name_label.text() == "Ben Okafor"
    assert "Phone: +15550142" in pane.handles_label.text()
    qtmodeltester.check(pane.timeline_model)
    assert pane.timeline_model.rowCount() == 6
    channels = [pane.timeline_model.item(r).channel
                for r in range(pane.timeline_model.rowCount())]
    assert channels[0] == ChannelKind.CHAT and ChannelKind.SMS in channels
    assert "3 channel(s)" in pane.timeline_label.text()
    assert pane.table.selectionModel().selectedRows()[0].row() == vm.row_of(
        vm.selected.key)  # type: ignore[union-attr]

    # selecting another row through the view loads that contact
    row = next(i for i, e in enumerate(vm.rows) if e.display_name == "Ana Lima")
    pane.table.selectRow(row)
    qloop.run_until_complete(pane.settle())
    assert pane.name_label.text() == "Ana Lima" and pane.timeline_model.rowCount() == 3
    opened: list[int] = []
    pane.open_message.connect(opened.append)
    ix = pane.timeline_model.index(0, 3)
    pane.timeline.doubleClicked.emit(ix)
    assert opened == [pane.timeline_model.item(0).message_id]

    # back to the merged contact for the screenshot
    ben = next(i for i, e in enumerate(vm.rows) if e.display_name == "Ben Okafor")
    pane.table.selectRow(ben)
    qloop.run_until_complete(pane.settle())
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert pane.grab().save(str(SHOTS / "contacts-pane.png"))
    assert pane.table.model().data(pane.model.index(ben, 0), Qt.ItemDataRole.FontRole).bold()
    qloop.run_until_complete(vm.close())
    store.close()


def test_edit_dialog_saves_a_derived_contact(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from ui.views.contacts_pane import ContactEditDialog

    store = open_demo_store(tmp_path / "demo.sqlite3")
    vm = ContactsViewModel(store)
    pane = ContactsPane(vm)
    qtbot.addWidget(pane)
    qloop.run_until_complete(vm.search("yuki"))
    qloop.run_until_complete(vm.select(vm.rows[0].key))
    assert not pane.delete_button.isEnabled()  # derived: nothing saved to forget yet
    dialog = ContactEditDialog(vm.selected.contact, pane)  # type: ignore[union-attr]
    assert dialog.emails.text() == "yuki.sato@example.jp"
    dialog.name.setText("Yuki Sato")
    dialog.phones.setText("+81312345678")
    dialog.chats.setText("slack:@yuki, @yuki-sato")
    edited = dialog.contact()
    assert edited.chat_handles == {"slack": "@yuki", "chat": "@yuki-sato"}
    qloop.run_until_complete(vm.save(edited))
    assert pane.name_label.text() == "Yuki Sato" and pane.delete_button.isEnabled()
    assert "Phone: +81312345678" in pane.handles_label.text()
    assert pane.status_label.text() == "Saved Yuki Sato"
    qloop.run_until_complete(vm.close())
    store.close()
