"""Domain model shared by every channel: e-mail, SMS, chat and socket messages.

The model is plain, typed data.  Services and the store produce it; the UI and the
CLI read it.  Nothing here does I/O: behaviour that needs a provider (marking read,
downloading attachments) is attached by the service that produced the message.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formataddr, getaddresses
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Account",
    "Address",
    "Attachment",
    "ChannelKind",
    "Contact",
    "Conversation",
    "Flag",
    "Message",
    "MessageActions",
    "MessagePart",
    "Priority",
    "SendResult",
    "SortOrder",
]


class ChannelKind(enum.StrEnum):
    """The family a message travelled through."""

    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    SOCKET = "socket"


class Flag(enum.StrEnum):
    """Message state flags (IMAP system flags, applied to every channel)."""

    SEEN = "seen"
    FLAGGED = "flagged"
    ANSWERED = "answered"
    DELETED = "deleted"
    DRAFT = "draft"


class Priority(enum.IntEnum):
    """Message importance; ordered so that comparisons mean something."""

    LOW = 1
    NORMAL = 3
    HIGH = 5

    @classmethod
    def parse(cls, value: str | int | Priority) -> Priority:
        """Accept ``"high"``, ``"HIGH"``, ``5``, ``"urgent"`` ... and return a member."""
        if isinstance(value, Priority):
            return value
        if isinstance(value, int):
            if value <= 2:
                return cls.LOW
            return cls.HIGH if value >= 4 else cls.NORMAL
        text = value.strip().lower()
        aliases = {
            "low": cls.LOW,
            "non-urgent": cls.LOW,
            "normal": cls.NORMAL,
            "medium": cls.NORMAL,
            "high": cls.HIGH,
            "urgent": cls.HIGH,
            "important": cls.HIGH,
        }
        if text in aliases:
            return aliases[text]
        raise ValueError(f"unknown priority {value!r}: use low, normal or high")


class SortOrder(enum.StrEnum):
    """Sort direction for queries."""

    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class Address:
    """One party of a message: an e-mail address, a phone number or a handle.

    ``address`` is the routable part (``alice@example.com``, ``+15551234567``,
    ``@alice``); ``name`` is the display name, possibly empty.
    """

    address: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``"Alice <alice@example.com>"`` (or a bare address)."""
        pairs = getaddresses([text])
        if pairs and (pairs[0][0] or pairs[0][1]):
            name, addr = pairs[0]
            return cls(address=addr or text.strip(), name=name)
        return cls(address=text.strip())

    @classmethod
    def parse_list(cls, text: str) -> tuple[Address, ...]:
        """Parse a comma-separated address header into addresses, skipping blanks."""
        return tuple(
            cls(address=addr, name=name) for name, addr in getaddresses([text]) if addr or name
        )

    def __str__(self) -> str:
        return formataddr((self.name, self.address)) if self.name else self.address


@dataclass(frozen=True, slots=True)
class MessagePart:
    """One leaf of a message's MIME tree (or the single body of an SMS)."""

    part_id: str
    content_type: str
    size: int = 0
    charset: str | None = None
    filename: str | None = None
    disposition: str | None = None
    content_id: str | None = None


