"""The Sent folder as the outbox sees it: file a copy, and ask whether a message is there."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from services.models import Flag

__all__ = ["ImapLike", "ImapSentFolder", "SentFolder"]


@runtime_checkable
class SentFolder(Protocol):
    async def append_sent(self, raw: bytes) -> None:
        """Store ``raw`` in the account's Sent folder (seen)."""
        ...

    async def was_sent(self, message_id: str) -> bool:
        """True if a message with this Message-ID (no angle brackets) is in Sent."""
        ...


class ImapLike(Protocol):
    """The two methods of the IMAP service the outbox needs."""

    async def append(self, folder: str, raw: bytes, flags: frozenset[Flag]) -> object: ...

    async def has_message_id(self, folder: str, message_id: str) -> bool: ...


class ImapSentFolder:
    """A :class:`SentFolder` over an IMAP service (``folder`` is the account's Sent)."""

    def __init__(self, imap: ImapLike, folder: str = "Sent") -> None:
        self.imap = imap
        self.folder = folder

    async def append_sent(self, raw: bytes) -> None:
        await self.imap.append(self.folder, raw, frozenset({Flag.SEEN}))

    async def was_sent(self, message_id: str) -> bool:
        return await self.imap.has_message_id(self.folder, message_id)
