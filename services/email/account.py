"""The spec's blocking face of an e-mail account, over the async services.

``EmailAccount`` is what ``comm.gmail(...)`` and ``comm.email(name, **cfg)`` return for
server accounts.  It holds no protocol logic: every call runs the async service
method on the manager's :class:`~services.runtime.BackgroundLoop` and waits.  Sending
goes through ``deliver`` (the outbox: persisted first, then sent with retries and
failover), so ``compose().send()`` never loses or duplicates a message.

Messages it returns are *bound*: ``message.mark_as_read()`` reaches the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from services.email.protocols import (
    FolderInfo,
    SupportsDrafts,
    SupportsFlags,
    SupportsFolders,
    SupportsMove,
    SupportsSearch,
    SupportsSync,
    SyncReport,
)
from services.errors import AuthenticationError, UnsupportedOperation
from services.models import Account, Address, Flag, Message, SendResult
from services.query.ast import Term, TextField, and_
from services.query.builder import EmailQuery
from services.runtime import BackgroundLoop

if TYPE_CHECKING:
    from services.security.hooks import SecurityHooks
    from services.store import Store

__all__ = ["Deliver", "EmailAccount"]

Deliver = Callable[[bytes, str, Sequence[str], str], Awaitable[SendResult]]
"""``deliver(raw, sender, recipients, message_id) -> SendResult`` (the outbox)."""

Progress = Callable[[int, int | None], None]


class EmailAccount:
    def __init__(
        self,
        *,
        account: Account,
        store: Store,
        loop: BackgroundLoop,
        service: Any,
        deliver: Deliver | None,
        identity: Address,
        refresh: Callable[[], Awaitable[None]] | None = None,
        hooks: SecurityHooks | None = None,
    ) -> None:
        self.account = account
        self.store = store
        self.service = service
        self._loop = loop
        self._deliver = deliver
        self.identity = identity
        self._refresh = refresh
        self.hooks = hooks  # DLP before sending, audit records (services/security/hooks.py)
        self._signed_in = False
        if hooks is not None and deliver is not None:
            self._deliver = hooks.guard_deliver(deliver, account=account.name)

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def provider(self) -> str:
        return self.account.provider

    # -- reading ------------------------------------------------------------------
    def sync(self, progress: Progress | None = None) -> SyncReport:
        if not isinstance(self.service, SupportsSync):
            raise UnsupportedOperation(
                f"{self.provider} accounts cannot sync", provider=self.provider
            )
        try:
            report: SyncReport = self._loop.run(self.service.sync(progress=progress))
        except AuthenticationError as exc:
            self._audit_sign_in("sign-in-failed", {"reason": str(exc)[:200]})
            raise
        if not self._signed_in:  # the session's first authenticated server round
            self._signed_in = True
            self._audit_sign_in("sign-in", {"provider": self.provider})
        return report

    def _audit_sign_in(self, event: str, details: dict[str, str]) -> None:
        if self.hooks is not None:
            self.hooks.record(event, channel="email", object_id=self.name,
                              user=self.identity.address, details=details)

    def folders(self) -> list[FolderInfo]:
        if not isinstance(self.service, SupportsFolders):
            return []
        folders: list[FolderInfo] = self._loop.run(self.service.list_folders())
        return folders

    def _scoped(self, query: EmailQuery | str) -> EmailQuery:
        q = EmailQuery.parse(query) if isinstance(query, str) else query
        scoped = EmailQuery.from_node(and_(q.node, Term(TextField.ACCOUNT, self.account.name)))
        scoped.max_results = q.max_results
        scoped.offset_value = q.offset_value
        scoped.sort_keys = q.sort_keys
        return scoped

    def search(self, query: EmailQuery | str, *, remote: bool | None = None) -> list[Message]:
        """Messages of this account matching ``query``.

        The server is asked when it can search (narrowed there, finished locally; what
        it returns is stored); ``remote=False`` searches only what was synced.
        """
        if remote is None:
            remote = isinstance(self.service, SupportsSearch)
        if remote and isinstance(self.service, SupportsSearch):
            q = EmailQuery.parse(query) if isinstance(query, str) else query
            found: list[Message] = self._loop.run(self._search_with_bodies(q))
            return [self._bind(m) for m in found]
        return [self._bind(m) for m in self.store.search(self._scoped(query))]

    async def _search_with_bodies(self, query: EmailQuery) -> list[Message]:
        """Server search; results synced header-only get their bodies (attachments known)."""
        found: list[Message] = await self.service.search_remote(query)
        fetch = getattr(self.service, "fetch_body", None)
        if fetch is None:
            return found
        return [await fetch(m.id) if m.id is not None else m for m in found]

    def count(self, query: EmailQuery | str) -> int:
        return self.store.count(self._scoped(query))

    def get(self, message_id: int) -> Message:
        return self._bind(self.store.get(message_id))

    def _bind(self, message: Message) -> Message:
        message.actions = self
        return message

    # -- MessageActions (what bound messages call) ------------------------------
    def set_flags(self, message: Message, add: frozenset[Flag], remove: frozenset[Flag]) -> None:
        if isinstance(self.service, SupportsFlags):
            self._loop.run(self.service.set_flags(message, add, remove))
        elif message.id is not None:
            self.store.set_flags(message.id, add, remove)
        if self.hooks is not None:
            self.hooks.flags_changed(message, add, remove, user=self.identity.address)

    def delete(self, message: Message) -> None:
        """Delete on the server first (IMAP: \\Deleted and UID EXPUNGE; a provider that
        can only move: into its trash folder), then from the store, so the next sync does
        not bring it back."""
        remover = getattr(self.service, "delete", None)
        if callable(remover):
            self._loop.run(remover(message))
        else:
            if isinstance(self.service, SupportsMove) and isinstance(self.service,
                                                                     SupportsFolders):
                folders = self._loop.run(self.service.list_folders())
                trash = next((f.name for f in folders if f.role == "trash"), None)
                if trash is not None and trash != message.folder:
                    self._loop.run(self.service.move(message, trash))
            if message.id is not None:
                self.store.delete([message.id])
        if self.hooks is not None:
            self.hooks.deleted(message, user=self.identity.address)

    # -- sending ------------------------------------------------------------------
    def compose(self) -> Any:
        """A fluent message builder; ``.send()`` returns a :class:`SendResult`."""
        from services.compose import ComposeBuilder

        return ComposeBuilder(
            identity=self.identity, send=self._send_built, save_draft=self._save_draft
        )

    def _save_draft(
        self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str
    ) -> str:
        """Keep the draft locally (the outbox, status 'draft') and on the server when the
        provider has drafts; returns the Message-ID."""
        from services.store import outbox as outbox_rows

        outbox_rows.enqueue(
            self.store, self.name, raw, sender, recipients, message_id, status="draft"
        )
        self._loop.run(self._server_draft(raw))
        return message_id

    async def _server_draft(self, raw: bytes) -> None:
        if isinstance(self.service, SupportsDrafts):
            await self.service.save_draft(raw)
            return
        append = getattr(self.service, "append", None)
        lister = getattr(self.service, "list_folders", None)
        if append is None or lister is None:
            return
        folders: list[FolderInfo] = await lister()
        drafts = next((f.name for f in folders if f.role == "drafts"), None)
        if drafts is None:
            drafts = "Drafts"
            creator = getattr(self.service, "create_folder", None)
            if creator is not None and drafts not in {f.name for f in folders}:
                await creator(drafts)
        await append(drafts, raw, frozenset({Flag.DRAFT, Flag.SEEN}))

    def _send_built(
        self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str
    ) -> SendResult:
        if self._deliver is None:
            return SendResult.failed(
                f"account {self.name!r} has no way to send (no SMTP or API configured)",
                provider=self.provider,
            )
        result: SendResult = self._loop.run(self._deliver(raw, sender, recipients, message_id))
        return result

    def send_message(
        self,
        to: str | Address | Iterable[str | Address],
        subject: str,
        body: str,
        **extra: Any,
    ) -> SendResult:
        """``send_message("user@example.com", "Subject", "Body")`` from the spec."""
        builder = self.compose().to(to).subject(subject).body(body)
        for path in extra.pop("attachments", ()) or ():
            builder.attach(path)
        if extra.get("html"):
            builder.html(extra.pop("html"))
        for key in ("cc", "bcc"):
            if extra.get(key):
                getattr(builder, key)(extra.pop(key))
        if extra:
            raise TypeError(f"unknown argument(s): {', '.join(sorted(extra))}")
        result: SendResult = builder.send()
        return result

    def refresh_credentials(self) -> None:
        """Force a token refresh (OAuth accounts); a no-op for password accounts."""
        if self._refresh is not None:
            self._loop.run(self._refresh())

    def close(self) -> None:
        closer = getattr(self.service, "aclose", None)
        if closer is not None:
            self._loop.run(closer())
