"""``ImapService``: an IMAP account as a Commhub channel service.

One main connection (serialised by a lock) serves sync, flags, moves and search;
``watch()`` opens its own connection per watched folder (a connection in IDLE can do
nothing else).  Everything fetched lands in the store; header-only messages get their
body with :meth:`ImapService.fetch_body`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

from services.email.imap.client import ImapConnection
from services.email.imap.config import ImapConfig
from services.email.imap.folders import find_role, folder_infos
from services.email.imap.protocol import fetched_from_response, flags_to_imap, prepare_fetched
from services.email.imap.sync import FolderResult, ProgressCounter, sync_folder
from services.email.protocols import FolderInfo, Progress, SyncReport
from services.errors import (
    AuthenticationError,
    ConnectionFailed,
    NotFound,
    ProviderError,
    ValidationError,
)
from services.models import Account, Flag, Message
from services.security.secrets import SecretStore
from services.store.partial import (
    BODY_HEADERS,
    body_state,
    ingest_remote,
    relocate,
    replace_body,
)
from services.store.prepare import prepare
from services.store.store import Store

__all__ = ["ImapService", "fetch_body"]

_log = logging.getLogger(__name__)
TokenProvider = Callable[[], str]
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
_IDLE_POLL = 5.0


class ImapService:
    """IMAP account service (ChannelService + sync, folders, flags, move, search, push)."""

    provider = "imap"

    def __init__(
        self,
        account: Account,
        store: Store,
        config: ImapConfig,
        secrets: SecretStore,
        token_provider: TokenProvider | None = None,
    ) -> None:
        self.account = account
        self.name = account.name
        self.store = store
        self.config = config
        self.secrets = secrets
        self.token_provider = token_provider
        self._conn: ImapConnection | None = None
        self._lock = asyncio.Lock()
        self._folders: list[FolderInfo] | None = None

    # -- connections -------------------------------------------------------------------
    def _password(self) -> str:
        value = self.secrets.get(self.name, "password")
        if not value:
            raise AuthenticationError(
                f"no password stored for account {self.name!r} (secret 'password')"
            )
        return value

    def _token(self) -> str:
        if self.token_provider is None:
            raise AuthenticationError(f"account {self.name!r} uses XOAUTH2 but has no token "
                                      "provider")
        return self.token_provider()

    def new_connection(self) -> ImapConnection:
        return ImapConnection(self.config, password=self._password, token=self._token)

    async def connect(self) -> None:
        async with self._lock:
            await self._ensure()

    async def _ensure(self) -> ImapConnection:
        if self._conn is None or not self._conn.is_open:
            conn = self.new_connection()
            await conn.open()
            self._conn = conn
        return self._conn

    async def _main(self) -> ImapConnection:
        """The main connection (caller holds the lock); reopened once if it dropped."""
        conn = await self._ensure()
        try:
            await conn.noop()
        except ConnectionFailed:
            await conn.close()
            self._conn = None
            conn = await self._ensure()
        return conn

    async def aclose(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    # -- folders -----------------------------------------------------------------------
    async def list_folders(self) -> list[FolderInfo]:
        async with self._lock:
            conn = await self._main()
            self._folders = folder_infos(await conn.list_folders())
            return list(self._folders)

    async def _sync_targets(self) -> list[str]:
        folders = self._folders if self._folders is not None else await self._list_locked()
        return [f.name for f in folders if f.selectable and self.config.wants_folder(f.name)]

    async def _list_locked(self) -> list[FolderInfo]:
        conn = await self._main()
        self._folders = folder_infos(await conn.list_folders())
        return self._folders

    # -- sync --------------------------------------------------------------------------
    async def sync(
        self, *, progress: Progress | None = None, pause: asyncio.Event | None = None,
        folders: Iterable[str] | None = None,
    ) -> SyncReport:
        """Sync every folder (or ``folders``).  Setting ``pause`` stops after the chunk in
        flight with the store consistent; the next sync resumes where this one stopped."""
        started = time.monotonic()
        report = SyncReport(account=self.name)
        counter = ProgressCounter(progress)
        async with self._lock:
            conn = await self._main()
            names = list(folders) if folders is not None else await self._sync_targets()
            for name in names:
                if pause is not None and pause.is_set():
                    break
                try:
                    result = await sync_folder(conn, self.store, self.name, name, self.config,
                                               progress=counter, pause=pause)
                except ProviderError as exc:
                    report.errors.append(f"{name}: {exc}")
                    continue
                _add(report, result)
        report.seconds = time.monotonic() - started
        return report

    async def sync_folder(self, folder: str) -> FolderResult:
        async with self._lock:
            conn = await self._main()
            return await sync_folder(conn, self.store, self.name, folder, self.config)

    # -- bodies ------------------------------------------------------------------------
    async def fetch_body(self, message_id: int) -> Message:
        """Fetch the whole message for a header-only one, replace its raw, re-index it;
        returns the full message (``Store.get``)."""
        summary = await asyncio.to_thread(_summary, self.store, message_id)
        if await asyncio.to_thread(body_state, self.store, message_id) == BODY_HEADERS:
            uid = _uid(summary)
            async with self._lock:
                conn = await self._main()
                await conn.ensure_selected(summary.folder)
                answer = await conn.fetch(str(uid), ("UID", "FLAGS", "RFC822.SIZE",
                                                     "INTERNALDATE", "BODY.PEEK[]"))
            items = fetched_from_response(answer.items)
            if not items:
                raise NotFound(f"message {message_id} (UID {uid} in {summary.folder}) is no "
                               "longer on the server")
            full = prepare_fetched(self.store.codec, self.name, summary.folder, items)[0]
            await asyncio.to_thread(replace_body, self.store, message_id, full)
        return await asyncio.to_thread(self.store.get, message_id)

    # -- flags and moves ---------------------------------------------------------------
    async def set_flags(
        self, message: Message, add: Iterable[Flag] = (), remove: Iterable[Flag] = ()
    ) -> None:
        """Server first, then the store."""
        plus, minus = frozenset(add), frozenset(remove)
        uid, mid = _uid(message), _id(message)
        async with self._lock:
            conn = await self._main()
            await conn.ensure_selected(message.folder)
            if plus:
                await conn.add_flags([uid], flags_to_imap(plus))
            if minus:
                await conn.remove_flags([uid], flags_to_imap(minus))
        message.flags = await asyncio.to_thread(self.store.set_flags, mid, plus, minus)

    async def move(self, message: Message, folder: str) -> None:
        uid, mid = _uid(message), _id(message)
        async with self._lock:
            conn = await self._main()
            await conn.ensure_selected(message.folder)
            mapping = await conn.move([uid], folder)
        new = mapping.get(uid)
        if new is None:  # no COPYUID: the next sync of ``folder`` fetches it
            await asyncio.to_thread(self.store.delete, [mid])
        else:
            await asyncio.to_thread(relocate, self.store, mid, folder, str(new))
        message.folder, message.remote_id = folder, (str(new) if new is not None else None)

    async def copy(self, message: Message, folder: str) -> int | None:
        """Copy on the server and in the store; returns the copy's local id (None when
        the server gave no COPYUID: the next sync of ``folder`` brings it)."""
        uid, mid = _uid(message), _id(message)
        async with self._lock:
            conn = await self._main()
            await conn.ensure_selected(message.folder)
            mapping = await conn.copy([uid], folder)
        new = mapping.get(uid)
        if new is None:
            return None
        raw = await asyncio.to_thread(self.store.raw, mid)
        partial = await asyncio.to_thread(body_state, self.store, mid) == BODY_HEADERS
        full = await asyncio.to_thread(self.store.get, mid)
        copy = full.with_changes(id=None, folder=folder, remote_id=str(new), size=message.size
                                 or full.size)
        done = await asyncio.to_thread(ingest_remote, self.store,
                                       [prepare(copy, raw, self.store.codec)],
                                       headers_only=partial)
        ids = done.result.ids or done.claimed
        return ids[0] if ids else None

    async def delete(self, message: Message) -> None:
        """\\Deleted + UID EXPUNGE on the server, then out of the store."""
        uid, mid = _uid(message), _id(message)
        async with self._lock:
            conn = await self._main()
            await conn.ensure_selected(message.folder)
            await conn.expunge_uids([uid])
        await asyncio.to_thread(self.store.delete, [mid])

    async def archive(self, message: Message) -> str:
        """Move to the archive folder (SPECIAL-USE \\Archive, else by name; created as
        "Archive" when there is none).  Returns the folder name."""
        async with self._lock:
            folders = await self._list_locked()
            found = find_role(folders, "archive")
            target = found.name if found else "Archive"
            if found is None:
                conn = await self._main()
                await conn.create_folder(target)
                self._folders = None
        await self.move(message, target)
        return target

    async def create_folder(self, folder: str) -> None:
        """CREATE ``folder`` on the server."""
        async with self._lock:
            conn = await self._main()
            await conn.create_folder(folder)
            self._folders = None

    async def append(self, folder: str, raw: bytes, flags: Iterable[Flag] = ()) -> int | None:
        """APPEND to ``folder`` (e.g. Sent after SMTP) and store it; returns the UID when
        the server tells it (UIDPLUS)."""
        wanted = frozenset(flags)
        async with self._lock:
            conn = await self._main()
            uid = await conn.append(folder, raw, flags_to_imap(wanted))
        from services.mime.parse import parse_message

        message = parse_message(raw, account=self.name, folder=folder,
                                remote_id=str(uid) if uid is not None else None)
        message.flags = wanted
        message.received_at = datetime.now(UTC)
        if uid is not None:
            await asyncio.to_thread(ingest_remote, self.store,
                                    [prepare(message, raw, self.store.codec)],
                                    headers_only=False)
        return uid

    async def has_message_id(self, folder: str, message_id: str) -> bool:
        """Whether ``folder`` holds a message with this Message-ID (UID SEARCH HEADER)."""
        wanted = message_id.strip()
        if not wanted:
            raise ValidationError("an empty Message-ID cannot be searched")
        if not wanted.startswith("<"):
            wanted = f"<{wanted}>"
        async with self._lock:
            conn = await self._main()
            await conn.select(folder, readonly=True)
            found = await conn.search(["HEADER", "Message-ID", wanted])
        return bool(found)

    # -- search ------------------------------------------------------------------------
    async def search_remote(self, query: object) -> list[Message]:
        from services.email.imap.search import search_remote

        return await search_remote(self, query)

    # -- push --------------------------------------------------------------------------
    def watch(self, folders: Iterable[str] | None = None) -> AsyncIterator[list[int]]:
        """New local message ids as they arrive (IDLE on a dedicated connection per
        folder; reconnects with backoff; cancelling closes the connections)."""
        from services.email.imap.idle import watch

        return watch(self, tuple(folders) if folders is not None else self.config.idle_folders)


def _add(report: SyncReport, result: FolderResult) -> None:
    report.folders += 1
    report.added += len(result.added)
    report.updated += result.updated
    report.removed += result.removed
    report.full_resync = report.full_resync or result.full_resync
    if not result.complete:
        report.errors.append(f"{result.folder}: paused before the end (resumes next sync)")


def _summary(store: Store, message_id: int) -> Message:
    """Just what a server operation needs: id, folder, remote id."""
    rows = store.read_rows(
        "SELECT coalesce(f.name, ''), m.remote_id FROM messages m "
        "LEFT JOIN folders f ON f.id = m.folder_id WHERE m.id = ?", (message_id,)
    )
    if not rows:
        raise NotFound(f"no message with id {message_id}")
    return Message(id=message_id, folder=str(rows[0][0]),
                   remote_id=rows[0][1] if isinstance(rows[0][1], str) else None)


def _uid(message: Message) -> int:
    if not message.remote_id or not message.remote_id.isdigit():
        raise ValidationError(
            f"message {message.id} has no IMAP UID (remote_id={message.remote_id!r}); sync first"
        )
    if not message.folder:
        raise ValidationError(f"message {message.id} has no folder")
    return int(message.remote_id)


def _id(message: Message) -> int:
    if message.id is None:
        raise ValidationError("the message is not stored yet (no local id)")
    return message.id


async def fetch_body(service: ImapService, message_id: int) -> Message:
    """Module-level form of :meth:`ImapService.fetch_body`."""
    return await service.fetch_body(message_id)
