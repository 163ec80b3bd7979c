"""Building messages and raw bytes for the store tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from services.mime.parse import parse_message
from services.models import ChannelKind, Message, SortOrder
from services.query.ast import All, Node


def make_raw(
    n: int,
    *,
    sender: str = "Alice Example <alice@example.com>",
    to: str = "Bob <bob@example.org>",
    cc: str | None = None,
    subject: str | None = None,
    body: str = "hello there",
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    attachment: tuple[str, bytes] | None = None,
    date: datetime | None = None,
    priority: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject if subject is not None else f"message number {n}"
    msg["Date"] = format_datetime(date or datetime(2024, 3, 1 + n % 27, 12, n % 60, tzinfo=UTC))
    if msgid != "":
        msg["Message-ID"] = f"<{msgid or f'm{n}@test.example'}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references.split())
    if priority:
        msg["X-Priority"] = priority
    msg.set_content(body + "\n")
    if attachment:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf",
                           filename=attachment[0])
    return msg.as_bytes()


def item(raw: bytes, account: str = "acct", folder: str = "INBOX",
         remote_id: str | None = None, **changes: object) -> tuple[Message, bytes]:
    message = parse_message(raw, account=account, folder=folder, remote_id=remote_id)
    if changes:
        message = message.with_changes(**changes)
    return message, raw


def sms(n: int, peer: str, text: str, *, account: str = "phone", outgoing: bool = False,
        when: datetime | None = None) -> tuple[Message, bytes]:
    from services.models import Address

    me = Address("+15550199")
    other = Address(peer)
    raw = f'{{"n": {n}, "peer": "{peer}", "text": "{text}"}}'.encode()
    return Message(
        channel=ChannelKind.SMS, account=account, folder="SMS", remote_id=f"sms-{n}",
        sender=me if outgoing else other, to=(other if outgoing else me,),
        date=when or datetime(2024, 5, 1, 10, n, tzinfo=UTC), body_text=text, snippet=text,
        size=len(raw),
    ), raw


@dataclass
class Q:
    """A minimal EmailQuery look-alike (the store reads only these four things)."""

    node: Node = field(default_factory=All)
    max_results: int | None = None
    offset_value: int = 0
    sort_keys: tuple[tuple[str, SortOrder], ...] = (("date", SortOrder.DESC),)
