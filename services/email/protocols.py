"""What a channel service can do, as protocols the UI and the facade test with ``isinstance``.

A service implements :class:`ChannelService` plus whichever capabilities its provider
has; callers ask ``isinstance(service, SupportsSend)``, never the provider's name.
All methods are async; the spec's blocking API wraps them (see ``services.runtime``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from services.models import Flag, Message, SendResult

__all__ = [
    "ChannelService",
    "FolderInfo",
    "SupportsDrafts",
    "SupportsFlags",
    "SupportsFolders",
    "SupportsMove",
    "SupportsPush",
    "SupportsSearch",
    "SupportsSend",
    "SupportsSync",
    "SyncReport",
]

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class FolderInfo:
    name: str
    role: str | None = None  # inbox, sent, drafts, trash, junk, archive, all, flagged
    delimiter: str = "/"
    selectable: bool = True


@dataclass(slots=True)
class SyncReport:
    account: str
    folders: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    full_resync: bool = False
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


@runtime_checkable
class ChannelService(Protocol):
    name: str
    provider: str

    async def connect(self) -> None: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class SupportsSend(Protocol):
    async def send_raw(
        self, raw: bytes, *, sender: str, recipients: Iterable[str]
    ) -> SendResult: ...


@runtime_checkable
class SupportsSync(Protocol):
    async def sync(self, *, progress: Progress | None = None) -> SyncReport: ...


@runtime_checkable
class SupportsSearch(Protocol):
    async def search_remote(self, query: object) -> list[Message]: ...


@runtime_checkable
class SupportsFolders(Protocol):
    async def list_folders(self) -> list[FolderInfo]: ...


@runtime_checkable
class SupportsFlags(Protocol):
    async def set_flags(
        self, message: Message, add: Iterable[Flag] = (), remove: Iterable[Flag] = ()
    ) -> None: ...


@runtime_checkable
class SupportsMove(Protocol):
    async def move(self, message: Message, folder: str) -> None: ...


@runtime_checkable
class SupportsPush(Protocol):
    def watch(self) -> AsyncIterator[list[int]]: ...


@runtime_checkable
class SupportsDrafts(Protocol):
    async def save_draft(self, raw: bytes) -> str: ...
