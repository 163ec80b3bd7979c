"""parse_headers (the header-only fast path) agrees with parse_message on header blocks."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.mime.fastheaders import _addresses, _addrs, parse_headers
from services.mime.headers import parse_addresses
from services.mime.limits import header_end
from services.mime.parse import parse_message
from services.models import Message
from tests.support.corpus import generate_messages

DATA_DIR = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
_STRUCTURE_WARNINGS = (
    "multipart boundary never found in message; read as text",
    "multipart without boundary in message; read as text",
    "multipart message has no parts",
    "truncated multipart in message (no closing boundary)",
)


def header_block(raw: bytes) -> bytes:
    """What an IMAP server sends for BODY[HEADER]: the headers and the blank line."""
    end = header_end(raw)
    for blank in (b"\r\n", b"\n"):
        if raw.startswith(blank, end):
            return raw[: end + len(blank)]
    return raw[:end]


def fields(m: Message) -> dict[str, object]:
    return {
        "headers": dict(m.headers.items()),
        "sender": m.sender, "to": m.to, "cc": m.cc, "bcc": m.bcc, "reply_to": m.reply_to,
        "subject": m.subject, "date": m.date, "received_at": m.received_at,
        "message_id": m.message_id, "in_reply_to": m.in_reply_to,
        "references": m.references, "priority": m.priority, "size": m.size,
        "attachments": [(a.filename, a.content_type, a.size, a.part_id, a.content_id, a.inline)
                        for a in m.attachments],
        "parts": m.parts,
        "warnings": tuple(w for w in m.parse_warnings if w not in _STRUCTURE_WARNINGS),
    }


def check(block: bytes) -> None:
    fast = parse_headers(block, account="a", folder="F", remote_id="7")
    slow = parse_message(block, account="a", folder="F", remote_id="7")
    assert (fast.account, fast.folder, fast.remote_id) == ("a", "F", "7")
    assert fields(fast) == fields(slow)
    assert fast.body_text == "" and fast.snippet == ""  # a header block has no body


def test_agrees_on_the_corpus() -> None:
    for generated in generate_messages(3000, seed=11):
        check(header_block(generated.raw))


@pytest.mark.skipif(not DATA_DIR.is_dir(), reason="CPython test_email data not installed")
@pytest.mark.parametrize("path", sorted(DATA_DIR.iterdir()) if DATA_DIR.is_dir() else [],
                         ids=lambda p: p.name)
def test_agrees_on_cpython_test_email_data(path: Path) -> None:
    raw = path.read_bytes()
    check(header_block(raw))
    check(header_block(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))


@pytest.mark.parametrize("block", [
    b"", b"\r\n", b"garbage without colon\r\n\r\n", b" continuation first: x\r\n\r\n",
    b"From alice Mon Jan 1 00:00:00 2024\r\nSubject: x\r\n\r\n", b"Subject: a\rb\r\n\r\n",
    b"Subject: =?utf-8?b?w6k=?=\r\n\r\n", b"Subject: =?bogus?q?x?=\r\nFrom: =?utf-8?B?***?=\r\n",
    b"Content-Type: message/rfc822\r\nSubject: inner\r\n\r\n",
    b"Content-Type: application/pdf; name=\"a.pdf\"\r\n\r\n",
    b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    b"Date: Mon, 31 Feb 2024 10:00:00 +0000\r\nDate: later\r\n\r\n",
    b"Date: Tue, 1 Jan 2030 23:59:60 -0000 (UTC)\r\nX-Priority: 1\r\n\r\n",
    b"Subject: \xe9t\xe9\r\nFrom: J\xc3\xa9r\xc3\xb4me <j@x.org>\r\n\r\n",
    b"Subject:\r\n folded\r\n\tagain\r\nTo: a@b.c,\r\n d@e.f\r\n\r\n",
    b"Subject: x\n\nbody\n",
])
def test_agrees_on_odd_blocks(block: bytes) -> None:
    assert isinstance(parse_headers(block), Message)
    check(header_block(block))


def test_header_only_multipart_gives_no_spurious_warning() -> None:
    block = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=xyz\r\n\r\n"
    fast = parse_headers(block)
    assert not any("multipart" in w for w in fast.parse_warnings)
    assert fast.attachments == [] and fast.body_text == "" and fast.snippet == ""


def test_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        parse_headers("Subject: x")  # type: ignore[arg-type]


_LINE = st.one_of(
    st.sampled_from([b"From", b"To", b"Cc", b"Subject", b"Date", b"Message-ID", b"References",
                     b"Content-Type", b"X-Priority", b"Received", b"Reply-To"]).flatmap(
        lambda n: st.binary(max_size=60).map(lambda v: n + b": " + v)),
    st.binary(max_size=40).map(lambda v: b" " + v),
    st.binary(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE, max_size=12), st.sampled_from([b"\r\n", b"\n"]))
def test_hostile_header_bytes(lines: list[bytes], sep: bytes) -> None:
    block = sep.join(lines) + sep + sep
    fast = parse_headers(block)  # never raises
    assert isinstance(fast, Message)
    check(header_block(block))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(block: bytes) -> None:
    assert isinstance(parse_headers(block), Message)


_PIECES = [
    "bob@x.org", "Bob Smith <bob@x.org>", " Zoë  O Brien <zoe@y.fr> ",
    "=?utf-8?q?Jos=C3=A9?= <j@x>",
    "=?utf-8?b?w6k=?=@x.org", "", " ", "\r\n Mark <m@x>", "Ana\r\n <a@x>", "no-at-sign",
    "\"Doe, John\" <jd@x>", "(comment) c@x", "grp: a@x;", "esc\\aped <e@x>", "<only@angle>",
    "two <a@x> <b@x>", "J\udcc3\udca9r\udcc3\udcb4me <j@x>", "Caf\udce9 <c@x>", "a@b@c",
    "=?bogus?q?x?= <b@x>", "=?utf-8?q?Doe=2C_J?= <d@x>",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5),
       st.sampled_from([",", ", ", ",\r\n "]))
def test_address_lists_read_piece_by_piece_are_what_parse_addresses_reads(
    pieces: list[str], comma: str
) -> None:
    """_addrs memoises the pieces of a list parse_addresses reads piece by piece (and
    hands any other list to it whole): the same addresses either way, cached or not."""
    text = comma.join(pieces)
    expected = parse_addresses(text)
    for _ in range(2):  # computed, then from the memos
        assert _addrs([text]) == expected
    _addresses.clear()
    assert _addrs([text]) == expected  # the list memo gone, the piece memos kept
