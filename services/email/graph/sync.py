"""Delta sync of one mail folder into the store (I/O around :mod:`.delta`).

``messages/delta`` is followed page by page (``@odata.nextLink``) to the
``@odata.deltaLink``, which is kept in ``SyncState.token`` for the next run.  New
messages are downloaded as MIME (``/messages/{id}/$value``) so the store keeps the raw
bytes; changed ones get their flags updated; ``@removed`` ones are deleted locally.
A delta link the server no longer knows (410 Gone / syncStateNotFound) restarts the
folder from a full listing: known messages are matched by id (nothing downloaded or
stored twice) and local messages missing from the listing are deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from services.email.graph.client import GraphClient
from services.email.graph.delta import (
    DELTA_SELECT,
    DeltaItem,
    LocalEntry,
    parse_delta,
    plan_delta,
    stale_ids,
)
from services.email.graph.errors import GraphError, is_delta_expired
from services.email.graph.mapping import GraphFolder
from services.email.protocols import SyncReport
from services.mime.parse import parse_message
from services.models import Flag, Message
from services.store.prepare import bits_to_flags
from services.store.store import Store
from services.store.syncstate import SyncState, get_sync_state, put_sync_state

__all__ = ["FolderSync", "SyncSettings"]


@dataclass(frozen=True, slots=True)
class SyncSettings:
    page_size: int = 100  # Prefer: odata.maxpagesize
    concurrency: int = 4  # parallel MIME downloads


def _local_state(store: Store, account: str, folder: str) -> dict[str, LocalEntry]:
    rows = store.read_rows(
        "SELECT m.remote_id, m.id, m.flags FROM messages m JOIN folders f ON f.id = m.folder_id "
        "JOIN accounts a ON a.id = m.account_id "
        "WHERE a.name = ? AND f.name = ? AND m.remote_id IS NOT NULL",
        (account, folder),
    )
    return {str(r): LocalEntry(int(i), bits_to_flags(int(b or 0))) for r, i, b in rows}


class FolderSync:
    def __init__(
        self,
        client: GraphClient,
        store: Store,
        account: str,
        mailbox: str,
        settings: SyncSettings | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.account = account
        self.mailbox = mailbox  # "/me" or "/users/{address}"
        self.settings = settings or SyncSettings()
        self._progress = progress

    def _initial_url(self, folder: GraphFolder) -> str:
        return f"{self.mailbox}/mailFolders/{folder.id}/messages/delta?$select={DELTA_SELECT}"

    async def sync(self, folder: GraphFolder, report: SyncReport) -> None:
        state = await asyncio.to_thread(get_sync_state, self.store, self.account, folder.name)
        token = state.token if state else None
        try:
            await self._run(folder, token or self._initial_url(folder), token is None, report)
        except GraphError as exc:
            if token is None or not is_delta_expired(exc):
                raise
            report.full_resync = True
            await self._run(folder, self._initial_url(folder), True, report)

    async def _run(self, folder: GraphFolder, url: str, full: bool, report: SyncReport) -> None:
        local = await asyncio.to_thread(_local_state, self.store, self.account, folder.name)
        seen: set[str] = set()
        delta_link: str | None = None
        headers = {"Prefer": f"odata.maxpagesize={self.settings.page_size}"}
        async for items, page in self.client.pages(url, headers=headers):
            parsed = parse_delta(items)
            seen.update(i.remote_id for i in parsed if not i.removed)
            await self._apply(folder, parsed, local, report)
            if page.get("@odata.deltaLink"):
                delta_link = str(page["@odata.deltaLink"])
        if full:
            gone = stale_ids(seen, local)
            if gone:
                report.removed += await asyncio.to_thread(self.store.delete, gone)
        if delta_link is None:
            raise GraphError(f"delta sync of {folder.name!r} ended without a deltaLink",
                             status=200, error_code="BAD_RESPONSE")
        await asyncio.to_thread(put_sync_state, self.store, self.account, folder.name,
                                SyncState(token=delta_link))

    async def _apply(self, folder: GraphFolder, items: list[DeltaItem],
                     local: dict[str, LocalEntry], report: SyncReport) -> None:
        plan = plan_delta(items, local)
        if plan.remove:
            report.removed += await asyncio.to_thread(self.store.delete, plan.remove)
            dropped = set(plan.remove)
            for rid in [r for r, e in local.items() if e.id in dropped]:
                del local[rid]
        for local_id, (add, remove) in plan.update.items():
            await asyncio.to_thread(self.store.set_flags, local_id, add, remove)
            report.updated += 1
        if plan.fetch:
            added = await self._download(folder, plan.fetch)
            local.update(added)
            report.added += len(added)
            if self._progress is not None:
                self._progress(len(added))

    async def _download(self, folder: GraphFolder, wanted: dict[str, frozenset[Flag]]
                        ) -> dict[str, LocalEntry]:
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))

        async def fetch(rid: str) -> tuple[str, bytes | None]:
            async with gate:
                try:
                    response = await self.client.request(
                        "GET", f"{self.mailbox}/messages/{rid}/$value")
                except GraphError as exc:
                    if exc.status == 404:  # deleted since the delta page was made
                        return rid, None
                    raise
                return rid, response.content

        fetched = await asyncio.gather(*(fetch(rid) for rid in wanted))
        batch: list[tuple[Message, bytes]] = []
        for rid, raw in fetched:
            if raw is None:
                continue
            message = parse_message(raw, account=self.account, folder=folder.name, remote_id=rid)
            message.flags = wanted[rid]
            batch.append((message, raw))
        if not batch:
            return {}
        result = await asyncio.to_thread(self.store.ingest, batch, dedupe_content=False)
        if result.duplicates == 0 and len(result.ids) == len(batch):
            return {m.remote_id or "": LocalEntry(i, m.flags)
                    for (m, _), i in zip(batch, result.ids, strict=True)}
        rids = {m.remote_id or "" for m, _ in batch}  # some were there already: ask the store
        state = await asyncio.to_thread(_local_state, self.store, self.account, folder.name)
        return {r: e for r, e in state.items() if r in rids}
