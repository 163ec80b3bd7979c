"""parse_message / attachment_bytes: well-formed, odd and hostile input."""

from __future__ import annotations

import base64
import pickle
import sysconfig
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.errors import NotFound, ValidationError
from services.mime import attachment_bytes, parse_message
from services.models import Address, ChannelKind, Priority

DATA_DIR = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
needs_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"CPython test_email data not installed at {DATA_DIR}"
)


def data_files() -> list[Path]:
    return sorted(DATA_DIR.iterdir()) if DATA_DIR.is_dir() else []


def msg(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


SIMPLE = msg(
    "From: =?utf-8?q?Al=C3=AFce?= <alice@example.com>\n"
    'To: Bob <bob@example.org>, "Carol, C." <carol@example.net>\n'
    "Cc: dave@example.net\n"
    "Subject: =?utf-8?b?SGVsbG8gd29ybGQ=?= again\n"
    "Date: Tue, 2 Jan 2024 11:00:00 +0100\n"
    "Message-ID: <abc@example.com>\n"
    "In-Reply-To: <parent@example.com>\n"
    "References: <root@example.com>\n <parent@example.com>\n"
    "X-Priority: 1 (Highest)\n"
    "\n"
    "Hello Bob,\n> quoted line\nsee you.\n"
)


def test_simple_message_fields() -> None:
    m = parse_message(SIMPLE, account="acc", folder="INBOX", remote_id="r1")
    assert m.channel is ChannelKind.EMAIL
    assert (m.account, m.folder, m.remote_id) == ("acc", "INBOX", "r1")
    assert m.sender == Address("alice@example.com", "Alïce")
    assert m.to == (Address("bob@example.org", "Bob"), Address("carol@example.net", "Carol, C."))
    assert m.cc == (Address("dave@example.net"),)
    assert m.subject == "Hello world again"
    assert m.date == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert m.date is not None and m.date.tzinfo is UTC
    assert m.message_id == "abc@example.com"
    assert m.in_reply_to == "parent@example.com"
    assert m.references == ("root@example.com", "parent@example.com")
    assert m.priority is Priority.HIGH
    assert m.body_text.startswith("Hello Bob,")
    assert m.snippet == "Hello Bob, see you."
    assert m.size == len(SIMPLE)
    assert m.flags == frozenset()
    assert m.parse_warnings == ()
    assert m.headers["message-id"] == "<abc@example.com>"
    assert m.headers["SUBJECT"] == "Hello world again"
    assert [p.part_id for p in m.parts] == ["1"]


def test_message_pickles_for_process_pools() -> None:
    m = parse_message(SIMPLE)
    again = pickle.loads(pickle.dumps(m))
    assert again.subject == m.subject
    assert dict(again.headers) == dict(m.headers)


def test_type_error_for_str() -> None:
    with pytest.raises(TypeError):
        parse_message("From: a@b\n\nhi")  # type: ignore[arg-type]
    assert parse_message(bytearray(SIMPLE)).subject == "Hello world again"


MULTI = msg(
    "From: a@example.com\nTo: b@example.com\nSubject: files\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m@x>\n"
    'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="OUT"\n\n'
    "--OUT\n"
    'Content-Type: multipart/related; boundary="REL"\n\n'
    "--REL\n"
    'Content-Type: multipart/alternative; boundary="ALT"\n\n'
    "--ALT\nContent-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n\nCaf=E9 au lait\n"
    "--ALT\nContent-Type: text/html; charset=utf-8\n\n"
    "<html><head><style>p{}</style></head><body><p>Caf&eacute;</p></body></html>\n"
    "--ALT--\n"
    "--REL\nContent-Type: image/png\nContent-ID: <img1@x>\n"
    "Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"\x89PNG....").decode() + "\n"
    "--REL--\n"
    "--OUT\nContent-Type: application/pdf\n"
    "Content-Disposition: attachment;\n filename*0*=utf-8''r%C3%A9sum;\n filename*1=\".pdf\"\n"
    "Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"%PDF-1.4 hello").decode() + "\n"
    "--OUT\nContent-Type: message/rfc822\n\n"
    "From: inner@example.com\nSubject: Inner one\n\ninner body\n"
    "--OUT--\n"
)


def test_multipart_structure_and_attachments() -> None:
    m = parse_message(MULTI)
    assert m.parse_warnings == ()
    assert [p.part_id for p in m.parts] == ["1.1.1", "1.1.2", "1.2", "2", "3"]
    assert m.body_text.strip() == "Café au lait"
    assert m.body_html is not None and "<p>Caf&eacute;</p>" in m.body_html
    by_id = {a.part_id: a for a in m.attachments}
    assert set(by_id) == {"1.2", "2", "3"}
    img = by_id["1.2"]
    assert img.inline and img.content_id == "img1@x" and img.content_type == "image/png"
    pdf = by_id["2"]
    assert pdf.filename == "résum.pdf" and not pdf.inline and pdf.is_pdf
    assert pdf.size == len(b"%PDF-1.4 hello")
    assert by_id["3"].filename == "Inner one.eml"
    assert all(a.loader is None for a in m.attachments)
    assert attachment_bytes(MULTI, "2") == b"%PDF-1.4 hello"
    assert attachment_bytes(MULTI, "1.2") == b"\x89PNG...."
    assert attachment_bytes(MULTI, "1.1.1") == b"Caf\xe9 au lait"
    assert b"inner body" in attachment_bytes(MULTI, "3")
    assert attachment_bytes(MULTI, "3.1") == b"inner body"
    with pytest.raises(NotFound):
        attachment_bytes(MULTI, "9")
    with pytest.raises(ValidationError):
        attachment_bytes(MULTI, "x.1")


def test_html_only_gives_text_body() -> None:
    raw = msg(
        "From: a@b.c\nSubject: h\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><title>T</title><script>var x = '<p>no</p>';</script></head>"
        "<body><p>Fish &amp; chips</p><br>second&nbsp;line<!-- hidden --></body></html>"
    )
    m = parse_message(raw)
    assert m.body_html is not None
    assert "Fish & chips" in m.body_text and "second line" in m.body_text
    assert "var x" not in m.body_text and "hidden" not in m.body_text and "<" not in m.body_text
    assert m.snippet.startswith("Fish & chips")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("X-Priority: 5 (Lowest)", Priority.LOW),
        ("X-Priority: 2", Priority.HIGH),
        ("X-Priority: 3", Priority.NORMAL),
        ("Importance: High", Priority.HIGH),
        ("Importance: low", Priority.LOW),
        ("Priority: urgent", Priority.HIGH),
        ("Priority: non-urgent", Priority.LOW),
        ("X-Mailer: x", Priority.NORMAL),
    ],
)
def test_priority(headers: str, expected: Priority) -> None:
    assert parse_message(msg(f"From: a@b.c\n{headers}\n\nx")).priority is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 2 Jan 2024 11:00:00 +0100", datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
        ("2 Jan 99 10:00 GMT", datetime(1999, 1, 2, 10, 0, tzinfo=UTC)),
        ("Tue, 02 Jan 24 10:00:00 EST", datetime(2024, 1, 2, 15, 0, tzinfo=UTC)),
        ("Tue,  2 Jan 2024 10:00:00 -0000 (UTC)", datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
        ("2024-01-02 10:00:00", datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
    ],
)
def test_dates(value: str, expected: datetime) -> None:
    m = parse_message(msg(f"From: a@b.c\nDate: {value}\nMessage-ID: <x@y>\n\nx"))
    assert m.date == expected
    assert m.parse_warnings == ()


