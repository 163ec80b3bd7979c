"""Local mail accounts: a Maildir or mbox on disk, mirrored into the store.

The files on disk stay the source of truth; the store holds the index, threads
and a byte-exact copy of every message.  ``sync()`` picks up what changed on disk
(re-importing adds nothing twice), ``append()`` writes to disk first and then
indexes the new message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.errors import ConfigurationError, NotFound
from services.models import Account, ChannelKind, Flag, Message
from services.query.ast import Term, TextField, and_
from services.query.builder import EmailQuery

if TYPE_CHECKING:
    from services.email.maildir import MaildirAccount
    from services.email.mbox import MboxAccount
    from services.importer import ImportReport
    from services.store import Store

__all__ = ["LocalMailService"]


class LocalMailService:
    """A Maildir or mbox account.  Supports folders, sync, search and append."""

    def __init__(
        self,
        store: Store,
        account: Account,
        mailbox: MaildirAccount | MboxAccount,
        path: Path,
    ) -> None:
        self.store = store
        self.account = account
        self.mailbox = mailbox
        self.path = path

    @classmethod
    def from_config(
        cls, store: Store, kind: str, name: str, config: Mapping[str, Any]
    ) -> LocalMailService:
        raw_path = config.get("path")
        if not raw_path:
            raise ConfigurationError(f"a {kind} account needs path=, the folder or file on disk")
        unknown = set(config) - {"path", "create", "address"}
        if unknown:
            raise ConfigurationError(f"unknown {kind} setting(s): {', '.join(sorted(unknown))}")
        path = Path(str(raw_path)).expanduser()
        create = bool(config.get("create", False))
        mailbox: MaildirAccount | MboxAccount
        if kind == "maildir":
            from services.email.maildir import MaildirAccount

            mailbox = MaildirAccount(path, create=create)
        else:
            from services.email.mbox import MboxAccount

            mailbox = MboxAccount(path, create=create)
        account = store.ensure_account(
            name,
            kind,
            channel=ChannelKind.EMAIL,
            address=str(config.get("address", "")),
            config={"path": str(path)},
        )
        return cls(store, account, mailbox, path)

    @property
    def name(self) -> str:
        return self.account.name

    def folders(self) -> list[str]:
        return self.mailbox.folders()

    def sync(self, progress: Callable[[int, int | None], None] | None = None) -> ImportReport:
        """Index what is on disk; messages already in the store are skipped."""
        from services.importer import import_path

        return import_path(self.store, self.path, account=self.account.name, progress=progress)

    def _scoped(self, query: EmailQuery | str) -> EmailQuery:
        q = EmailQuery.parse(query) if isinstance(query, str) else query
        scoped = EmailQuery.from_node(and_(q.node, Term(TextField.ACCOUNT, self.account.name)))
        scoped.max_results = q.max_results
        scoped.offset_value = q.offset_value
        scoped.sort_keys = q.sort_keys
        return scoped

    def search(self, query: EmailQuery | str) -> list[Message]:
        """Search this account's messages in the local index."""
        return self.store.search(self._scoped(query))

    def count(self, query: EmailQuery | str) -> int:
        return self.store.count(self._scoped(query))

    def get(self, message_id: int) -> Message:
        return self.store.get(message_id)

    def append(self, folder: str, raw: bytes, flags: frozenset[Flag] = frozenset()) -> Message:
        """Write a message into ``folder`` on disk, then index it.  Returns the stored message."""
        from services.mime.parse import parse_message

        remote_id = self.mailbox.append(folder, raw, flags)
        message = parse_message(raw, account=self.account.name, folder=folder, remote_id=remote_id)
        message = message.with_changes(flags=flags)
        result = self.store.ingest([(message, raw)])
        if result.ids:
            return self.store.get(result.ids[0])
        # the same bytes were already stored for this account: that message is the one
        # (``sha256 <> ''``: the partial index's condition, services.store.migrations.HASHED)
        rows = self.store.read_rows(
            "SELECT m.id FROM messages m JOIN accounts a ON a.id = m.account_id "
            "WHERE a.name = ? AND m.sha256 = ? AND m.sha256 <> '' ORDER BY m.id LIMIT 1",
            (self.account.name, hashlib.sha256(raw).hexdigest()),
        )
        if not rows:
            raise NotFound(f"appended message not found in the store for {self.account.name!r}")
        return self.store.get(int(rows[0][0]))

    def close(self) -> None:
        """Nothing to release: the store belongs to the manager."""
