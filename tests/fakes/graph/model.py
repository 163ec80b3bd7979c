"""The Graph fake's data model (folders, messages, sent mail, faults ...) and build_mime."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid

WELL_KNOWN = (
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
)


def build_mime(
    *,
    subject: str = "Hello",
    sender: str = "Alice <alice@example.com>",
    to: str = "user@contoso.com",
    cc: str = "",
    body: str = "Hello there",
    date: datetime | None = None,
    attachments: Iterable[tuple[str, bytes]] = (),
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="example.com")
    for k, v in (extra_headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes(policy=default_policy.clone(linesep="\r\n"))


@dataclass
class FakeFolder:
    id: str
    name: str
    parent_id: str
    well_known: str | None = None


@dataclass
class FakeAttachment:
    id: str
    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass
class FakeMessage:
    id: str
    folder_id: str
    mime: bytes
    is_read: bool = False
    flag_status: str = "notFlagged"
    is_draft: bool = False
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    importance: str | None = None


@dataclass
class SentMail:
    mime: bytes
    recipients: list[str]
    via: str  # "sendMail" or "draft"
    attachments: list[FakeAttachment] = field(default_factory=list)


@dataclass
class Fault:
    status: int
    count: int
    code: str
    retry_after: str | None
    method: str | None
    path: str | None


@dataclass
class UploadSession:
    id: str
    message_id: str
    name: str
    size: int
    content_type: str
    inline: bool
    content_id: str | None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
