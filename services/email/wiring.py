"""Factories that turn an account's settings into an :class:`EmailAccount`.

Registered by :func:`services.providers.builtin_registry`.  Each factory receives
the settings (``comm.email("smtp", host=..., password=...)`` or a stored account)
and the shared dependencies in :class:`ProviderContext`; secrets found in the
settings move to the keyring at once and never reach the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from services.email.account import Deliver, EmailAccount
from services.email.oauth import OAuthTokens
from services.errors import ConfigurationError
from services.models import Account, Address, ChannelKind, SendResult
from services.outbox import OutboxSender, Route, SentFolder
from services.registry import ProviderContext
from services.store import outbox as outbox_rows

__all__ = ["gmail_factory", "imap_factory", "outbox_deliver", "outlook_factory", "smtp_factory"]

_SECRET_KEYS = ("password", "client_secret")


def _persist(
    context: ProviderContext, name: str, provider: str, config: Mapping[str, Any]
) -> tuple[Account, dict[str, Any]]:
    """Move secrets to the keyring, store the rest; returns (account, settings)."""
    settings = {k: v for k, v in config.items() if k not in _SECRET_KEYS}
    for key in _SECRET_KEYS:
        if config.get(key):
            context.secrets.set(name, key, str(config[key]))
    for nested in ("imap", "smtp", "failover"):
        section = settings.get(nested)
        if isinstance(section, Mapping) and section.get("password"):
            context.secrets.set(name, f"{nested}-password", str(section["password"]))
            settings[nested] = {k: v for k, v in section.items() if k != "password"}
    address = str(settings.get("address") or settings.get("username") or "")
    account = context.store_opener().ensure_account(
        name, provider, channel=ChannelKind.EMAIL, address=address, config=settings
    )
    return account, settings


def _secret(context: ProviderContext, name: str, *keys: str) -> str | None:
    for key in keys:
        value = context.secrets.get(name, key)
        if value:
            return str(value)
    return None


def outbox_deliver(
    store: Any, account: str, routes: Sequence[Route], sent_folder: SentFolder | None
) -> Deliver:
    """Send through the outbox: the row is committed before any network I/O."""
    sender = OutboxSender(store, account, routes, sent_folder=sent_folder)
    recovered = False

    async def deliver(
        raw: bytes, from_addr: str, recipients: Sequence[str], message_id: str
    ) -> SendResult:
        nonlocal recovered
        if not recovered:  # rows a crashed run left in 'sending' are settled first
            await sender.recover()
            recovered = True
        item = await asyncio.to_thread(
            outbox_rows.enqueue, store, account, raw, from_addr, recipients, message_id
        )
        return await sender.send_now(item)

    return deliver


def _smtp_route(
    context: ProviderContext, name: str, section: Mapping[str, Any], key: str,
    oauth: OAuthTokens | None = None,
) -> Route:
    from services.email.smtp import SmtpConfig, SmtpSender

    config = SmtpConfig.from_mapping(section)
    if config.auth == "XOAUTH2":
        tokens = oauth or OAuthTokens(context.secrets, name)
        return Route(key, SmtpSender(config, token=tokens.atoken, name=key))
    password = _secret(context, name, f"{key}-password", "password")
    return Route(key, SmtpSender(config, password=password, name=key))


def _failover(context: ProviderContext, name: str, settings: Mapping[str, Any]) -> list[Route]:
    section = settings.get("failover")
    if section is None:
        return []
    if not isinstance(section, Mapping):
        raise ConfigurationError("failover must be SMTP settings: {'host': ..., 'port': ...}")
    return [_smtp_route(context, name, section, "failover")]


def _identity(settings: Mapping[str, Any]) -> Address:
    address = str(settings.get("address") or settings.get("username") or "")
    if "@" not in address:
        raise ConfigurationError("the account needs address= (your e-mail address)")
    return Address(address, str(settings.get("display_name", "")))


def smtp_factory(context: ProviderContext, name: str, config: Mapping[str, Any]) -> EmailAccount:
    """Send-only account: ``comm.email("smtp", host=..., port=587, username=..., password=...)``."""
    account, settings = _persist(context, name, "smtp", config)
    smtp_keys = {
        "host",
        "port",
        "security",
        "username",
        "auth",
        "ca_file",
        "timeout",
        "allow_plaintext",
        "local_hostname",
    }
    section = {k: v for k, v in settings.items() if k in smtp_keys}
    routes = [_smtp_route(context, name, section, "smtp"), *_failover(context, name, settings)]
    store = context.store_opener()
    return EmailAccount(
        account=account,
        store=store,
        loop=context.loop,
        service=None,
        deliver=outbox_deliver(store, name, routes, None),
        identity=_identity(settings),
        hooks=context.extras.get("hooks"),
    )


def gmail_factory(context: ProviderContext, name: str, config: Mapping[str, Any]) -> EmailAccount:
    """``comm.gmail(credentials_path="credentials.json")``: the Gmail API."""
    from services.email.gmail.api import DEFAULT_ENDPOINT
    from services.email.gmail.service import GmailService

    account, settings = _persist(context, name, "gmail", config)
    store = context.store_opener()
    service = GmailService(
        account,
        store,
        context.secrets,
        credentials_path=settings.get("credentials_path"),
        api_endpoint=str(settings.get("api_endpoint", DEFAULT_ENDPOINT)),
        credentials=context.extras.get("gmail_credentials"),
    )
    routes = [Route("gmail", service, saves_sent=True), *_failover(context, name, settings)]
    address = settings.get("address") or "me@gmail.com"
    return EmailAccount(
        account=account,
        store=store,
        loop=context.loop,
        service=service,
        deliver=outbox_deliver(store, name, routes, _ApiSent(service)),
        identity=Address(str(address)),
        refresh=service.connect,
        hooks=context.extras.get("hooks"),
    )


class _ApiSent:
    """Gmail and Graph file sent mail themselves; the outbox only asks whether it is there."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def append_sent(self, raw: bytes) -> None:
        return None

    async def was_sent(self, message_id: str) -> bool:
        return bool(await self.service.has_message_id(message_id))


