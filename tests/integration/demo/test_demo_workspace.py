"""The embedded demo end to end: compose → undo window → outbox → real SMTP client →
the in-process aiosmtpd server on 127.0.0.1 → the demo Maildir → the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.demo import DEMO_ACCOUNT, DemoWorkspace
from services.contacts import ContactsService
from services.query.builder import EmailQuery
from services.store import outbox as outbox_rows
from ui.viewmodels.compose import ComposeViewModel


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoWorkspace]:
    ws = DemoWorkspace.open(tmp_path / "demo" / "commhub-demo.sqlite3")
    yield ws
    await ws.aclose()
    ws.close()


def _compose(ws: DemoWorkspace, **kw: object) -> ComposeViewModel:
    return ComposeViewModel(store=ws.store, account=DEMO_ACCOUNT, identity=ws.identity,
                            deliver=ws.deliver, contacts=ContactsService(ws.store), **kw)


def test_seeded_maildir_has_real_attachments(tmp_path: Path) -> None:
    ws = DemoWorkspace.open(tmp_path / "d.sqlite3")
    try:
        files = list((tmp_path / "d-maildir").rglob("*"))
        assert len([f for f in files if f.is_file() and f.parent.name in ("cur", "new")]) == 11
        invoice = ws.store.search(EmailQuery.parse("subject:invoice has:attachment"))
        full = ws.store.get(invoice[0].id or 0)
        pdf = full.attachments[0].read()
        assert full.attachments[0].filename == "INV-2026-0142.pdf"
        assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
        photos = ws.store.search(EmailQuery.parse("has:attachment from:dmitri"))
        jpeg = ws.store.get(photos[0].id or 0).attachments[0].read()
        assert jpeg[:3] == b"\xff\xd8\xff" and len(jpeg) > 5000
        counts = ws.store.account_stats()
        assert counts == {"demo": 11, "demo-sms": 3, "demo-chat": 1}
    finally:
        ws.close()
    again = DemoWorkspace.open(tmp_path / "d.sqlite3")  # reopening adds nothing twice
    assert again.store.account_stats()["demo"] == 11
    again.close()


async def test_compose_send_arrives_in_the_inbox(demo: DemoWorkspace,
                                                 tmp_path: Path) -> None:
    before = demo.store.count(EmailQuery.parse("folder:INBOX"))
    report = tmp_path / "notes.txt"
    report.write_text("meeting notes\n")
    vm = _compose(demo, undo_seconds=0.05)
    vm.set(to="Ana Lima <ana.lima@northwind.example>", subject="Demo round trip",
           body="Hello from the compose window")
    assert vm.attach_paths([report]) == []
    task = vm.send()
    assert task is not None and vm.state == "pending"
    await task
    assert vm.state == "sent", vm.error
    assert demo.smtp is not None and demo.smtp.port > 0
    found = demo.store.search(EmailQuery.parse('subject:"Demo round trip"'))
    assert len(found) == 1 and found[0].folder == "INBOX" and found[0].account == DEMO_ACCOUNT
    full = demo.store.get(found[0].id or 0)
    assert "Hello from the compose window" in full.body_text
    assert [a.filename for a in full.attachments] == ["notes.txt"]
    assert full.message_id and vm.message_id in full.message_id
    assert demo.store.count(EmailQuery.parse("folder:INBOX")) == before + 1
    assert outbox_rows.get(demo.store, vm.message_id).status == "sent"
    new_files = list((tmp_path / "demo" / "commhub-demo-maildir" / "new").iterdir())
    assert any(b"Demo round trip" in f.read_bytes() for f in new_files)


async def test_undo_inside_the_window_sends_nothing(demo: DemoWorkspace) -> None:
    vm = _compose(demo, undo_seconds=2)
    vm.set(to="ben@okafor.example", subject="Oops", body="not this one")
    task = vm.send()
    assert task is not None
    assert outbox_rows.get(demo.store, vm.message_id).status == "draft"  # kept meanwhile
    await asyncio.sleep(0.05)
    assert vm.undo() and vm.state == "editing"
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()  # the deliver step never ran
    assert demo.store.search(EmailQuery.parse("subject:Oops")) == []
    assert demo.smtp is None  # the server was never even needed
    await vm.close()  # what was typed is kept as a draft
    assert outbox_rows.get(demo.store, vm.message_id).status == "draft"


async def test_send_later_is_a_scheduled_outbox_row(demo: DemoWorkspace) -> None:
    vm = _compose(demo)
    vm.set(to="chloe.martin@acme.example", subject="Later", body="tomorrow morning")
    when = datetime.now().astimezone() + timedelta(seconds=1)
    assert await vm.send_later(when) and vm.state == "scheduled"
    row = outbox_rows.get(demo.store, vm.message_id)
    assert row.status == "queued" and row.next_attempt == pytest.approx(when.timestamp())
    assert outbox_rows.due(demo.store, time.time()) == []
    runner = demo.start_background(poll_interval=0.1)
    for _ in range(100):  # delivered (the server's 250), then marked sent by the client
        if outbox_rows.get(demo.store, vm.message_id).status == "sent":
            break
        await asyncio.sleep(0.05)
    assert not runner.done()
    assert outbox_rows.get(demo.store, vm.message_id).status == "sent"
    assert len(demo.store.search(EmailQuery.parse("subject:Later"))) == 1


async def test_aclose_stops_everything(demo: DemoWorkspace) -> None:
    runner = demo.start_background(poll_interval=0.1)
    await asyncio.sleep(0.05)
    assert demo.smtp is not None
    await demo.aclose()
    assert runner.cancelled() and demo.smtp is None


async def test_stop_now_needs_no_loop_iteration(demo: DemoWorkspace) -> None:
    runner = demo.start_background(poll_interval=0.1)
    port = await demo.start_smtp()
    demo.stop_now()  # what the app does while its loop is stopping
    assert demo.smtp is None
    await asyncio.sleep(0)
    assert runner.cancelled() or runner.done()
    with pytest.raises(OSError):
        _r, _w = await asyncio.open_connection("127.0.0.1", port)


async def test_server_listens_on_loopback_only(demo: DemoWorkspace) -> None:
    port = await demo.start_smtp()
    assert demo.smtp is not None and demo.smtp._server is not None
    hosts = {s.getsockname()[0] for s in demo.smtp._server.sockets}
    assert hosts == {"127.0.0.1"} and 1024 < port < 65536
