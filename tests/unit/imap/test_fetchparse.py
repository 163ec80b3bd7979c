"""parse_fetch returns exactly what imapclient's parse_fetch_response returns (times kept in
the server's offset: ``normalise_times=False``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from imapclient.response_parser import parse_fetch_response

from services.email.imap.fetchparse import parse_fetch
from services.email.imap.protocol import fetched_from_response

CASES = [
    [(b'1 (UID 5 FLAGS (\\Seen \\Answered) RFC822.SIZE 1234 INTERNALDATE '
      b'"02-Jul-2022 10:00:57 +0100" BODY[HEADER] {17}', b"Subject: hi\r\n\r\n\r\n"), b")",
     (b'2 (UID 9 FLAGS () RFC822.SIZE 7 INTERNALDATE " 2-Jan-2020 23:59:59 -0530" '
      b"BODY[HEADER] {0}", b""), b")"],
    [b"3 (UID 12 FLAGS (\\Flagged $Label1) MODSEQ (77))", b"4 (FLAGS (\\Seen) UID 13)"],
    [(b"5 (UID 1 BODY[HEADER.FIELDS (FROM SUBJECT)] {3}", b"a\r\n"),
     (b" BODY[TEXT]<0> {2}", b"xy"), b")"],
    [b'6 (UID 2 ENVELOPE (NIL "subj" NIL NIL NIL NIL NIL NIL NIL NIL))'],
    [b'7 (UID 3 X-GM-LABELS ("a\\"b" NIL) RFC822.SIZE 0123)'],
    [(b'10 (UID 20 FLAGS (\\Seen) BODY[HEADER] {3}', b"a\r\n"), b" UID 20)"],
    [(b'11 (UID 21 FLAGS (\\Seen) BODY[HEADER] {3}', b"a\r\n"), b")",
     b'12 (UID 22 FLAGS (\\Deleted) INTERNALDATE "01-Feb-2021 00:00:00 +1400")'],
    [(b'13 (uid 23 flags (\\Seen NIL) rfc822.size 5 body[header] {3}', b"a\r\n"), b")"],
    [b"8 (UID 4 BODY[] NIL)"],
    [None],
    [],
]


@pytest.mark.parametrize("data", CASES)
def test_same_as_imapclient(data: list[object]) -> None:
    expected = dict(parse_fetch_response(list(data), False, False)) if data != [None] else {}
    assert parse_fetch(data) == expected


def test_malformed_raises_like_imapclient() -> None:
    bad = [b"9 (UID"]
    with pytest.raises(Exception):  # noqa: B017 - whatever imapclient raises
        parse_fetch_response(bad, False, False)
    with pytest.raises(Exception):  # noqa: B017
        parse_fetch(bad)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_arrival_time_does_not_depend_on_the_local_zone() -> None:
    data = [(b'1 (UID 5 FLAGS () RFC822.SIZE 3 INTERNALDATE "02-Jul-2022 10:00:57 +0100" '
             b"BODY[HEADER] {3}", b"a\r\n"), b")"]
    [fetched] = fetched_from_response(parse_fetch(data))
    assert fetched.internaldate == datetime(2022, 7, 2, 9, 0, 57, tzinfo=UTC)
