"""Search, send, flags, move and attachments against the Gmail fake."""

from __future__ import annotations

import email.utils

import pytest

from services.email.gmail import GmailService
from services.errors import ConfigurationError
from services.models import Flag
from services.query.builder import EmailQuery
from services.query.gmail import to_gmail
from services.store.store import Store
from tests.fakes.gmail import GmailFake
from tests.integration.gmail.helpers import by_remote
from tests.support.corpus import generate_messages
from tests.support.mail import make_message


async def test_search_sends_q_and_applies_the_residual(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    hit = gmail_fake.add_message(make_message("Invoice 42", body="please pay the invoice"))
    gmail_fake.add_message(make_message("Invoice 43", body="already paid"),
                           ["INBOX", "UNREAD"])
    # Gmail cannot search a prefix: it gets only subject:invoice (3 hits, "Invoice 43" and
    # "Invoice: pay now" included) and the residual body:pay* keeps the one that matches
    gmail_fake.add_message(make_message("Invoice: pay now", body="see subject"))
    gmail_fake.add_message(make_message("Lunch", body="invoice talk later"))
    query = EmailQuery.parse("subject:invoice body:pay*")
    compiled = to_gmail(query.node)
    assert compiled.residual is not None  # a prefix search Gmail cannot do
    found = await service.search_remote(query)
    assert [m.remote_id for m in found] == [hit]
    assert found[0].id is not None and "pay the invoice" in found[0].body_text
    list_calls = [c for c in gmail_fake.calls if c == "messages.list"]
    assert list_calls  # the server did the subject part
    exact = await service.search_remote("subject:lunch")
    assert [m.subject for m in exact] == ["Lunch"]
    assert len(by_remote(store)) == 4  # what Gmail returned is stored (3 invoices + lunch)
    again = await service.search_remote("invoice")
    assert len(again) == 4 and len(by_remote(store)) == 4  # stored once, never twice


async def test_send_raw_lands_in_sent(service: GmailService, gmail_fake: GmailFake) -> None:
    raw = make_message("Report", sender="alice@example.test", to="bob@example.test",
                       message_id="<send-1@example.test>")
    result = await service.send_raw(raw, sender="alice@example.test",
                                    recipients=["bob@example.test"])
    assert result.success and result.provider == "gmail"
    assert result.message_id == "send-1@example.test"
    assert gmail_fake.sent == [raw]
    sent = gmail_fake.by_message_id("send-1@example.test")
    assert sent is not None and "SENT" in sent.labels
    assert await service.has_message_id("<send-1@example.test>")
    assert not await service.has_message_id("nope@example.test")


async def test_flags_both_ways_reach_gmail_and_the_store(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    rid = gmail_fake.add_message(make_message("flag me"), ["INBOX", "UNREAD"])
    await service.sync()
    local_id = by_remote(store)[rid][0]
    message = store.get(local_id)
    await service.set_flags(message, add=[Flag.SEEN, Flag.FLAGGED])
    assert gmail_fake.messages[rid].labels == {"INBOX", "STARRED"}
    assert by_remote(store)[rid][2] >= {Flag.SEEN, Flag.FLAGGED}
    await service.set_flags(message, remove=[Flag.SEEN, Flag.FLAGGED])
    assert gmail_fake.messages[rid].labels == {"INBOX", "UNREAD"}
    assert not by_remote(store)[rid][2] & {Flag.SEEN, Flag.FLAGGED}
    report = await service.sync()  # our own changes come back through history: no-ops
    assert report.updated == 0 and report.added == 0


async def test_move_is_a_label_change(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    rid = gmail_fake.add_message(make_message("move me"), ["INBOX"])
    await service.sync()
    message = store.get(by_remote(store)[rid][0])
    await service.move(message, "Archive")
    assert gmail_fake.messages[rid].labels == set()
    assert by_remote(store)[rid][1] == "Archive"
    await service.move(message, "TRASH")
    assert gmail_fake.messages[rid].labels == {"TRASH"}
    assert by_remote(store)[rid][1] == "TRASH"
    with pytest.raises(ConfigurationError):
        await service.move(message, "No such label")


async def test_attachment_download_through_attachments_get(
    service: GmailService, gmail_fake: GmailFake, store: Store
) -> None:
    corpus = next(m for m in generate_messages(60, seed=3) if m.attachments)
    rid = gmail_fake.add_message(corpus.raw)
    await service.sync()
    message = store.get(by_remote(store)[rid][0])
    remote = await service.attachments(message)
    assert [a.filename for a in remote] == [a.filename for a in corpus.attachments]
    before = gmail_fake.calls.count("attachments.get")
    data = remote[0].read()  # lazy: fetched now
    assert gmail_fake.calls.count("attachments.get") == before + 1
    assert len(data) == corpus.attachments[0].size
    local = store.get(message.id or 0).attachments[0].read()
    assert data == local  # the same bytes as the stored raw message holds


def test_fake_dates_follow_the_date_header(gmail_fake: GmailFake) -> None:
    raw = make_message("dated", headers={})
    rid = gmail_fake.add_message(raw)
    head = email.utils.parsedate_to_datetime(
        raw.split(b"Date: ")[1].split(b"\r\n")[0].decode())
    assert gmail_fake.messages[rid].internal_date == int(head.timestamp() * 1000)
