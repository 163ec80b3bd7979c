"""Signing in to Microsoft Graph: device code, interactive, silent refresh, client credentials.

:class:`GraphAuth` (delegated, a user's mailbox) wraps an msal public client.  The msal
token cache is kept in the OS keyring through a :class:`SecretStore` (key
``graph_token_cache``) and written back after every call that changed it, so a rotated
refresh token is always the one stored; it never touches a file.
:class:`GraphAppAuth` (app-only, confidential client) uses the client-credentials grant.

Both are :class:`TokenProvider` objects: ``await provider.token()`` gives a bearer token.
msal blocks, so every call runs in a worker thread, one at a time per provider.
Failures become :class:`~services.errors.AuthenticationError` carrying msal's
``error_description``; network trouble ``ConnectionFailed``/``OperationTimedOut``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from services.email.graph._msal import DeviceCode, MsalApp, MsalCache, TokenResult
from services.email.graph.tokens import StaticTokenProvider, TokenProvider
from services.errors import AuthenticationError, ConfigurationError
from services.security.secrets import SecretStore

__all__ = [
    "APP_SCOPES",
    "CACHE_KEY",
    "DEFAULT_AUTHORITY_HOST",
    "DELEGATED_SCOPES",
    "DeviceCode",
    "DeviceCodeCallback",
    "GraphAppAuth",
    "GraphAuth",
    "StaticTokenProvider",
    "TokenProvider",
    "TokenResult",
    "authority_url",
]

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DELEGATED_SCOPES: tuple[str, ...] = (
    "https://graph.microsoft.com/Mail.ReadWrite",
    "https://graph.microsoft.com/Mail.Send",
)  # msal adds openid, profile and offline_access itself
APP_SCOPES: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
CACHE_KEY = "graph_token_cache"
_MULTI_TENANT = frozenset({"common", "organizations", "consumers"})

DeviceCodeCallback = Callable[[DeviceCode], None]
T = TypeVar("T")


def authority_url(tenant: str, host: str = DEFAULT_AUTHORITY_HOST) -> str:
    tenant = (tenant or "common").strip().strip("/")
    if not tenant or "/" in tenant:
        raise ConfigurationError(f"bad tenant {tenant!r}: use a tenant id, a domain or 'common'")
    if not host.startswith("https://"):
        raise ConfigurationError(f"the sign-in authority must be https://, not {host!r}")
    return f"{host.rstrip('/')}/{tenant}"


class _MsalHolder:
    """Builds the msal app lazily (its constructor does network I/O) and serialises calls."""

    def __init__(self, build: Callable[[], MsalApp]) -> None:
        self._build = build
        self._app: MsalApp | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[[MsalApp], T], after: Callable[[], None]) -> T:
        with self._lock:
            try:
                if self._app is None:
                    self._app = self._build()
                return fn(self._app)
            finally:
                after()

    async def arun(self, fn: Callable[[MsalApp], T], after: Callable[[], None]) -> T:
        return await asyncio.to_thread(self.run, fn, after)


class GraphAuth:
    """Delegated sign-in for one account over an msal public client.

    ``token()`` returns a cached token, refreshing it silently when needed; when no
    account is signed in it runs the device-code flow if ``device_code_callback`` is set,
    otherwise it raises AuthenticationError telling the caller to sign in.
    ``http_client`` (a ``requests.Session``) is handed to msal: tests point it at a fake.
    """

    def __init__(
        self,
        account: str,
        client_id: str,
        secrets: SecretStore,
        *,
        tenant: str = "common",
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        scopes: Sequence[str] = DELEGATED_SCOPES,
        username: str | None = None,
        device_code_callback: DeviceCodeCallback | None = None,
        http_client: object | None = None,
    ) -> None:
        if not client_id:
            raise ConfigurationError("Microsoft sign-in needs client_id (the app registration)")
        self.account = account
        self.client_id = client_id
        self.authority = authority_url(tenant, authority_host)
        self.scopes = tuple(scopes)
        self.username = username or None
        self.device_code_callback = device_code_callback
        self._secrets = secrets
        self._cache = MsalCache(secrets.get(account, CACHE_KEY))
        self._holder = _MsalHolder(lambda: MsalApp(
            client_id, self.authority, self._cache, http_client=http_client))

    def _persist(self) -> None:
        """Write the token cache to the keyring whenever msal changed it."""
        if self._cache.changed:
            self._secrets.set(self.account, CACHE_KEY, self._cache.serialize())

    async def token(self) -> str:
        result = await self._holder.arun(
            lambda app: app.silent(self.scopes, self.username), self._persist)
        if result is not None:
            return result.access_token
        if self.device_code_callback is not None:
            return (await self.sign_in_device_code(self.device_code_callback)).access_token
        raise AuthenticationError(
            f"account {self.account!r} is not signed in to Microsoft (or the sign-in expired): "
            "sign in again with the device code or the browser")

    async def signed_in_users(self) -> list[str]:
        return await self._holder.arun(lambda app: app.usernames(), self._persist)

    async def sign_in_device_code(self, callback: DeviceCodeCallback) -> TokenResult:
        """Device-code flow: ``callback`` gets the code and message to show the user,
        then this waits (polling the sign-in service) until the user has signed in."""
        flow, code = await self._holder.arun(
            lambda app: app.initiate_device_flow(self.scopes), self._persist)
        callback(code)
        result = await self._holder.arun(lambda app: app.finish_device_flow(flow), self._persist)
        self.username = self.username or result.username
        return result

    async def sign_in_interactive(self, *, timeout: int | None = 300) -> TokenResult:
        """Browser sign-in (a local redirect listener); needs a desktop session."""
        result = await self._holder.arun(
            lambda app: app.interactive(self.scopes, self.username, timeout), self._persist)
        self.username = self.username or result.username
        return result

    async def sign_out(self) -> None:
        await self._holder.arun(lambda app: app.remove_accounts(), self._persist)
        self._secrets.delete(self.account, CACHE_KEY)


class GraphAppAuth:
    """App-only access (client-credentials grant, confidential client).

    Calls then use ``/users/{address}`` instead of ``/me``.  msal keeps the app token in
    memory and renews it when it expires; the client secret stays with the caller.
    """

    def __init__(
        self,
        tenant: str,
        client_id: str,
        client_secret: str,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        scopes: Sequence[str] = APP_SCOPES,
        http_client: object | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("app-only access needs client_id and client_secret")
        if (tenant or "common").lower() in _MULTI_TENANT:
            raise ConfigurationError(
                "app-only access (client_secret) needs tenant_id: the directory id or domain")
        self.authority = authority_url(tenant, authority_host)
        self.scopes = tuple(scopes)
        self._holder = _MsalHolder(lambda: MsalApp(
            client_id, self.authority, MsalCache(None), client_secret=client_secret,
            http_client=http_client))

    async def token(self) -> str:
        result = await self._holder.arun(lambda app: app.for_client(self.scopes), _nothing)
        return result.access_token


def _nothing() -> None:
    return None
