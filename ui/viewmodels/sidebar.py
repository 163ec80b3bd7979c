"""Sidebar view-model: Unified Inbox, each account with its folders, saved searches.

Pure Python (no Qt).  Every entry carries the query text that selects it; the
inbox view-model narrows that with whatever is typed in the search field.
Saved searches live in a small JSON file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from services.errors import CommError
from services.models import Account, ChannelKind

Listener = Callable[[], None]

UNIFIED = "Unified Inbox"


class SidebarStore(Protocol):
    def accounts(self) -> list[Account]: ...
    def folders(self, account: str) -> list[str]: ...


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class SidebarEntry:
    kind: str  # "unified" | "account" | "folder" | "saved" | "group"
    label: str
    query: str
    channel: ChannelKind | None = None
    children: tuple[SidebarEntry, ...] = field(default_factory=tuple)


class SavedSearches:
    """Named queries kept in a JSON file (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            raw = json.loads(path.read_text("utf-8"))
            self.items: list[tuple[str, str]] = [(str(n), str(q)) for n, q in raw]
        except (OSError, ValueError, TypeError):
            self.items = []

    def add(self, name: str, query: str) -> None:
        self.items = [(n, q) for n, q in self.items if n != name] + [(name, query)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.items, ensure_ascii=False), "utf-8")
        tmp.replace(self.path)


class SidebarViewModel:
    def __init__(self, store: SidebarStore, saved: SavedSearches) -> None:
        self._store = store
        self.saved = saved
        self.entries: list[SidebarEntry] = [SidebarEntry("unified", UNIFIED, "")]
        self.error: str | None = None
        self._listeners: list[Listener] = []

    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _build(self) -> list[SidebarEntry]:
        entries = [SidebarEntry("unified", UNIFIED, "")]
        for account in self._store.accounts():
            acc_q = f"account:{_quote(account.name)}"
            folders = tuple(
                SidebarEntry("folder", f, f"{acc_q} folder:{_quote(f)}", account.channel)
                for f in self._store.folders(account.name)
            )
            label = account.name + (f" ({account.address})" if account.address else "")
            entries.append(SidebarEntry("account", label, acc_q, account.channel, folders))
        if self.saved.items:
            saved = tuple(SidebarEntry("saved", n, q) for n, q in self.saved.items)
            entries.append(SidebarEntry("group", "Saved searches", "", None, saved))
        return entries

    async def refresh(self) -> None:
        try:
            self.entries = await asyncio.to_thread(self._build)
            self.error = None
        except CommError as exc:
            self.error = str(exc)
        self._emit()

    async def save_search(self, name: str, query: str) -> None:
        await asyncio.to_thread(self.saved.add, name, query)
        await self.refresh()