def _section(settings: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    section = settings.get(key)
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"{key} settings must be a mapping such as {{'host': ...}}")
    return {k: v for k, v in section.items() if v is not None}


def imap_factory(context: ProviderContext, name: str, config: Mapping[str, Any]) -> EmailAccount:
    """IMAP for reading, SMTP for sending: ``{"address", "imap": {...}, "smtp": {...}}``."""
    from services.email.imap import ImapConfig, ImapService
    from services.outbox import ImapSentFolder

    account, settings = _persist(context, name, "imap", config)
    imap = _section(settings, "imap")
    if imap is None:
        raise ConfigurationError("an imap account needs imap={'host': ..., 'username': ...}")
    store = context.store_opener()
    oauth = OAuthTokens(context.secrets, name)  # used only by XOAUTH2 logins
    service = ImapService(account, store, ImapConfig.from_mapping(imap), context.secrets,
                          token_provider=oauth.token)
    smtp = _section(settings, "smtp")
    routes = [_smtp_route(context, name, smtp, "smtp", oauth)] if smtp else []
    routes += _failover(context, name, settings)
    sent = ImapSentFolder(service, folder=str(settings.get("sent_folder", "Sent")))
    return EmailAccount(
        account=account, store=store, loop=context.loop, service=service,
        deliver=outbox_deliver(store, name, routes, sent) if routes else None,
        identity=_identity(settings),
        hooks=context.extras.get("hooks"),
    )


def outlook_factory(context: ProviderContext, name: str, config: Mapping[str, Any]) -> EmailAccount:
    """Microsoft 365 / Outlook.com / Exchange Online through Microsoft Graph."""
    from services.email.graph.factory import CONFIG_KEYS
    from services.email.graph.factory import factory as graph_factory

    account, settings = _persist(context, name, "outlook", config)
    service = graph_factory(
        context, name, {k: v for k, v in config.items() if k in CONFIG_KEYS}
    )
    store = context.store_opener()
    routes = [Route("outlook", service, saves_sent=True), *_failover(context, name, settings)]
    address = settings.get("address") or settings.get("username") or "me@outlook.com"
    return EmailAccount(
        account=account, store=store, loop=context.loop, service=service,
        deliver=outbox_deliver(store, name, routes, _ApiSent(service)),
        identity=Address(str(address)),
        hooks=context.extras.get("hooks"),
    )
