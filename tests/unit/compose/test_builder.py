"""ComposeBuilder: headers, threading, quoting, attachments, validation (pure, no I/O)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart
from pathlib import Path

import pytest

from services.compose import ComposeBuilder, Identity, OutgoingMessage
from services.errors import AddressError, ConfigurationError, ValidationError
from services.mime.parse import parse_message
from services.models import Address, Contact, Message, SendResult

ME = Identity("me@example.test", "Mé Myself")
WHEN = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)


def builder(**kw: object) -> ComposeBuilder:
    return ComposeBuilder(identity=ME, clock=lambda: WHEN, **kw)  # type: ignore[arg-type]


def parsed(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text(part: MIMEPart | None) -> str:
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def parent() -> Message:
    return Message(
        message_id="p2@example.org",
        in_reply_to="p1@example.org",
        references=("p0@example.org", "p1@example.org"),
        sender=Address("alice@example.org", "Alice"),
        to=(Address("me@example.test"), Address("bob@example.org", "Bob")),
        cc=(Address("carol@example.org"), Address("ME@example.test")),
        subject="Plan",
        date=WHEN,
        body_text="first line\n> older quote\n\nlast",
    )


def test_chained_builder_headers_and_envelope() -> None:
    m = builder().to("Bob <bob@example.org>").cc(["c@x.org", Contact("d@x.org", name="Dee")])
    m.bcc(Address("hidden@x.org")).subject("Grüße aus Zürich").body("Hallo äöü\n")
    raw = m.build()
    msg = parsed(raw)
    assert msg["From"] == "Mé Myself <me@example.test>"
    assert msg["To"] == "Bob <bob@example.org>"
    assert msg["Cc"] == "c@x.org, Dee <d@x.org>"
    assert msg["Bcc"] is None and b"hidden" not in raw  # Bcc only in the envelope
    assert msg["Subject"] == "Grüße aus Zürich"
    assert msg["Message-ID"] == f"<{m.message_id}>" and m.message_id.endswith("@example.test")
    assert msg["Date"] == "Mon, 03 Jun 2024 10:00:00 +0000"
    assert text(msg) == "Hallo äöü\n"
    assert raw.isascii() and b"\r\n" in raw  # 7-bit clean, CRLF for SMTP
    out = m.outgoing()
    assert out.recipients == ("bob@example.org", "c@x.org", "d@x.org", "hidden@x.org")
    assert out.sender == "me@example.test" and out.message_id == m.message_id
    assert m.build() != b"" and parsed(m.build())["Message-ID"] == msg["Message-ID"]  # once


def test_html_only_gets_a_derived_text_part() -> None:
    raw = builder().to("a@x").subject("S").html("<p>Hello <b>world</b></p><p>Bye</p>").build()
    msg = parsed(raw)
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "Hello world" in plain.get_content() and "Bye" in plain.get_content()
    assert "<b>world</b>" in html.get_content()


def test_attachments_from_path_tuple_and_non_ascii_name(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)))
    m = builder().to("a@x").subject("Files").body("see attached")
    m.attach(pdf).attach(("Bericht für März.txt", "Grüße".encode(), "text/plain"))
    raw = m.build()
    assert b"filename*=utf-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt" in raw  # RFC 2231
    back = parse_message(raw)
    assert [a.filename for a in back.attachments] == ["report.pdf", "Bericht für März.txt"]
    assert back.attachments[0].content_type == "application/pdf"
    parts = list(parsed(raw).iter_attachments())
    assert parts[0].get_content() == pdf.read_bytes()
    assert parts[1].get_payload(decode=True) == "Grüße".encode()


def test_reply_threading_subject_and_quote() -> None:
    m = builder().reply(parent()).body("Sounds good.")
    msg = parsed(m.build())
    assert msg["To"] == "Alice <alice@example.org>"
    assert msg["Subject"] == "Re: Plan"
    assert msg["In-Reply-To"] == "<p2@example.org>"
    assert msg["References"] == "<p0@example.org> <p1@example.org> <p2@example.org>"
    body = text(msg)
    assert body.startswith("Sounds good.\n\nOn Mon, 03 Jun 2024 10:00:00 +0000, "
                           "Alice <alice@example.org> wrote:\n")
    assert "> first line\n>> older quote\n>\n> last\n" in body


def test_reply_subject_prefix_once_and_references_from_in_reply_to() -> None:
    p = parent().with_changes(subject="[list] RE: Plan", references=(), reply_to=(
        Address("list@example.org"),))
    msg = parsed(builder().reply(p, quote=False).build())
    assert msg["Subject"] == "[list] RE: Plan"
    assert msg["To"] == "list@example.org"  # Reply-To wins
    assert msg["References"] == "<p1@example.org> <p2@example.org>"
    assert "wrote:" not in text(msg)


def test_reply_all_excludes_me_and_duplicates() -> None:
    m = builder().reply_all(parent(), me="me@example.test")
    msg = parsed(m.build())
    assert msg["To"] == "Alice <alice@example.org>, Bob <bob@example.org>"
    assert msg["Cc"] == "carol@example.org"
    assert m.outgoing().recipients == ("alice@example.org", "bob@example.org",
                                       "carol@example.org")


def test_forward_inline_and_as_attachment() -> None:
    original = builder().to("x@y.org").subject("Numbers").body("42\n")
    original.attach(("data.csv", b"a,b\n1,2\n", "text/csv"))
    raw = original.build()
    p = parse_message(raw)
    fwd = parsed(builder().forward(p, raw=raw).to("z@y.org").body("FYI").build())
    assert fwd["Subject"] == "Fwd: Numbers"
    assert fwd["In-Reply-To"] is None
    body = text(fwd.get_body(("plain",)))
    assert "---------- Forwarded message ----------\nFrom: Mé Myself <me@example.test>" in body
    assert [a.get_filename() for a in fwd.iter_attachments()] == ["data.csv"]
    again = builder().forward(p.with_changes(subject="Fwd: Numbers"), as_attachment=True,
                              raw=raw)
    att = parsed(again.to("z@y.org").build())
    assert att["Subject"] == "Fwd: Numbers"
    (inner,) = list(att.iter_attachments())
    assert inner.get_content_type() == "message/rfc822"
    assert inner.get_content()["Message-ID"] == f"<{p.message_id}>"


def test_send_and_draft_go_through_the_account_callables() -> None:
    got: list[OutgoingMessage] = []

    def send(raw: bytes, sender: str, rcpts: Sequence[str], mid: str) -> SendResult:
        got.append(OutgoingMessage(raw, mid, sender, tuple(rcpts), ""))
        return SendResult.sent(mid, provider="test")

    def draft(raw: bytes, sender: str, rcpts: Sequence[str], mid: str) -> str:
        assert b"Bcc: b@x" in raw  # a draft keeps Bcc
        return mid

    m = ComposeBuilder(identity=Address("me@example.test", "Me"), send=send, save_draft=draft)
    m.bcc("b@x")
    assert m.save_draft() == m.message_id  # a draft needs no To
    result = m.to("a@x").subject("S").body("B").send()
    assert result.success and result.message_id == m.message_id
    assert got[0].recipients == ("a@x", "b@x") and b"Bcc" not in got[0].raw
    assert got[0].sender == "me@example.test"
    with pytest.raises(ConfigurationError):
        ComposeBuilder(identity=ME).to("a@x").send()


@pytest.mark.parametrize("bad", ["nope", "a@", "@x.org", "a b@x.org", "a@x..org", "<>"])
def test_bad_addresses_are_address_errors(bad: str) -> None:
    with pytest.raises(AddressError, match="not an e-mail address"):
        builder().to(bad)


def test_validation_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least one recipient"):
        builder().subject("S").body("x").build()
    missing = tmp_path / "nope.pdf"
    with pytest.raises(ValidationError, match=str(missing)):
        builder().attach(missing)
    with pytest.raises(ValidationError, match="line breaks"):
        builder().subject("a\r\nBcc: evil@x.org")
    with pytest.raises(ValidationError, match="no sender"):
        ComposeBuilder().to("a@x").build()
    with pytest.raises(AddressError, match="no e-mail address"):
        builder().to(Contact(phone="+15551234567"))
    with pytest.raises(ValidationError, match="needs the original"):
        builder().forward(parent(), as_attachment=True)
