"""What the contacts service returns: list entries and timeline items (plain data)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from services.models import ChannelKind, Contact

__all__ = ["ContactEntry", "TimelineItem", "identity_kind", "name_key", "record_key"]

_KIND_OF_CHANNEL = {
    ChannelKind.EMAIL: "email",
    ChannelKind.SMS: "phone",
    ChannelKind.CHAT: "chat",
    ChannelKind.SOCKET: "socket",
}


def identity_kind(channel: ChannelKind | str) -> str:
    """The identity kind (``email``, ``phone``, ``chat``, ``socket``) of a channel."""
    return _KIND_OF_CHANNEL[ChannelKind(channel)]


def record_key(contact_id: int) -> str:
    return f"c:{contact_id}"


def name_key(name: str) -> str:
    """A name folded for duplicate detection: case, accents and spacing ignored."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.replace(".", " ").split())


@dataclass(frozen=True, slots=True)
class ContactEntry:
    """One row of the contacts list.

    ``key`` is ``"c:<id>"`` for a recorded contact and ``"a:<address>"`` for one derived
    from messages only; ``contact.id`` is None for a derived one.
    """

    key: str
    contact: Contact
    message_count: int = 0
    last_date: datetime | None = None

    @property
    def recorded(self) -> bool:
        return self.contact.id is not None

    @property
    def display_name(self) -> str:
        c = self.contact
        return c.name or c.email or c.phone or c.socket_id or next(
            iter(c.chat_handles.values()), self.key
        )

    def handles(self) -> list[tuple[str, str]]:
        """``(kind, value)`` for every identity, primary first within each kind."""
        c = self.contact
        out = [("email", e) for e in c.emails] + [("phone", p) for p in c.phones]
        out += [("socket", s) for s in c.socket_ids]
        out += [("chat", h) for h in c.chat_handles.values()]
        return out


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One message to or from a contact, on any channel."""

    message_id: int
    channel: ChannelKind
    account: str
    date: datetime | None
    incoming: bool
    handle: str
    subject: str
    snippet: str