@dataclass(slots=True)
class Attachment:
    """A file carried by a message.

    The bytes are loaded lazily through ``loader`` (set by the store or the
    provider), so listing attachments never reads their content.
    """

    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    part_id: str = ""
    content_id: str | None = None
    inline: bool = False
    loader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    _data: bytes | None = field(default=None, repr=False, compare=False)
    _sha256: str | None = field(default=None, repr=False, compare=False)

    @property
    def extension(self) -> str:
        dot = self.filename.rfind(".")
        return self.filename[dot + 1 :].lower() if dot > 0 else ""

    @property
    def is_pdf(self) -> bool:
        return self.content_type.lower() == "application/pdf" or self.extension == "pdf"

    def read(self) -> bytes:
        """Return the decoded content, loading it on first use."""
        if self._data is None:
            if self.loader is None:
                raise LookupError(f"attachment {self.filename!r} has no content loaded")
            self._data = self.loader()
        return self._data

    @property
    def sha256(self) -> str:
        """Hex sha256 of the content (loads it; computed once)."""
        if self._sha256 is None:
            import hashlib

            self._sha256 = hashlib.sha256(self.read()).hexdigest()
        return self._sha256

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the content under a safe, unused name; returns where it went.

        ``path`` is a folder, or a file path (``f"docs/{attachment.filename}"`` keeps a
        hostile name inside ``docs``); see ``services.attachments.safe.save_to``."""
        from services.attachments.safe import save_to

        return save_to(path, self.filename, self.read())


class MessageActions(Protocol):
    """What the service that produced a message can do to it (bound by that service)."""

    def set_flags(self, message: Message, add: frozenset[Flag], remove: frozenset[Flag]) -> None:
        ...


@dataclass(slots=True)
class Message:
    """A message of any channel, normalised.

    ``id`` is the local store id (``None`` until stored).  ``remote_id`` is the
    provider's id (IMAP UID, Gmail id, file name ...); ``message_id`` the RFC 5322
    Message-ID when there is one.  ``raw_key`` names the byte-exact original in
    the blob store.
    """

    channel: ChannelKind = ChannelKind.EMAIL
    account: str = ""
    folder: str = ""
    id: int | None = None
    remote_id: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    subject: str = ""
    date: datetime | None = None
    received_at: datetime | None = None
    flags: frozenset[Flag] = frozenset()
    priority: Priority = Priority.NORMAL
    thread_id: int | None = None
    snippet: str = ""
    body_text: str = ""
    body_html: str | None = None
    parts: tuple[MessagePart, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    size: int = 0
    raw_key: str | None = None
    parse_warnings: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    actions: MessageActions | None = field(default=None, repr=False, compare=False)

    @property
    def is_unread(self) -> bool:
        return Flag.SEEN not in self.flags

    @property
    def is_flagged(self) -> bool:
        return Flag.FLAGGED in self.flags

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc + self.bcc

    def has_attachments(self) -> bool:
        return bool(self.attachments)

    def has_pdf_attachment(self) -> bool:
        return any(a.is_pdf for a in self.attachments)

    def _bound(self) -> MessageActions:
        if self.actions is None:
            from services.errors import UnsupportedOperation

            raise UnsupportedOperation(
                "this message is not bound to an account; get it from a service or the store",
                provider=self.account or "none",
            )
        return self.actions

    def mark_as_read(self) -> None:
        """Set the seen flag here and on the account the message came from."""
        self._bound().set_flags(self, frozenset({Flag.SEEN}), frozenset())
        self.flags = self.flags | {Flag.SEEN}

    def mark_as_unread(self) -> None:
        self._bound().set_flags(self, frozenset(), frozenset({Flag.SEEN}))
        self.flags = self.flags - {Flag.SEEN}

    def download_attachments(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Save every (non-inline) attachment into ``folder`` under safe, unique names."""
        from services.attachments.safe import save_into

        return [
            save_into(folder, a.filename, a.read()) for a in self.attachments if not a.inline
        ]

    def with_changes(self, **changes: Any) -> Message:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


@dataclass(slots=True)
class Contact:
    """A person reachable on several channels.

    ``Contact("john@example.com", "+1234567890", "john_ws_id")`` is the short
    form from the spec; ``emails``/``phones``/``socket_ids``/``chat_handles`` hold
    every known identity, the first of each being the primary one.
    """

    email: str | None = None
    phone: str | None = None
    socket_id: str | None = None
    name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    socket_ids: list[str] = field(default_factory=list)
    chat_handles: dict[str, str] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        for primary, many in (
            (self.email, self.emails),
            (self.phone, self.phones),
            (self.socket_id, self.socket_ids),
        ):
            if primary and primary not in many:
                many.insert(0, primary)
        self.email = self.email or (self.emails[0] if self.emails else None)
        self.phone = self.phone or (self.phones[0] if self.phones else None)
        self.socket_id = self.socket_id or (self.socket_ids[0] if self.socket_ids else None)

    def identities(self) -> list[str]:
        """Every address this contact can be reached at, lower-cased where that is safe."""
        out = [e.lower() for e in self.emails]
        out += self.phones + self.socket_ids + list(self.chat_handles.values())
        return out


@dataclass(slots=True)
class Conversation:
    """A thread of e-mail or a conversation with a contact on SMS/chat."""

    id: int
    channel: ChannelKind
    subject: str = ""
    message_ids: list[int] = field(default_factory=list)
    participants: tuple[Address, ...] = ()
    last_date: datetime | None = None
    unread_count: int = 0


@dataclass(frozen=True, slots=True)
class Account:
    """A configured account.  ``config`` holds non-secret settings only:
    secrets live in the keyring."""

    name: str
    provider: str
    channel: ChannelKind = ChannelKind.EMAIL
    address: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send produced.  ``error`` is a readable reason when ``success`` is false."""

    success: bool
    message_id: str | None = None
    error: str | None = None
    provider: str = ""
    attempts: int = 1

    def __bool__(self) -> bool:
        return self.success

    @classmethod
    def failed(cls, error: str, *, provider: str = "", message_id: str | None = None) -> SendResult:
        return cls(success=False, error=error, provider=provider, message_id=message_id)

    @classmethod
    def sent(cls, message_id: str, *, provider: str = "", attempts: int = 1) -> SendResult:
        return cls(success=True, message_id=message_id, provider=provider, attempts=attempts)


def addresses_text(addresses: Sequence[Address]) -> str:
    """Addresses joined for display and for indexing."""
    return ", ".join(str(a) for a in addresses)