def test_broken_and_missing_dates() -> None:
    bad = parse_message(msg("From: a@b.c\nDate: the day after tomorrow\n\nx"))
    assert bad.date is None
    assert any("unparseable Date" in w for w in bad.parse_warnings)
    impossible = parse_message(msg("From: a@b.c\nDate: 31 Feb 2024 25:61:00 +0000\n\nx"))
    assert impossible.date is None
    missing = parse_message(msg("From: a@b.c\nSubject: s\n\nbody"))
    assert missing.date is None and "missing Date header" in missing.parse_warnings
    assert missing.body_text == "body"


def test_message_ids_without_brackets() -> None:
    m = parse_message(
        msg(
            "From: a@b.c\nMessage-ID: bare-id@example.com\n"
            "In-Reply-To: <p@x> (Alice's message of Monday)\n"
            "References: <a@x>,<b@x> <a@x>\n\nx"
        )
    )
    assert m.message_id == "bare-id@example.com"
    assert m.in_reply_to == "p@x"
    assert m.references == ("a@x", "b@x")


def test_encoded_words_malformed_and_split() -> None:
    # "é" (c3 a9) split across two base64 words; whitespace between words is dropped.
    raw = msg(
        "From: a@b.c\n"
        "Subject: =?UTF-8?B?Y2Fmw6k=?= =?utf-8?q?_ok?= =?utf-8?B?w6==?=\n"
        " =?utf-8?B?qQ==?= =?bogus-cs?q?x=E9?= =?utf-8?q?unterminated\n\nx"
    )
    m = parse_message(raw)
    assert m.subject.startswith("café ok")
    assert "é" in m.subject  # the split character survived
    assert "unterminated" in m.subject
    assert any("unknown charset bogus-cs" in w for w in m.parse_warnings)


