from __future__ import annotations

import pytest

from services import Contact, Priority, SendResult
from services.models import Address, Attachment, Flag, Message


def test_contact_short_form_from_spec() -> None:
    c = Contact("john@example.com", "+1234567890", "john_ws_id")
    assert (c.email, c.phone, c.socket_id) == ("john@example.com", "+1234567890", "john_ws_id")
    assert c.emails == ["john@example.com"] and c.phones == ["+1234567890"]


def test_contact_with_several_identities() -> None:
    c = Contact(name="Ann", emails=["a@x.example", "ann@y.example"], chat_handles={"slack": "@ann"})
    assert c.email == "a@x.example"
    assert "@ann" in c.identities()


def test_address_parse_and_format() -> None:
    a = Address.parse('"Smith, Ann" <ann@example.com>')
    assert a == Address("ann@example.com", "Smith, Ann")
    assert str(a) == '"Smith, Ann" <ann@example.com>'
    assert Address.parse_list("a@x.example, B <b@y.example>") == (
        Address("a@x.example"),
        Address("b@y.example", "B"),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("high", Priority.HIGH),
        ("URGENT", Priority.HIGH),
        ("low", Priority.LOW),
        (3, Priority.NORMAL),
        (1, Priority.LOW),
        (5, Priority.HIGH),
    ],
)
def test_priority_parse(value: str | int, expected: Priority) -> None:
    assert Priority.parse(value) is expected


def test_priority_parse_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        Priority.parse("whenever")


def test_message_flags_and_pdf_detection() -> None:
    m = Message(
        flags=frozenset({Flag.FLAGGED}),
        attachments=[Attachment("Report.PDF"), Attachment("x.png", "image/png")],
    )
    assert m.is_unread and m.is_flagged and m.has_pdf_attachment()
    assert not Message(attachments=[Attachment("a.txt", "text/plain")]).has_pdf_attachment()


def test_attachment_loads_lazily_once() -> None:
    calls = []
    att = Attachment("a.bin", loader=lambda: calls.append(1) or b"data")
    assert att.read() == b"data" and att.read() == b"data"
    assert calls == [1]
    with pytest.raises(LookupError):
        Attachment("nothing").read()


def test_send_result_truthiness() -> None:
    assert SendResult.sent("<id@x>", provider="smtp")
    failed = SendResult.failed("mailbox full", provider="smtp")
    assert not failed and failed.error == "mailbox full" and failed.message_id is None
