"""GmailService: the async Gmail channel (sync, search, send, flags, move, attachments).

Blocking googleapiclient calls run in ``asyncio.to_thread`` through :class:`GmailApi`.
``api_endpoint`` is a setting (tests point it at a local fake; batches follow it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from services.email.gmail.api import DEFAULT_ENDPOINT, GmailApi, JsonDict
from services.email.gmail.auth import (
    TokenKeeper,
    credentials_from_secret,
    read_client_secrets,
)
from services.email.gmail.errors import PROVIDER, RetryPolicy
from services.email.gmail.mapping import (
    flag_label_changes,
    folders_from_labels,
    message_from_raw_resource,
    move_label_changes,
    placement,
)
from services.email.gmail.storeops import apply_placement, ingest, local_index
from services.email.gmail.sync import GmailSync, Progress
from services.email.protocols import FolderInfo, SyncReport
from services.errors import ConfigurationError, MessageError, ValidationError
from services.models import Account, Attachment, Flag, Message, SendResult
from services.query.ast import Node
from services.security.secrets import SecretStore
from services.store.store import Store

__all__ = ["GmailService"]


class GmailService:
    """ChannelService + SupportsFolders/Sync/Search/Send/Flags/Move for one Gmail account."""

    provider = PROVIDER

    def __init__(
        self,
        account: Account,
        store: Store,
        secrets: SecretStore,
        *,
        credentials_path: Path | str | None = None,
        api_endpoint: str = DEFAULT_ENDPOINT,
        credentials: Credentials | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 50,
    ) -> None:
        self.account = account
        self.name = account.name
        self.store = store
        self.secrets = secrets
        self.credentials_path = credentials_path
        self.api_endpoint = api_endpoint
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self._credentials = credentials
        self._api: GmailApi | None = None
        self._labels: list[JsonDict] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def _connect_blocking(self) -> GmailApi:
        if self._api is None:
            creds = self._credentials
            if creds is None:
                client = (read_client_secrets(self.credentials_path)
                          if self.credentials_path else None)
                creds = credentials_from_secret(self.secrets, self.name, client)
            keeper = TokenKeeper(creds, self.secrets, self.name)
            keeper.ensure_valid()
            self._api = GmailApi(keeper, endpoint=self.api_endpoint, retry=self.retry,
                                 batch_size=self.batch_size)
        return self._api

    async def connect(self) -> None:
        await asyncio.to_thread(self._connect_blocking)

    async def aclose(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            await asyncio.to_thread(api.close)

    @property
    def credentials(self) -> Credentials | None:
        return self._api.keeper.credentials if self._api is not None else self._credentials

    def _label_list(self, refresh: bool = False) -> list[JsonDict]:
        if self._labels is None or refresh:
            self._labels = self._connect_blocking().labels()
        return self._labels

    def _names(self) -> Mapping[str, str]:
        return {str(lb["id"]): str(lb.get("name") or lb["id"]) for lb in self._label_list()}

    def _ids_by_name(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for lb in self._label_list():
            out[str(lb.get("name") or lb["id"])] = str(lb["id"])
            out.setdefault(str(lb.get("name") or lb["id"]).casefold(), str(lb["id"]))
        return out

    # -- folders and sync --------------------------------------------------------------
    async def list_folders(self) -> list[FolderInfo]:
        labels = await asyncio.to_thread(self._label_list, True)
        return folders_from_labels(labels)

    def _sync_blocking(self, progress: Progress | None) -> SyncReport:
        api = self._connect_blocking()
        self._label_list(refresh=True)
        return GmailSync(api, self.store, self.name, self._names).run(progress)

    async def sync(self, *, progress: Progress | None = None) -> SyncReport:
        return await asyncio.to_thread(self._sync_blocking, progress)

    # -- search ------------------------------------------------------------------------
    def _search_blocking(self, node: Node, limit: int | None) -> list[Message]:
        from services.query.evaluate import matches
        from services.query.gmail import to_gmail

        compiled = to_gmail(node)
        api = self._connect_blocking()
        ids = api.list_ids(compiled.expressed, limit=limit if compiled.exact else None)
        local = local_index(self.store, self.name)
        missing = [i for i in ids if i not in local]
        if missing:
            names = self._names()
            found = api.get_many(missing, "raw")
            ingest(self.store, [message_from_raw_resource(found[i], self.name, names)
                                for i in missing if i in found])
            local = local_index(self.store, self.name)
        out: list[Message] = []
        for ident in ids:
            entry = local.get(ident)
            if entry is None:
                continue
            message = self.store.get(entry.id)
            if compiled.residual is None or matches(compiled.residual, message):
                out.append(message)
                if limit is not None and len(out) >= limit:
                    break
        return out

    async def search_remote(self, query: object) -> list[Message]:
        """Search Gmail (``to_gmail`` q), then check the residual locally.  Accepts a query
        string, an ``EmailQuery`` or a query tree; results are stored and returned in
        Gmail's order (newest first)."""
        node, limit = _as_node(query)
        return await asyncio.to_thread(self._search_blocking, node, limit)

    async def has_message_id(self, message_id: str) -> bool:
        """Whether the mailbox holds a message with this Message-ID (the outbox's check)."""
        bare = message_id.strip().strip("<>")
        if not bare:
            return False

        def look() -> bool:
            api = self._connect_blocking()
            return bool(api.list_ids(f"rfc822msgid:{bare}", include_spam_trash=True, limit=1))

        return await asyncio.to_thread(look)

    # -- send --------------------------------------------------------------------------
    async def send_raw(
        self, raw: bytes, *, sender: str, recipients: Iterable[str]
    ) -> SendResult:
        """Send through ``users.messages.send`` (never retried: see ``GmailApi.send``).
        Gmail takes the recipients from the To/Cc/Bcc headers of ``raw``."""
        if not isinstance(raw, bytes | bytearray):
            raise TypeError("raw must be bytes")
        if not list(recipients):
            raise ValidationError("a message needs at least one recipient")
        head = BytesHeaderParser().parsebytes(bytes(raw))
        message_id = str(head.get("Message-ID", "")).strip().strip("<>") or None

        def go() -> SendResult:
            api = self._connect_blocking()
            sent = api.send(bytes(raw))
            mid = message_id
            if mid is None:
                meta = api.get(str(sent["id"]), "metadata")
                headers = meta.get("payload", {}).get("headers", [])
                mid = next((str(h["value"]).strip().strip("<>") for h in headers
                            if str(h.get("name", "")).lower() == "message-id"), None)
            if not mid:
                raise MessageError("Gmail accepted the message but it has no Message-ID",
                                   error_type=MessageError.INVALID)
            return SendResult.sent(mid, provider=PROVIDER)

        return await asyncio.to_thread(go)

    # -- flags, move, attachments --------------------------------------------------------
    def _remote_id(self, message: Message) -> str:
        if not message.remote_id:
            raise ValidationError("this message has no Gmail id (it was not synced from Gmail)")
        return message.remote_id

    def _modify_blocking(self, message: Message, add: list[str], remove: list[str]) -> None:
        api = self._connect_blocking()
        result = api.modify(self._remote_id(message), add, remove)
        if message.id is not None:
            apply_placement(self.store, message.id,
                            placement(result.get("labelIds", []), self._names()))

    async def set_flags(
        self, message: Message, add: Iterable[Flag] = (), remove: Iterable[Flag] = ()
    ) -> None:
        plus, minus = frozenset(add), frozenset(remove)
        add_ids, remove_ids = flag_label_changes(plus, minus)
        if add_ids or remove_ids:
            await asyncio.to_thread(self._modify_blocking, message, add_ids, remove_ids)
        local_only = (plus | minus) - {Flag.SEEN, Flag.FLAGGED}
        if local_only and message.id is not None:
            await asyncio.to_thread(self.store.set_flags, message.id,
                                    plus & local_only, minus & local_only)
        message.flags = (message.flags | plus) - minus

    async def move(self, message: Message, folder: str) -> None:
        def go() -> None:
            api = self._connect_blocking()
            current = api.get(self._remote_id(message), "minimal").get("labelIds", [])
            try:
                add, remove = move_label_changes(current, folder, self._ids_by_name())
            except KeyError:
                raise ConfigurationError(f"Gmail has no folder or label {folder!r}") from None
            self._modify_blocking(message, add, remove)

        await asyncio.to_thread(go)

    async def attachments(self, message: Message) -> list[Attachment]:
        """Attachments listed by Gmail (``format=full``), loaded lazily with
        ``attachments.get`` when read."""
        def go() -> list[Attachment]:
            api = self._connect_blocking()
            remote = self._remote_id(message)
            payload = api.get(remote, "full").get("payload", {})
            return [
                Attachment(
                    filename=str(part.get("filename")),
                    content_type=str(part.get("mimeType") or "application/octet-stream"),
                    size=int(part.get("body", {}).get("size", 0)),
                    part_id=str(part.get("partId", "")),
                    loader=_loader(api, remote, str(part["body"]["attachmentId"])),
                )
                for part in _walk(payload)
                if part.get("filename") and part.get("body", {}).get("attachmentId")
            ]

        return await asyncio.to_thread(go)

    async def attachment_bytes(self, remote_id: str, attachment_id: str) -> bytes:
        return await asyncio.to_thread(
            lambda: self._connect_blocking().attachment(remote_id, attachment_id))


def _loader(api: GmailApi, remote_id: str, attachment_id: str) -> Any:
    return lambda: api.attachment(remote_id, attachment_id)


def _walk(part: JsonDict) -> list[JsonDict]:
    out = [part]
    for child in part.get("parts", []) or []:
        out += _walk(child)
    return out


def _as_node(query: object) -> tuple[Node, int | None]:
    from services.query.builder import EmailQuery
    from services.query.parser import parse_query

    if isinstance(query, str):
        return parse_query(query), None
    if isinstance(query, EmailQuery):
        return query.node, query.max_results
    if isinstance(query, Node):
        return query, None
    raise ValidationError(f"cannot search Gmail with {type(query).__name__}")
