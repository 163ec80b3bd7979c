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
    """A :class:`SentFolder` over an IMAP service.

    The folder is the one the server marks ``\\Sent`` (RFC 6154) when the service can
    list folders; otherwise ``folder``, created on first use if the server lacks it.
    """

    def __init__(self, imap: ImapLike, folder: str = "Sent") -> None:
        self.imap = imap
        self.folder = folder
        self._resolved = False

    async def _resolve(self) -> str:
        if self._resolved:
            return self.folder
        lister = getattr(self.imap, "list_folders", None)
        creator = getattr(self.imap, "create_folder", None)
        if lister is not None:
            folders = await lister()
            by_role = [f.name for f in folders if getattr(f, "role", None) == "sent"]
            names = {f.name for f in folders}
            if by_role:
                self.folder = by_role[0]
            elif self.folder not in names and creator is not None:
                await creator(self.folder)
        self._resolved = True
        return self.folder

    async def append_sent(self, raw: bytes) -> None:
        await self.imap.append(await self._resolve(), raw, frozenset({Flag.SEEN}))

    async def was_sent(self, message_id: str) -> bool:
        return await self.imap.has_message_id(await self._resolve(), message_id)
