"""parse_fetch returns exactly what imapclient's parse_fetch_response returns (times kept in
the server's offset: ``normalise_times=False``); header_answers reads a header sync's usual
answers to the same values, and declines anything else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient.response_parser import parse_fetch_response

from services.email.imap.fetchparse import header_answers, parse_fetch
from services.email.imap.protocol import (
    _answer_items,
    _data_answers,
    _in_order,
    fetched_from_response,
)

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


# -- header_answers: the header sync's usual shape, read with one match per answer ------

def _usual(seq: int, uid: int, flags: bytes = b"\\Seen", size: bytes = b"99",
           when: bytes = b"13-Apr-2025 20:32:56 +0200", block: bytes = b"Subject: x\r\n\r\n",
           section: bytes = b"BODY[HEADER.FIELDS (FROM SUBJECT)]") -> list[object]:
    line = (b"%d (UID %d FLAGS (%s) RFC822.SIZE %s INTERNALDATE \"%s\" %s {%d}"
            % (seq, uid, flags, size, when, section, len(block)))
    return [(line, block), b")"]


def _general(data: list[object], uids: list[int]) -> list[object]:
    return list(_in_order(_answer_items(parse_fetch(data)), uids))


USUAL = [
    _usual(1, 10) + _usual(2, 11, b"", block=b"") + [None] + _usual(3, 12, b"\\Answered 007 7"),
    _usual(4, 13, b"\\SEEN $Label1 \\Flagged", size=b"0", when=b" 2-Jan-2020 23:59:59 -0530",
           section=b"BODY[HEADER]"),
    [],
]
UNUSUAL = [
    _usual(1, 10) + _usual(1, 11),  # a sequence number twice (parse_fetch merges them)
    _usual(1, 10)[:1],  # no closing parenthesis
    [*_usual(1, 10), b"2 (FLAGS (\\Seen))"],  # an unsolicited FLAGS update
    _usual(1, 10, size=b"0123"),  # a leading zero: parse_fetch keeps the atom as bytes
    _usual(1, 10, when=b"31-Feb-2025 10:00:00 +0000"),  # no such day
    _usual(1, 10, section=b"BODY[HEADER]<0>"),
    [(b"1 (UID 10 FLAGS () RFC822.SIZE 3 INTERNALDATE \"13-Apr-2025 20:32:56 +0200\" "
      b"BODY[HEADER] {4}", b"abc"), b")"],  # the literal is not the announced size
    [(b"1 (uid 10 flags () rfc822.size 3 internaldate \"13-Apr-2025 20:32:56 +0200\" "
      b"body[header] {3}", b"abc"), b")"],  # lower case
    [b"1 (UID 10 FLAGS (\\Seen) MODSEQ (5))"],
]


@pytest.mark.parametrize("data", USUAL)
def test_usual_answers_are_read_directly_with_the_general_parsers_values(
    data: list[object],
) -> None:
    assert header_answers(data) is not None
    uids = [12, 10, 11, 13, 99]
    assert _data_answers(data, uids) == _general(data, uids)


@pytest.mark.parametrize("data", UNUSUAL + CASES[:-2])
def test_anything_else_goes_to_the_general_parser(data: list[object]) -> None:
    if data is CASES[0]:
        assert header_answers(data) is not None  # (the first case is the usual shape)
    else:
        assert header_answers(data) is None
    uids = [5, 9, 10, 11, 12, 13, 20, 21, 22, 23]
    try:
        expected = _general(data, uids)
    except Exception:  # malformed for imapclient too: it must raise either way
        with pytest.raises(Exception):  # noqa: B017
            _data_answers(data, uids)
        return
    assert _data_answers(data, uids) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.integers(1, 10**6),
    st.lists(st.sampled_from([b"\\Seen", b"\\seen", b"\\Flagged", b"\\Answered", b"\\Deleted",
                              b"\\Draft", b"\\Recent", b"$Forwarded", b"42", b"0"]),
             max_size=4),
    st.integers(0, 10**9),
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)),
    st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15),
    st.binary(max_size=40),
), max_size=8, unique_by=lambda t: t[0]))
def test_generated_usual_answers(answers: list[tuple[Any, ...]]) -> None:
    data: list[object] = []
    for seq, (uid, flags, size, moment, offset, block) in enumerate(answers, 1):
        sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
        when = f"{moment:%d-%b-%Y %H:%M:%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"
        data += _usual(seq, uid, b" ".join(flags), str(size).encode(), when.encode(), block)
    assert header_answers(data) is not None
    uids = [a[0] for a in reversed(answers)]
    assert _data_answers(data, uids) == _general(data, uids)