def test_eight_bit_headers() -> None:
    raw = b"From: J\xc3\xbcrgen <j@example.de>\nSubject: Gr\xfc\xdfe aus K\xf6ln\n\nbody\n"
    m = parse_message(raw)
    assert m.sender == Address("j@example.de", "Jürgen")
    assert m.subject == "Grüße aus Köln"


def test_unknown_and_wrong_charsets() -> None:
    raw = b"From: a@b.c\nContent-Type: text/plain; charset=x-foo\n\ncaf\xc3\xa9\n"
    m = parse_message(raw)
    assert m.body_text.strip() == "café"
    assert any("unknown charset x-foo" in w for w in m.parse_warnings)
    lying = b"From: a@b.c\nContent-Type: text/plain; charset=utf-8\n\ncaf\xe9 \x81\n"
    m2 = parse_message(lying)
    assert m2.body_text.startswith("café")
    assert any("bad utf-8" in w for w in m2.parse_warnings)
    jis = b"From: a@b.c\nContent-Type: text/plain; charset=iso-2022-jp\n\n"
    m3 = parse_message(jis + "日本語".encode("iso-2022-jp"))
    assert m3.body_text == "日本語"


def test_truncated_multipart_keeps_parts() -> None:
    raw = msg(
        "From: a@b.c\nSubject: cut\nContent-Type: multipart/mixed; boundary=XYZ\n\n"
        "--XYZ\nContent-Type: text/plain\n\nfirst part\n"
        "--XYZ\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        "AAAA"
    )
    m = parse_message(raw)
    assert m.body_text.strip() == "first part"
    assert [a.part_id for a in m.attachments] == ["2"]
    assert any("truncated multipart" in w for w in m.parse_warnings)


def test_multipart_without_boundary_read_as_text() -> None:
    raw = msg("From: a@b.c\nContent-Type: multipart/mixed\n\nsome text here\n")
    m = parse_message(raw)
    assert "some text here" in m.body_text
    assert any("without boundary" in w for w in m.parse_warnings)


def test_bad_base64_and_quoted_printable() -> None:
    good = base64.b64encode("héllo wörld".encode()).decode()
    raw = msg(
        "From: a@b.c\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        f"{good[:8]}!!**{good[8:-2]}\n"
        "--B\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak =ZZ end=C3=A9\n"
        "--B\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\nAB$C\n"
        "--B--\n"
    )
    m = parse_message(raw)
    assert "héllo" in m.body_text
    assert "softbreak =ZZ endé" in m.body_text
    assert any("bad base64 in part 1" in w for w in m.parse_warnings)
    assert any("bad quoted-printable in part 2" in w for w in m.parse_warnings)
    assert any("bad base64 in part 3" in w for w in m.parse_warnings)
    assert attachment_bytes(raw, "3") == base64.b64decode("ABC=")


def test_rfc2231_filename_and_encoded_word_filename() -> None:
    raw = msg(
        "From: a@b.c\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\nbody\n"
        "--B\nContent-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=iso-8859-1'fr'%E9t%E9.txt\n\nx\n"
        '--B\nContent-Type: application/octet-stream; name="=?utf-8?q?d=C3=A9j=C3=A0.bin?="\n'
        "\ny\n"
        "--B\nContent-Type: application/octet-stream\n"
        'Content-Disposition: attachment; filename="../../etc/passwd"\n\nz\n'
        "--B--\n"
    )
    names = [a.filename for a in parse_message(raw).attachments]
    assert names == ["été.txt", "déjà.bin", "passwd"]


