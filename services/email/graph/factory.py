"""``factory(context, account_name, config)`` for the provider registry.

Register it under ``outlook`` with the aliases ``office365`` and ``exchange``.  Config keys:

* ``client_id`` (required): the Entra ID app registration;
* ``tenant_id`` (default ``common``): directory id or domain;
* ``client_secret``: app-only access (client-credentials grant) to the mailbox
  ``address``, through ``/users/{address}``.  Better kept in the keyring as the secret
  ``client_secret`` of the account than in the config;
* ``address`` / ``username``: the mailbox (and the signed-in user to pick from the cache);
* ``authority_host``, ``base_url``: sign-in and Graph endpoints (sovereign clouds, tests);
* ``upload_chunk_size``, ``page_size``: tuning.

Secrets come from ``context.secrets`` (else ``extras["secrets"]``, else the OS keyring).
``context.extras`` may carry
``device_code_callback`` (shows the device code; enables sign-in from ``token()``),
``msal_http_client`` (a ``requests.Session`` for msal), ``graph_http`` (an
``httpx.AsyncClient``), ``token_provider`` (replaces msal altogether), ``retry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.email.graph.client import DEFAULT_BASE_URL
from services.email.graph.errors import PROVIDER
from services.email.graph.retry import RetryPolicy
from services.email.graph.send import DEFAULT_CHUNK
from services.email.graph.service import GraphMailService
from services.email.graph.sync import SyncSettings
from services.email.graph.tokens import TokenProvider
from services.errors import ConfigurationError
from services.models import ChannelKind
from services.registry import ProviderContext
from services.security.secrets import KeyringSecrets, SecretStore

__all__ = ["ALIASES", "CONFIG_KEYS", "factory"]

ALIASES = ("office365", "exchange")
CONFIG_KEYS = frozenset({
    "client_id", "tenant_id", "client_secret", "address", "username", "authority_host",
    "base_url", "upload_chunk_size", "page_size",
})
_SECRET_KEYS = frozenset({"client_secret"})


def _int(config: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return int(config.get(key, default))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{key} must be a whole number, not {config[key]!r}") from exc


def factory(context: ProviderContext, account_name: str, config: Mapping[str, Any]
            ) -> GraphMailService:
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise ConfigurationError(
            f"unknown outlook setting(s): {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(CONFIG_KEYS))})")
    extras = context.extras
    secrets: SecretStore = (getattr(context, "secrets", None) or extras.get("secrets")
                            or KeyringSecrets())
    address = str(config.get("address") or config.get("username") or "")
    tenant = str(config.get("tenant_id") or "common")
    client_id = str(config.get("client_id") or "")
    authority_host = str(config.get("authority_host") or "https://login.microsoftonline.com")
    client_secret = str(config.get("client_secret") or "") or secrets.get(
        account_name, "client_secret")
    msal_http = extras.get("msal_http_client")
    provider: TokenProvider | None = extras.get("token_provider")
    app_only = bool(client_secret)
    if provider is None:
        from services.email.graph.auth import GraphAppAuth, GraphAuth

        if not client_id:
            raise ConfigurationError(
                "an outlook account needs client_id= (the app registration's id)")
        if client_secret:
            provider = GraphAppAuth(tenant, client_id, client_secret,
                                    authority_host=authority_host, http_client=msal_http)
        else:
            provider = GraphAuth(
                account_name, client_id, secrets, tenant=tenant, authority_host=authority_host,
                username=str(config.get("username") or address) or None,
                device_code_callback=extras.get("device_code_callback"),
                http_client=msal_http)
    store = context.store_opener()
    public = {k: v for k, v in config.items() if k not in _SECRET_KEYS}
    account = store.ensure_account(account_name, PROVIDER, ChannelKind.EMAIL, address, public)
    retry = extras.get("retry")
    return GraphMailService(
        account, store, secrets,
        token_provider=provider,
        base_url=str(config.get("base_url") or DEFAULT_BASE_URL),
        http=extras.get("graph_http"),
        app_only=app_only,
        retry=retry if isinstance(retry, RetryPolicy) else None,
        sync_settings=SyncSettings(page_size=_int(config, "page_size", 100)),
        chunk_size=_int(config, "upload_chunk_size", DEFAULT_CHUNK),
    )
