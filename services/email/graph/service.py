"""Outlook / Microsoft 365 / Exchange Online mail through Microsoft Graph.

:class:`GraphMailService` implements ChannelService plus SupportsFolders, SupportsSync,
SupportsSearch, SupportsSend, SupportsDrafts, SupportsFlags and SupportsMove (see
``services/email/protocols.py``).  Delegated access uses ``/me``; app-only access
(client credentials) uses ``/users/{address}``.  Sync keeps the raw MIME of every
message (see :mod:`.sync`); search runs ``$filter`` or ``$search`` on the server
(:func:`services.query.graph.to_graph`) and the residual locally.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import quote

import httpx

from services.email.graph.client import DEFAULT_BASE_URL, GraphClient
from services.email.graph.errors import PROVIDER, GraphError
from services.email.graph.mapping import (
    MESSAGE_FIELDS,
    GraphFolder,
    flag_patch,
    folder_from_json,
    message_from_json,
)
from services.email.graph.retry import RetryPolicy
from services.email.graph.send import DEFAULT_CHUNK, GraphSender
from services.email.graph.sync import FolderSync, SyncSettings
from services.email.graph.tokens import TokenProvider
from services.email.protocols import FolderInfo, Progress, SyncReport
from services.errors import (
    AuthenticationError,
    CommError,
    ConnectionFailed,
    ProviderError,
    ValidationError,
)
from services.mime.parse import parse_message
from services.models import Account, Flag, Message, SendResult
from services.query.ast import Node
from services.query.builder import EmailQuery
from services.query.evaluate import matches
from services.query.graph import odata_quote, to_graph
from services.query.parser import parse_query
from services.security.secrets import SecretStore
from services.store.prepare import bits_to_flags
from services.store.store import Store

__all__ = ["WELL_KNOWN_FOLDERS", "GraphMailService"]

WELL_KNOWN_FOLDERS = {
    "inbox": "inbox",
    "sentitems": "sent",
    "drafts": "drafts",
    "deleteditems": "trash",
    "junkemail": "junk",
    "archive": "archive",
}
DEFAULT_SEARCH_LIMIT = 200
_TEXT_BODY = {"Prefer": 'outlook.body-content-type="text"'}


class GraphMailService:
    provider = PROVIDER

    def __init__(
        self,
        account: Account,
        store: Store,
        secrets: SecretStore,
        *,
        token_provider: TokenProvider,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        app_only: bool = False,
        retry: RetryPolicy | None = None,
        sync_settings: SyncSettings | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        if app_only and not account.address:
            raise ValidationError("app-only Graph access needs the mailbox address (address=)")
        self.account = account
        self.store = store
        self.secrets = secrets
        self.client = GraphClient(token_provider, base_url=base_url, http=http, retry=retry)
        self.mailbox = f"/users/{quote(account.address)}" if app_only else "/me"
        self.sync_settings = sync_settings or SyncSettings()
        self.sender = GraphSender(self.client, self.mailbox, chunk_size=chunk_size)
        self._folders: list[GraphFolder] | None = None
        self._account_ready = False

    @property
    def name(self) -> str:
        return self.account.name

    # -- lifecycle --------------------------------------------------------------------
    async def connect(self) -> None:
        """Check the credentials and the mailbox by listing the folders."""
        await self._ensure_account()
        await self._load_folders(refresh=True)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _ensure_account(self) -> None:
        if self._account_ready:
            return
        acc = self.account

        def ensure() -> None:
            if not self.store.read_rows("SELECT id FROM accounts WHERE name = ?", (acc.name,)):
                self.store.ensure_account(acc.name, acc.provider or PROVIDER, acc.channel,
                                          acc.address, acc.config)

        await asyncio.to_thread(ensure)
        self._account_ready = True

    # -- folders ----------------------------------------------------------------------
    async def _list_level(self, path: str, parent: GraphFolder | None) -> list[GraphFolder]:
        out: list[GraphFolder] = []
        async for items, _ in self.client.pages(path, params={"$top": "100"}):
            out += [folder_from_json(i, parent) for i in items]
        return out

    async def _well_known_ids(self) -> dict[str, str]:
        """Folder id → well-known name (v1.0 folders do not say which they are)."""

        async def one(name: str) -> tuple[str, str] | None:
            try:
                data = await self.client.json(
                    "GET", f"{self.mailbox}/mailFolders/{name}", params={"$select": "id"})
            except GraphError as exc:
                if exc.status in (400, 404):
                    return None
                raise
            return (str(data["id"]), name) if data.get("id") else None

        found = await asyncio.gather(*(one(n) for n in WELL_KNOWN_FOLDERS))
        return dict(f for f in found if f is not None)

    async def _load_folders(self, *, refresh: bool = False) -> list[GraphFolder]:
        if self._folders is not None and not refresh:
            return self._folders
        level = await self._list_level(f"{self.mailbox}/mailFolders", None)
        folders: list[GraphFolder] = []
        while level:
            folders += level
            nxt: list[GraphFolder] = []
            for f in level:
                if f.child_count:
                    nxt += await self._list_level(
                        f"{self.mailbox}/mailFolders/{f.id}/childFolders", f)
            level = nxt
        if any(f.well_known is None for f in folders):
            known = await self._well_known_ids()
            folders = [_with_well_known(f, known.get(f.id)) for f in folders]
        self._folders = folders
        return folders

    async def list_folders(self) -> list[FolderInfo]:
        return [FolderInfo(f.name, f.role, "/") for f in await self._load_folders(refresh=True)]

    async def folder(self, name: str) -> GraphFolder:
        """A folder by path, role (``sent``) or well-known name (``sentitems``)."""
        key = name.strip().strip("/").casefold()
        for refresh in (False, True):
            folders = await self._load_folders(refresh=refresh)
            for by in ("name", "role", "well_known"):
                for f in folders:
                    value = getattr(f, by)
                    if value and str(value).casefold() == key:
                        return f
        known = ", ".join(f.name for f in folders)
        raise ProviderError(f"{self.name}: no folder {name!r} (folders: {known})",
                            provider=PROVIDER, error_code="NOT_FOUND")

    # -- sync -------------------------------------------------------------------------
    async def sync(self, *, progress: Progress | None = None) -> SyncReport:
        """Delta-sync every folder; a folder that fails is reported, the others go on."""
        started = time.monotonic()
        report = SyncReport(account=self.name)
        await self._ensure_account()
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, None)

        engine = FolderSync(self.client, self.store, self.name, self.mailbox,
                            self.sync_settings, step)
        for folder in await self._load_folders(refresh=True):
            try:
                await engine.sync(folder, report)
                report.folders += 1
            except (AuthenticationError, ConnectionFailed):
                raise
            except CommError as exc:
                report.errors.append(f"{folder.name}: {exc}")
        report.seconds = time.monotonic() - started
        return report

    # -- search -----------------------------------------------------------------------
    async def search_remote(self, query: object) -> list[Message]:
        """Search on the server; what Graph cannot express is checked locally."""
        node, limit = _query_node(query)
        compiled = to_graph(node)
        graph = compiled.expressed
        path = f"{self.mailbox}/messages"
        if graph.folder is not None:
            path = f"{self.mailbox}/mailFolders/{(await self.folder(graph.folder)).id}/messages"
        params = {**graph.params(), "$select": MESSAGE_FIELDS, "$top": str(min(limit, 100))}
        if compiled.residual is not None:
            params["$expand"] = "attachments($select=name,contentType,size,isInline)"
        headers = dict(_TEXT_BODY)
        if graph.search:
            headers["ConsistencyLevel"] = "eventual"
        names = {f.id: f.name for f in await self._load_folders()}
        found: list[Message] = []
        async for items, _ in self.client.pages(path, params=params, headers=headers):
            for item in items:
                folder = names.get(str(item.get("parentFolderId") or ""), "")
                message = message_from_json(item, account=self.name, folder=folder)
                if compiled.residual is None or matches(compiled.residual, message):
                    found.append(message)
            if len(found) >= limit:
                break
        found = found[:limit]
        await self._attach_local_ids(found)
        return found

    async def _attach_local_ids(self, messages: list[Message]) -> None:
        rids = [m.remote_id for m in messages if m.remote_id]
        if not rids:
            return
        rows = await asyncio.to_thread(
            self.store.read_rows,
            "SELECT m.remote_id, m.id FROM messages m JOIN accounts a ON a.id = m.account_id "
            "WHERE a.name = ? AND m.remote_id IN (SELECT value FROM json_each(?))",
            (self.name, json.dumps(rids)),
        )
        local = {str(r): int(i) for r, i in rows}
        for m in messages:
            m.id = local.get(m.remote_id or "")

    # -- send / drafts ----------------------------------------------------------------
    async def send_raw(
        self, raw: bytes, *, sender: str, recipients: Iterable[str]
    ) -> SendResult:
        """Send RFC 5322 bytes as they are (MIME send); Graph keeps a copy in Sent Items.

        ``sender`` is the mailbox that sends (Graph uses the signed-in / addressed
        mailbox); envelope recipients missing from the headers are sent as Bcc."""
        if not isinstance(raw, bytes | bytearray) or not bytes(raw).strip():
            raise ValidationError("send_raw needs the message as non-empty bytes")
        wanted = [r for r in recipients if r and r.strip()]
        if not wanted:
            raise ValidationError("send_raw needs at least one recipient")
        return await self.sender.send(bytes(raw), wanted)

    async def has_message_id(self, message_id: str) -> bool:
        """Does the mailbox hold a message with this Message-ID (e.g. in Sent Items)?"""
        literal = odata_quote("<" + message_id.strip().strip("<>") + ">")
        data = await self.client.json("GET", f"{self.mailbox}/messages", params={
            "$filter": f"internetMessageId eq {literal}", "$select": "id", "$top": "1"})
        return bool(data.get("value"))

    async def save_draft(self, raw: bytes) -> str:
        """Create a draft from MIME (under 4 MB); returns its Graph id."""
        return await self.sender.create_draft(bytes(raw))

    # -- flags / move -----------------------------------------------------------------
    async def set_flags(
        self, message: Message, add: Iterable[Flag] = (), remove: Iterable[Flag] = ()
    ) -> None:
        """Seen and flagged go to the server; other flags are kept locally only."""
        plus, minus = frozenset(add), frozenset(remove)
        rid = _remote_id(message)
        body = flag_patch(plus, minus)
        if body:
            await self.client.request("PATCH", f"{self.mailbox}/messages/{rid}", json=body)
        if message.id is not None:
            await asyncio.to_thread(self.store.set_flags, message.id, plus, minus)

    async def move(self, message: Message, folder: str) -> None:
        rid = _remote_id(message)
        dest = await self.folder(folder)
        data = await self.client.json("POST", f"{self.mailbox}/messages/{rid}/move",
                                      json={"destinationId": dest.id}, idempotent=False)
        new_id = str(data.get("id") or rid)
        if message.id is not None:
            message.id = await asyncio.to_thread(self._relocate, message.id, dest.name, new_id)
        message.folder, message.remote_id = dest.name, new_id

    def _relocate(self, local_id: int, folder: str, remote_id: str) -> int | None:
        """The local copy follows the move: same bytes, new folder and remote id."""
        rows = self.store.read_rows("SELECT flags FROM messages WHERE id = ?", (local_id,))
        if not rows:
            return None
        raw = self.store.raw(local_id)
        moved = parse_message(raw, account=self.name, folder=folder, remote_id=remote_id)
        moved.flags = bits_to_flags(int(rows[0][0] or 0))
        result = self.store.ingest([(moved, raw)], dedupe_content=False)
        self.store.delete([local_id])
        return result.ids[0] if result.ids else None


def _with_well_known(folder: GraphFolder, name: str | None) -> GraphFolder:
    if name is None:
        return folder
    return replace(folder, well_known=name, role=WELL_KNOWN_FOLDERS[name])


def _remote_id(message: Message) -> str:
    if not message.remote_id:
        raise ValidationError("this message has no Graph id (remote_id); sync it first")
    return message.remote_id


def _query_node(query: object) -> tuple[Node, int]:
    limit = DEFAULT_SEARCH_LIMIT
    if isinstance(query, EmailQuery):
        if query.max_results is not None:
            limit = max(1, query.max_results)
        return query.node, limit
    if isinstance(query, str):
        return parse_query(query), limit
    if isinstance(query, Node):
        return query, limit
    raise ValidationError(
        f"search_remote takes a query string, an EmailQuery or a query tree, "
        f"not {type(query).__name__}")