def test_empty_input() -> None:
    m = parse_message(b"")
    assert m.parse_warnings == ("empty message",)
    assert m.size == 0 and m.subject == ""
    assert parse_message(b"\r\n\r\n").parse_warnings == ("empty message",)


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def test_binary_gif_is_not_a_message() -> None:
    m = parse_message(GIF)
    assert m.body_text == "" and m.subject == "" and m.sender is None
    assert any("does not look like an e-mail" in w for w in m.parse_warnings)
    assert m.size == len(GIF)


def test_ten_megabyte_header_line_is_fast() -> None:
    big = b"From: a@b.c\nSubject: big\nX-Huge: " + b"a" * 10_000_000 + b"\nTo: z@y.x\n\nbody\n"
    start = time.perf_counter()
    m = parse_message(big)
    assert time.perf_counter() - start < 2.0
    assert m.subject == "big" and m.body_text.strip() == "body"
    assert m.to == (Address("z@y.x"),)
    assert len(m.headers["x-huge"]) <= 65_536
    assert any("X-Huge truncated" in w for w in m.parse_warnings)


def test_ten_megabyte_folded_header_is_fast() -> None:
    big = b"From: a@b.c\nTo: " + b"x@example.com,\n " * 700_000 + b"y@example.com\n\nbody\n"
    start = time.perf_counter()
    m = parse_message(big)
    assert time.perf_counter() - start < 2.0
    assert m.body_text.strip() == "body"
    assert m.to and m.to[0] == Address("x@example.com")
    assert any("To truncated" in w for w in m.parse_warnings)


def test_deep_nesting_does_not_explode() -> None:
    depth = 200
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)
    )
    raw = ("From: a@b.c\nSubject: deep\n" + head + "\ninnermost\n").encode()
    m = parse_message(raw)
    assert m.subject == "deep"
    assert m.parse_warnings


@needs_data
@pytest.mark.parametrize("path", data_files(), ids=lambda p: p.name)
def test_cpython_corpus_parses(path: Path) -> None:
    raw = path.read_bytes()
    m = parse_message(raw)
    assert m.size == len(raw)
    for part in m.parts:
        attachment_bytes(raw, part.part_id)  # every listed part can be fetched
    if path.suffix != ".txt":
        assert any("does not look like an e-mail" in w for w in m.parse_warnings)


@needs_data
def test_cpython_corpus_spot_checks() -> None:
    m01 = parse_message((DATA_DIR / "msg_01.txt").read_bytes())
    assert m01.subject == "This is a test message"
    assert m01.sender == Address("bbb@ddd.com", "John X. Doe")
    assert m01.message_id == "15090.61304.110929.45684@aaa.zzz.org"
    m02 = parse_message((DATA_DIR / "msg_02.txt").read_bytes())
    assert m02.subject == "Ppp digest, Vol 1 #2 - 5 msgs"
    assert len(m02.attachments) == 5
    assert all(a.content_type == "message/rfc822" for a in m02.attachments)
    m07 = parse_message((DATA_DIR / "msg_07.txt").read_bytes())
    assert m07.subject == "Here is your dingus fish"
    gif = [a for a in m07.attachments if a.content_type == "image/gif"]
    assert len(gif) == 1 and gif[0].filename == "dingusfish.gif"
    data = attachment_bytes((DATA_DIR / "msg_07.txt").read_bytes(), gif[0].part_id)
    assert data.startswith(b"GIF87a") and abs(len(data) - gif[0].size) <= 2
    m16 = parse_message((DATA_DIR / "msg_16.txt").read_bytes())
    assert m16.sender is not None and m16.sender.address == "postmaster@ucla.edu"


def _plain(body: bytes) -> bytes:
    return (b"From: a@b.c\r\nSubject: s\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <x@y>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)


def test_nul_bytes_in_a_text_body_are_replaced_and_reported() -> None:
    m = parse_message(_plain(b"hello\x00world\r\nsecond line\r\n"))
    assert m.body_text == "hello\ufffdworld\r\nsecond line\r\n"
    assert m.parse_warnings == ("NUL characters in part 1 replaced by U+FFFD",)
    assert m.snippet.startswith("hello\ufffdworld")


@pytest.mark.parametrize("control", [*range(1, 9), 11, 12, *range(14, 32), 127])
def test_control_characters_do_not_empty_the_body(control: int) -> None:
    m = parse_message(_plain(b"ab" + bytes([control]) * 20 + b"cd"))
    assert m.body_text == "ab" + chr(control) * 20 + "cd"
    assert m.parse_warnings == ()
