"""What the generator yields: :class:`GeneratedMessage` and its :class:`Attachment` metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # decoded bytes
    rfc2231: bool  # filename sent as filename*=charset''... (RFC 2231)


@dataclass(frozen=True, slots=True)
class GeneratedMessage:
    index: int  # position in date order, 0-based
    raw: bytes  # CRLF line ends
    message_id: str  # with angle brackets, as in the header
    thread_id: str  # message_id of the thread's first message (own id if not threaded)
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str  # address
    sender_name: str
    to: tuple[str, ...]  # addresses
    cc: tuple[str, ...]
    subject: str  # decoded
    date: datetime  # aware
    charset: str  # of the text part(s)
    transfer_encoding: str  # of the text part(s)
    has_html: bool
    attachments: tuple[Attachment, ...]
    flags: tuple[str, ...]  # IMAP system flags, e.g. ("\\Seen", "\\Flagged")
    folder: str  # Maildir++ folder name, "INBOX" for the root
    list_id: str | None
    priority: int | None  # X-Priority 1..5
    markers: frozenset[str] = field(default_factory=frozenset)
    language: str = "en"

    @property
    def has_attachment(self) -> bool:
        return bool(self.attachments)

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def is_reply(self) -> bool:
        return self.in_reply_to is not None

    @property
    def maildir_info(self) -> str:
        """Maildir flag letters (alphabetical, as the spec requires)."""
        letters = {
            "\\Draft": "D",
            "\\Flagged": "F",
            "\\Answered": "R",
            "\\Seen": "S",
            "\\Deleted": "T",
        }
        return "".join(sorted(letters[f] for f in self.flags if f in letters))
