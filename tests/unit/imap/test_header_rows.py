"""A header sync's rows straight from the header values (``prepare_headers``) are exactly
what ``prepare(parse_header_fields(...))`` makes of the same block and FETCH items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.email.imap.fetchparse import parse_fetch
from services.email.imap.protocol import (
    FetchedMessage,
    fetched_from_response,
    flags_from_imap,
    prepare_header_data,
    prepare_headers,
)
from services.mime.fastheaders import header_values, parse_header_fields
from services.models import Flag
from services.store.blobs import PlainCodec
from services.store.prepare import PreparedMessage, flags_to_bits, prepare
from tests.support.corpus import generate_messages
from tests.unit.mime.test_fastheaders import header_block

CODEC = PlainCodec()
ARRIVED = datetime(2025, 4, 13, 20, 32, 56, tzinfo=UTC)


def through_message(item: FetchedMessage) -> PreparedMessage:
    message = parse_header_fields(item.data, account="a", folder="INBOX",
                                  remote_id=str(item.uid))
    message.flags = item.flags
    message.size = max(item.size, len(item.data))
    message.received_at = item.internaldate
    return prepare(message, item.data, CODEC, compress=False)


def check(block: bytes, size: int = 0, flags: frozenset[Flag] = frozenset(),
          arrived: datetime | None = ARRIVED) -> None:
    item = FetchedMessage(uid=7, flags=flags, size=size, internaldate=arrived, data=block)
    assert prepare_headers(CODEC, "a", "INBOX", [item]) == [through_message(item)]


def test_the_corpus() -> None:
    direct = 0
    for i, generated in enumerate(generate_messages(1500, seed=7)):
        block = header_block(generated.raw)
        direct += header_values(block) is not None
        check(block, size=len(generated.raw), flags=frozenset({Flag.SEEN}) if i % 2 else
              frozenset({Flag.FLAGGED, Flag.ANSWERED}))
    assert direct > 1400  # the direct path, not the fallback, is what was compared


@pytest.mark.parametrize("block", [
    b"", b"garbage without colon\r\n\r\n", b"Content-Type: message/rfc822\r\nSubject: x\r\n\r\n",
    b"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-ID: <c@x>\r\n\r\n",
    b"Content-Type: image/png\r\nContent-Disposition: inline\r\nX-Priority: 5\r\n\r\n",
    b"Subject: Re: [list] AW: hello\r\nSubject: again\r\nDate: nonsense\r\n\r\n",
    b"From: =?utf-8?b?w6k=?= <e@x.org>\r\nSender: s@x.org\r\nReply-To: r@x.org\r\n\r\n",
    b"Subject: \xe9t\xe9\r\nFrom: J\xc3\xa9r\xc3\xb4me <j@x.org>\r\nReferences: <a@b> <>\r\n\r\n",
])
def test_odd_blocks(block: bytes) -> None:
    check(block)
    check(block, size=10**6, arrived=None)  # no INTERNALDATE; the server's size is bigger


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    b"From: A <a@x.org>", b"To: b@x.org, C <c@y.org>", b"Cc: =?utf-8?q?D=C3=A9?= <d@x.org>",
    b"Subject: Re: hi", b"Subject: =?bogus?q?x?=", b"Date: Mon, 1 Jan 2024 10:00:00 +0100",
    b"Message-ID: <m@x>", b"In-Reply-To: <p@x>", b"References: <p@x> <q@x>", b" folded",
    b"Content-Type: text/html; charset=x-unknown", b"Importance: low", b"Bcc: z@x.org",
    b"Content-Disposition: attachment; filename=\"a.txt\"", b"Received: from x; nonsense",
]), max_size=10), st.integers(0, 10_000))
def test_generated_blocks(lines: list[bytes], size: int) -> None:
    check(b"\r\n".join(lines) + b"\r\n\r\n", size=size)


def _answer(seq: int, uid: int, flags: bytes, block: bytes, extra: bytes = b"") -> list[object]:
    head = (f"{seq} (UID {uid} FLAGS ({flags.decode()}) RFC822.SIZE 99 "
            f'INTERNALDATE "13-Apr-2025 20:32:56 +0000" {extra.decode()}'
            f"BODY[HEADER.FIELDS (FROM SUBJECT)] {{{len(block)}}}").encode()
    return [(head, block), b")"]


def test_raw_fetch_data_gives_the_rows_of_the_fetched_messages() -> None:
    """prepare_header_data reads FETCH answers straight into rows: the same rows as
    prepare_headers over fetched_from_response, in the order asked, odd answers included
    (unwanted UIDs, an unsolicited FLAGS update, keywords, an all-digit keyword)."""
    block = b"From: a@x.org\r\nSubject: hi\r\n\r\n"
    data: list[object] = [
        *_answer(1, 10, b"\\Seen \\Flagged $Label1", block),
        *_answer(2, 11, b"", block.replace(b"hi", b"other")),
        *_answer(3, 12, b"\\Answered 99999999999", block),  # never bytes(99999999999)
        b"4 (FLAGS (\\Seen))",  # no UID, no body: dropped
        *_answer(5, 99, b"\\Seen", block),  # not asked for
    ]
    uids = [12, 10, 11]
    rows = prepare_header_data(CODEC, "a", "INBOX", data, uids)
    items = {i.uid: i for i in fetched_from_response(parse_fetch(data))}
    assert rows == prepare_headers(CODEC, "a", "INBOX", [items[u] for u in uids])
    assert [r.remote_id for r in rows] == ["12", "10", "11"]
    assert [r.flags for r in rows] == [
        flags_to_bits(frozenset({Flag.ANSWERED})),
        flags_to_bits(frozenset({Flag.SEEN, Flag.FLAGGED})), 0]
    assert flags_from_imap([b"\\Seen", 99999999999, "\\DELETED"]) == {Flag.SEEN, Flag.DELETED}
