"""``CommManager``: the one object a caller needs.

It owns the local store (opened lazily), a provider registry, and the security
settings, and hands out channel services::

    comm = CommManager()
    local = comm.email("maildir", path="~/Mail")
    local.sync()
    for message in comm.search(EmailQuery().from_sender("alice").is_unread()):
        ...

Providers are looked up in the registry by family and name, so adding one never
touches this class.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from services.errors import ConfigurationError, NotFound
from services.models import Account, ChannelKind, Flag, Message
from services.providers import builtin_registry
from services.query.builder import EmailQuery
from services.registry import ProviderContext, ProviderRegistry
from services.runtime import BackgroundLoop
from services.security.config import SecurityConfig
from services.security.secrets import KeyringSecrets, SecretStore
from services.store.paths import default_data_dir

if TYPE_CHECKING:
    from datetime import datetime

    from services.importer import ImportReport
    from services.security.audit import AuditEntry, AuditLog
    from services.security.hooks import SecurityHooks
    from services.security.retention import PurgeReport
    from services.security.secure_message import SecureMessage
    from services.security.smime import CertificateDirectory, OpenedMessage
    from services.store import Store

__all__ = ["CommManager"]

Progress = Callable[[int, int | None], None]
T = TypeVar("T")


class CommManager:
    """Facade over the store and every configured channel service."""

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        registry: ProviderRegistry | None = None,
        security_config: SecurityConfig | None = None,
        encryption_enabled: bool | None = None,
        audit_logging: bool | None = None,
        compliance_mode: str | None = None,
        data_retention_days: int | None = None,
        store: Store | None = None,
        secrets: SecretStore | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
        self.registry = registry if registry is not None else builtin_registry()
        self.security = (security_config or SecurityConfig()).with_overrides(
            encryption_enabled=encryption_enabled,
            audit_logging=audit_logging,
            compliance_mode=compliance_mode,
            data_retention_days=data_retention_days,
        )
        self._store = store
        self._owns_store = store is None
        self._lock = threading.Lock()
        self._services: dict[tuple[str, str], Any] = {}
        self.secrets: SecretStore = secrets if secrets is not None else KeyringSecrets()
        self.loop = BackgroundLoop()
        self._audit: AuditLog | None = None  # opened on first use (services/security/audit)
        self._audit_lock = threading.Lock()

    # -- the store -----------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "commhub.sqlite3"

    @property
    def store(self) -> Store:
        """The local store, opened (and migrated) on first use."""
        with self._lock:
            if self._store is None:
                from services.security.encryption import StoreKeys
                from services.store import Store

                self.data_dir.mkdir(parents=True, exist_ok=True)
                keys = StoreKeys(self.db_path, self.secrets)
                key = keys.key_for_open(self.security.encryption_enabled)
                self._store = Store.open(self.db_path, key=key)
                if self.auditing:  # received / deleted messages, one entry per batch
                    from services.security.store_audit import StoreAuditor

                    self._store.subscribe(StoreAuditor(self.audit_log))
            return self._store

    def close(self) -> None:
        for service in self._services.values():
            closer = getattr(service, "close", None)
            if callable(closer):
                closer()
        self._services.clear()
        self.loop.close()
        with self._lock:
            if self._store is not None and self._owns_store:
                self._store.close()
            self._store = None
            if self._audit is not None:
                self._audit.close()
                self._audit = None

    def __enter__(self) -> CommManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- channel services ------------------------------------------------------------
    def _context(self) -> ProviderContext:
        return ProviderContext(
            store_opener=lambda: self.store,
            secrets=self.secrets,
            loop=self.loop,
            extras={"security": self.security, "hooks": self.security_hooks()},
        )

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the manager's background loop (where services live)."""
        return self.loop.run(coro)

    def _service(
        self, family: str, provider: str, name: str | None, config: Mapping[str, Any]
    ) -> Any:
        canonical = self.registry.canonical(family, provider)
        account = name or str(config.get("account") or canonical)
        key = (family, account)
        if key not in self._services:
            cfg = {k: v for k, v in config.items() if k != "account"}
            self._services[key] = self.registry.create(
                family, canonical, self._context(), account, cfg
            )
        return self._services[key]

    def email(self, provider: str, /, **config: Any) -> Any:
        """An e-mail service: ``comm.email("maildir", path=...)``, ``comm.email("smtp", ...)``.

        ``account=`` names the account (defaults to the provider name).
        """
        return self._service("email", provider, None, config)

    def gmail(self, **config: Any) -> Any:
        """The Gmail API service: ``comm.gmail(credentials_path="credentials.json")``."""
        return self.email("gmail", **config)

    def sms(self, provider: str | None = None, /, **config: Any) -> Any:
        name = provider or config.pop("provider", None)
        if not name:
            raise ConfigurationError("comm.sms() needs provider=, e.g. provider='twilio'")
        return self._service("sms", str(name), None, config)

    def socket(self, type: str | None = None, /, **config: Any) -> Any:
        kind = type or config.pop("type", None)
        if not kind:
            raise ConfigurationError("comm.socket() needs type=, e.g. type='websocket'")
        return self._service("socket", str(kind), None, config)

    def chat(self, provider: str, /, **config: Any) -> Any:
        return self._service("chat", provider, None, config)

    # -- the local store, across every account and channel ----------------------------
    def import_path(
        self,
        path: str | os.PathLike[str],
        *,
        account: str | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import a Maildir, an mbox (Google Takeout too), a folder of .eml files or one file."""
        from services.importer import import_path

        return import_path(self.store, Path(path).expanduser(), account=account, progress=progress)

    def index_attachments(self, *, limit: int | None = None) -> int:
        """Analyse the stored attachments not analysed yet and index their text, so a search
        finds words inside them; returns how many were done.  Attachments of messages whose
        body is still on the server (an IMAP header sync) wait until the body is fetched."""
        from services.attachments.indexing import index_pending
        from services.attachments.manager import AttachmentManager
        from services.store.attachments import StoreCache

        done = 0
        with AttachmentManager(cache=StoreCache(self.store)) as manager:
            while limit is None or done < limit:
                batch = 100 if limit is None else min(100, limit - done)
                count = index_pending(manager, self.store, batch)
                if count == 0:
                    break
                done += count
        return done

    def search(self, query: EmailQuery | str) -> list[Message]:
        """Search everything in the local store (every account and channel)."""
        q = EmailQuery.parse(query) if isinstance(query, str) else query
        return self.store.search(q)

    def count(self, query: EmailQuery | str) -> int:
        q = EmailQuery.parse(query) if isinstance(query, str) else query
        return self.store.count(q)

    def get(self, message_id: int) -> Message:
        return self.store.get(message_id)

    def raw(self, message_id: int) -> bytes:
        return self.store.raw(message_id)

    def thread(self, message_id: int) -> list[Message]:
        return self.store.thread(message_id)

    def accounts(self) -> list[Account]:
        return self.store.accounts()

    # -- audit and DLP (services/security/audit.py, dlp.py, hooks.py) -------------------
    @property
    def audit_log(self) -> AuditLog:
        """The tamper-evident audit log (``audit.sqlite3``; its HMAC key in the keyring)."""
        with self._audit_lock:
            if self._audit is None:
                from services.security.audit import AuditLog

                log = AuditLog.open(self.data_dir / "audit.sqlite3", self.secrets)
                if self.auditing:  # recording is on: no key must fail now, not silently later
                    try:
                        log.ensure_key()
                    except BaseException:
                        log.close()
                        raise
                self._audit = log
            return self._audit

    @property
    def auditing(self) -> bool:
        """On with ``audit_logging``/``audit_all_communications`` or any compliance mode."""
        from services.security.compliance import compliance_settings

        return compliance_settings(self.security).audit_enabled

    def audit(self, event: str, **fields: Any) -> AuditEntry | None:
        """Record ``event`` when auditing is on (see :meth:`AuditLog.record`)."""
        return self.audit_log.record(event, **fields) if self.auditing else None

    def security_hooks(self) -> SecurityHooks:
        """DLP and audit hooks handed to providers (``ProviderContext.extras["hooks"]``)."""
        from services.security.compliance import compliance_settings
        from services.security.hooks import SecurityHooks

        # data_loss_prevention=True: the blocking default; a compliance mode: its preset
        return SecurityHooks(audit=self.audit_log if self.auditing else None,
                             dlp=compliance_settings(self.security).dlp)

    def get_audit_log(self, **filters: Any) -> list[AuditEntry]:
        """``get_audit_log(date_range=("2024-01-01", "2024-12-31"), message_types=["sent"],
        users=["admin@company.com"], channels=["email"])``: entries, oldest first."""
        from services.security.audit_query import audit_query

        return audit_query(self.audit_log, **filters)

    # -- secure messages, retention, GDPR (services/security/smime, retention, gdpr) -----
    @property
    def certificates(self) -> CertificateDirectory:
        """S/MIME certificates and the user's identity, under ``data_dir/certs``."""
        from services.security.smime import CertificateDirectory

        return CertificateDirectory(self.data_dir / "certs")

    def _audit_sink(self) -> AuditLog | None:
        return self.audit_log if self.auditing else None

    def create_secure_message(
        self, recipient: str, subject: str, body: str, *, encryption_level: str = "AES-256",
        expiry_hours: float | None = None, sender: str | None = None,
    ) -> SecureMessage:
        """An S/MIME message (signed when an identity is set up) encrypted to ``recipient``'s
        imported certificate; the local copy is purged ``expiry_hours`` later."""
        from services.security.secure_message import create_secure_message

        return create_secure_message(
            self.store, self.certificates, recipient=recipient, subject=subject, body=body,
            encryption_level=encryption_level, expiry_hours=expiry_hours, sender=sender,
            audit=self._audit_sink())

    def open_secure_message(self, message_id: int) -> OpenedMessage:
        """Decrypt and verify a stored S/MIME message (``.text``, ``.signature``,
        ``.signed_by(sender)``) with the identity and certificates under ``data_dir/certs``."""
        from services.security.secure_message import open_stored

        return open_stored(self.store, self.certificates, message_id)

    def purge(self, now: datetime | None = None) -> PurgeReport:
        """Run the retention job: messages past their kind's retention period and expired
        secure copies go, except under a legal hold.  ``now``: the time to purge as of."""
        from services.security.retention import RetentionJob, RetentionPolicy

        clock = (lambda: now.timestamp()) if now is not None else time.time
        return RetentionJob(self.store, RetentionPolicy.from_config(self.security),
                            audit=self._audit_sink(), clock=clock).run()

    # -- configured accounts ------------------------------------------------------------
    def add_account(
        self,
        name: str,
        provider: str,
        config: Mapping[str, Any],
        *,
        secrets: Mapping[str, str] | None = None,
        family: str = "email",
    ) -> Account:
        """Remember an account: settings in the store, secrets in the keyring."""
        canonical = self.registry.canonical(family, provider)
        for key, value in (secrets or {}).items():
            self.secrets.set(name, key, value)
        account = self.store.ensure_account(
            name, canonical, address=str(config.get("address", "")), config=dict(config)
        )
        self.audit("settings", channel=family, object_id=name,
                   details={"action": "account-added", "provider": canonical})
        return account

    def remove_account(self, name: str) -> None:
        """Forget an account, its messages and its secrets."""
        service = self._services.pop(("email", name), None)
        if service is not None and callable(getattr(service, "close", None)):
            service.close()
        for key in ("password", "token", "oauth"):
            self.secrets.delete(name, key)
        self.store.remove_account(name)
        self.audit("settings", object_id=name, details={"action": "account-removed"})

    def account(self, name: str, family: str = "email") -> Any:
        """The service of a stored account (``commhub account add`` made it)."""
        key = (family, name)
        if key not in self._services:
            stored = {a.name: a for a in self.store.accounts()}.get(name)
            if stored is None:
                raise ConfigurationError(f"no account named {name!r}; see `commhub accounts`")
            self._services[key] = self.registry.create(
                family, stored.provider, self._context(), name, stored.config
            )
        return self._services[key]

    def set_flags(self, message_id: int, add: Iterable[Flag] = (),
                  remove: Iterable[Flag] = ()) -> None:
        """Change a stored message's flags; a server account's message changes on the
        server first (through its service), so the next sync agrees."""
        message = self.store.get(message_id)
        owner = self._server_owner(message)
        if owner is None:
            self.store.set_flags(message_id, add, remove)
        else:
            owner.set_flags(message, frozenset(add), frozenset(remove))

    def delete_messages(self, ids: Iterable[int]) -> int:
        """Delete stored messages, on their server too when they came from one; returns
        how many were deleted (ids no longer stored are skipped)."""
        done = 0
        for message_id in ids:
            try:
                message = self.store.get(message_id)
            except NotFound:
                continue
            owner = self._server_owner(message)
            if owner is None:
                done += self.store.delete([message_id])
            else:
                owner.delete(message)
                done += 1
        return done

    def _server_owner(self, message: Message) -> Any:
        if message.channel != ChannelKind.EMAIL or not message.remote_id:
            return None
        if message.account not in {a.name for a in self.server_accounts()}:
            return None
        return self.account(message.account)

    def server_accounts(self) -> list[Account]:
        """Accounts that sync with a server (not local Maildir/mbox or imports)."""
        local = {"maildir", "mbox", "import", "demo"}
        return [a for a in self.store.accounts() if a.provider not in local]
