"""The compose view-model as plain async Python over a real store (no QApplication)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import DEMO_ACCOUNT, DemoWorkspace
from services.contacts import ContactsService
from services.models import Address, SendResult
from services.query.builder import EmailQuery
from services.store import outbox as outbox_rows
from ui.viewmodels.compose import ComposeViewModel


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[DemoWorkspace]:
    w = DemoWorkspace.open(tmp_path / "demo.sqlite3")
    yield w
    w.close()


class _Recorder:
    """A deliver that records what the outbox would be handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str, tuple[str, ...], str]] = []

    async def __call__(self, raw: bytes, sender: str, rcpts, mid: str) -> SendResult:  # type: ignore[no-untyped-def]
        self.calls.append((raw, sender, tuple(rcpts), mid))
        return SendResult.sent(mid, provider="recorder")


async def _until(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


def _vm(ws: DemoWorkspace, deliver=None, **kw) -> ComposeViewModel:  # type: ignore[no-untyped-def]
    return ComposeViewModel(store=ws.store, account=DEMO_ACCOUNT, identity=ws.identity,
                            deliver=deliver, contacts=ContactsService(ws.store), **kw)


async def test_autosave_keeps_one_draft_and_reopens_everything(ws: DemoWorkspace,
                                                               tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    vm = _vm(ws, autosave_seconds=0.02)
    vm.start_autosave()
    vm.set(to="ana.lima@northwind.example, half-typed-addr", subject="Plan", body="first")
    vm.attach_paths([photo])
    await _until(lambda: vm.drafts_saved >= 1)
    await asyncio.sleep(0.1)
    assert vm.drafts_saved == 1  # saved once: nothing changed since
    vm.set(body="second version", rich=True, html="<p>second <b>version</b></p>")
    await _until(lambda: vm.drafts_saved >= 2)
    await vm.close()
    drafts = outbox_rows.list_items(ws.store, "draft")
    assert [d.message_id for d in drafts] == [vm.message_id]
    again = ComposeViewModel.open_draft(ws.store, vm.message_id, identity=ws.identity,
                                        deliver=None)
    assert again.to == "ana.lima@northwind.example, half-typed-addr"  # nothing lost
    assert again.subject == "Plan" and again.body.strip() == "second version"
    assert again.rich and again.html is not None and "<b>version</b>" in again.html
    assert [(a.name, a.data) for a in again.attachments] == [("photo.jpg", photo.read_bytes())]


async def test_send_refuses_bad_recipients_with_a_clear_error(ws: DemoWorkspace) -> None:
    rec = _Recorder()
    vm = _vm(ws, rec, undo_seconds=0)
    vm.set(to="ana.lima@northwind.example, bob@", subject="x", body="y")
    assert vm.send() is None
    assert vm.error is not None and "bob@" in vm.error and vm.state == "editing"
    vm.set(to="")
    assert vm.send() is None and vm.error and "recipient" in vm.error
    assert rec.calls == []


async def test_bcc_is_in_the_envelope_not_the_headers(ws: DemoWorkspace) -> None:
    rec = _Recorder()
    vm = _vm(ws, rec, undo_seconds=0)
    vm.set(to="ana.lima@northwind.example", bcc="secret@example.org", subject="S", body="B")
    await vm.send()  # type: ignore[misc]
    raw, sender, rcpts, mid = rec.calls[0]
    assert rcpts == ("ana.lima@northwind.example", "secret@example.org")
    assert b"secret@example.org" not in raw and sender == "you@commhub.example"
    assert mid == vm.message_id and vm.state == "sent"
    assert vm.send() is None  # sent once, never twice


async def test_reply_all_and_forward_are_prefilled(ws: DemoWorkspace) -> None:
    hit = ws.store.search(EmailQuery.parse('subject:"Quarterly report" has:attachment'))
    original = ws.store.get(hit[-1].id or 0)
    vm = _vm(ws)
    vm.reply_to(original, everyone=True)
    assert vm.to == "Ana Lima <ana.lima@northwind.example>" and vm.cc == ""
    assert vm.subject == "Re: Quarterly report draft"
    assert vm.in_reply_to and original.message_id and vm.in_reply_to in original.message_id
    assert "> Hi! Attached is the first draft" in vm.body and not vm.dirty
    fwd = _vm(ws)
    fwd.forward(original, raw=ws.store.raw(original.id or 0))
    assert fwd.subject == "Fwd: Quarterly report draft" and fwd.to == ""
    assert [a.name for a in fwd.attachments] == ["report-q3.pdf"]
    assert fwd.attachments[0].data.startswith(b"%PDF")


async def test_completion_comes_from_contacts(ws: DemoWorkspace) -> None:
    vm = _vm(ws)
    assert await vm.complete("chl") == ["Chloé Martin <chloe.martin@acme.example>"]
    assert await vm.complete(" ") == []
    assert Address.parse((await vm.complete("okafor"))[0]).address == "ben@okafor.example"


async def test_failed_delivery_is_reported_and_editable(ws: DemoWorkspace) -> None:
    async def refuse(raw, sender, rcpts, mid):  # type: ignore[no-untyped-def]
        return SendResult.failed("550 mailbox unavailable", message_id=mid)

    vm = _vm(ws, refuse, undo_seconds=0)
    vm.set(to="nobody@example.org", subject="x", body="y")
    await vm.send()  # type: ignore[misc]
    assert vm.state == "failed" and vm.error == "550 mailbox unavailable"
    assert "Not sent" in vm.status
