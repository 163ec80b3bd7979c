"""XOAUTH2 access tokens for IMAP and SMTP accounts.

An account with ``auth = "xoauth2"`` (IMAP) or ``auth = "XOAUTH2"`` (SMTP) signs in with an
OAuth 2.0 access token instead of a password.  The tokens live in the keyring under the
secret :data:`SECRET_KEY` as the JSON that :mod:`services.email.gmail.auth` writes (refresh
token, access token, expiry, client id/secret, token URI), so any provider with a standard
refresh-token grant works (Google, Microsoft, a self-hosted identity server).  google-auth
performs the refresh; a rotated refresh token is stored again every time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING

from services.security.secrets import SecretStore

if TYPE_CHECKING:
    from services.email.gmail.auth import TokenKeeper

__all__ = ["SECRET_KEY", "OAuthTokens", "store_oauth_sign_in"]

SECRET_KEY = "oauth"


def store_oauth_sign_in(
    secrets: SecretStore,
    account: str,
    *,
    refresh_token: str,
    client_id: str,
    token_uri: str,
    client_secret: str | None = None,
    access_token: str | None = None,
    scopes: tuple[str, ...] = (),
) -> None:
    """Keep an OAuth sign-in for ``account`` in the keyring (what ``account add`` stores)."""
    secrets.set(account, SECRET_KEY, json.dumps({
        "refresh_token": refresh_token, "token": access_token, "expiry": None,
        "client_id": client_id, "client_secret": client_secret, "token_uri": token_uri,
        "scopes": list(scopes),
    }))


class OAuthTokens:
    """The access-token source of one account, shared by its IMAP and SMTP connections.

    The keyring is read at the first use (so a missing sign-in is an
    ``AuthenticationError`` at login, not when the account object is built)."""

    def __init__(self, secrets: SecretStore, account: str) -> None:
        self._secrets = secrets
        self._account = account
        self._keeper: TokenKeeper | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A valid access token (blocking: refreshes over HTTP when it has expired)."""
        with self._lock:
            if self._keeper is None:
                from services.email.gmail.auth import TokenKeeper, credentials_from_secret

                creds = credentials_from_secret(self._secrets, self._account,
                                                secret_key=SECRET_KEY)
                self._keeper = TokenKeeper(creds, self._secrets, self._account,
                                           secret_key=SECRET_KEY)
            keeper = self._keeper
        return keeper.access_token()

    async def atoken(self) -> str:
        return await asyncio.to_thread(self.token)
