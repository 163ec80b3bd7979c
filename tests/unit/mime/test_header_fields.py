"""``parse_header_fields`` (header sync) agrees with ``parse_headers`` on every stored field."""

from __future__ import annotations

from services.mime.fastheaders import parse_header_fields, parse_headers
from tests.support.corpus import generate_messages

_STORED = ("subject", "sender", "to", "cc", "bcc", "reply_to", "date", "message_id",
           "in_reply_to", "references", "priority", "parse_warnings", "size")


def test_header_fields_match_full_header_parse_on_the_corpus() -> None:
    checked = 0
    for generated in generate_messages(1500, seed=7):
        head = generated.raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        fast = parse_header_fields(head, account="a", folder="INBOX", remote_id="1")
        full = parse_headers(head, account="a", folder="INBOX", remote_id="1")
        for name in _STORED:
            assert getattr(fast, name) == getattr(full, name), (name, generated.message_id)
        assert fast.headers.get("Subject") == full.headers.get("Subject")
        checked += 1
    assert checked == 1500


def test_hostile_header_bytes_never_raise() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Subject: =?utf-8?b?!!!?=\r\n\r\n", b":\r\n" * 50,
                b"From: " + b"a" * 200_000 + b"\r\n\r\n"):
        fast = parse_header_fields(raw)
        assert fast.subject == parse_headers(raw).subject
