"""Gmail OAuth: the installed-app sign-in, and tokens kept in the OS keyring.

The user brings their own OAuth client (``credentials.json`` from the Google Cloud
console). :func:`sign_in` runs Google's installed-app flow (a browser and a loopback
redirect; interactive, so never in CI) and stores the tokens through a
:class:`~services.security.secrets.SecretStore` under key :data:`SECRET_KEY` as JSON:
refresh token, access token, expiry, plus the client id/secret and token URI needed to
refresh (all secret, so in the keyring, never in a file).

:class:`TokenKeeper` holds the live ``google.oauth2.credentials.Credentials``: it
refreshes them through ``google.auth.transport.requests.Request`` when they expire and
stores the result every time (Google may rotate the refresh token). A refused refresh
(``invalid_grant``) becomes ``AuthenticationError(SIGN_IN_EXPIRED)``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from services.email.gmail.errors import translate, untyped
from services.errors import AuthenticationError, CommError, ConfigurationError
from services.security.secrets import SecretStore

__all__ = [
    "GOOGLE_TOKEN_URI",
    "SCOPES",
    "SECRET_KEY",
    "ClientConfig",
    "TokenKeeper",
    "credentials_from_secret",
    "read_client_secrets",
    "save_credentials",
    "sign_in",
]

SCOPES = ("https://www.googleapis.com/auth/gmail.modify",)  # read, label, send; no delete
SECRET_KEY = "gmail-oauth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The parts of the user's OAuth client secrets file a refresh needs."""

    client_id: str
    client_secret: str
    token_uri: str = GOOGLE_TOKEN_URI


def read_client_secrets(path: Path | str) -> ClientConfig:
    """Read ``credentials.json`` (``installed`` or ``web`` client); clear errors if bad."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the Gmail client secrets {path}: {exc}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not JSON: {exc}") from exc
    section = data.get("installed") or data.get("web") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigurationError(
            f"{path} is not an OAuth client secrets file (no 'installed' section); download "
            "it from Google Cloud console → APIs & Services → Credentials → Desktop app"
        )
    try:
        return ClientConfig(
            client_id=str(section["client_id"]),
            client_secret=str(section["client_secret"]),
            token_uri=str(section.get("token_uri") or GOOGLE_TOKEN_URI),
        )
    except KeyError as exc:
        raise ConfigurationError(f"{path} lacks {exc.args[0]!r}") from exc


def _to_secret(creds: Credentials) -> str:
    expiry = creds.expiry.isoformat() if creds.expiry is not None else None
    return json.dumps({
        "refresh_token": creds.refresh_token,
        "token": creds.token,
        "expiry": expiry,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "token_uri": creds.token_uri,
        "scopes": list(creds.scopes or SCOPES),
    })


def save_credentials(
    secrets: SecretStore, account: str, creds: Credentials, *, secret_key: str = SECRET_KEY
) -> None:
    secrets.set(account, secret_key, _to_secret(creds))


def credentials_from_secret(
    secrets: SecretStore,
    account: str,
    client: ClientConfig | None = None,
    *,
    secret_key: str = SECRET_KEY,
) -> Credentials:
    """Credentials from the keyring; ``client`` (from ``credentials.json``) wins over the
    stored client id/secret/token URI.  No stored sign-in → ``AuthenticationError``.

    The same JSON (under another ``secret_key``) serves any OAuth 2.0 provider whose
    refresh-token grant google-auth can call, e.g. IMAP/SMTP XOAUTH2 accounts."""
    text = secrets.get(account, secret_key)
    if not text:
        if secret_key != SECRET_KEY:
            raise AuthenticationError(
                f"account {account!r} has no OAuth sign-in stored (secret {secret_key!r})"
            )
        raise AuthenticationError(
            f"account {account!r} is not signed in to Gmail; run `commhub account add gmail`"
        )
    try:
        data: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise AuthenticationError(
            f"the stored OAuth sign-in of {account!r} is unreadable; sign in again"
        ) from exc
    expiry = data.get("expiry")
    when = datetime.fromisoformat(expiry) if isinstance(expiry, str) else None
    if when is not None and when.tzinfo is not None:  # google-auth compares naive UTC
        when = when.replace(tzinfo=None)
    factory: Any = Credentials  # google-auth leaves __init__ unannotated
    creds: Credentials = factory(
        token=data.get("token"),
        refresh_token=data.get("refresh_token"),
        token_uri=client.token_uri if client else data.get("token_uri") or GOOGLE_TOKEN_URI,
        client_id=client.client_id if client else data.get("client_id"),
        client_secret=client.client_secret if client else data.get("client_secret"),
        scopes=list(data.get("scopes") or SCOPES),
        expiry=when,
    )
    return creds


def sign_in(
    secrets: SecretStore, account: str, credentials_path: Path | str, *, port: int = 0
) -> Credentials:
    """Interactive installed-app flow (opens the browser); stores and returns the tokens."""
    read_client_secrets(credentials_path)  # readable errors before a browser opens
    flow_mod = untyped("google_auth_oauthlib.flow")
    try:
        flow = flow_mod.InstalledAppFlow.from_client_secrets_file(
            str(credentials_path), scopes=list(SCOPES)
        )
        creds = flow.run_local_server(port=port, access_type="offline", prompt="consent")
    except Exception as exc:
        raise AuthenticationError(f"Gmail sign-in did not complete: {exc}") from exc
    if not isinstance(creds, Credentials) or not creds.refresh_token:
        raise AuthenticationError("Google did not return a refresh token; sign in again")
    save_credentials(secrets, account, creds)
    return creds


class TokenKeeper:
    """Live credentials of one account: refreshed when needed, stored when changed."""

    def __init__(
        self, creds: Credentials, secrets: SecretStore, account: str, *,
        secret_key: str = SECRET_KEY,
    ) -> None:
        self.credentials = creds
        self._secrets = secrets
        self._account = account
        self._secret_key = secret_key
        self._lock = threading.Lock()
        self._saved = self._fingerprint()

    def _fingerprint(self) -> tuple[str | None, str | None, str | None]:
        c = self.credentials
        return c.token, c.refresh_token, c.expiry.isoformat() if c.expiry else None

    def ensure_valid(self) -> None:
        """Refresh the access token if it is missing or expired (then store it)."""
        with self._lock:
            if self.credentials.valid:
                return
            self._refresh_locked()

    def refresh(self) -> None:
        with self._lock:
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        if not self.credentials.refresh_token:
            raise AuthenticationError(
                "the OAuth access token expired and there is no refresh token; sign in again"
            )
        requests_transport = untyped("google.auth.transport.requests")
        try:
            live: Any = self.credentials
            live.refresh(requests_transport.Request())
        except CommError:
            raise
        except Exception as exc:
            error = translate(exc)
            if self._secret_key != SECRET_KEY and isinstance(error, AuthenticationError):
                error = AuthenticationError(  # not a Gmail account: say it without "Gmail"
                    f"the OAuth sign-in of account {self._account!r} expired or was refused "
                    f"({exc}); sign in again"
                )
            raise error from exc
        self._persist_locked()

    def access_token(self) -> str:
        """A valid access token (refreshed and stored first when it has expired)."""
        self.ensure_valid()
        token = self.credentials.token
        if not token:
            raise AuthenticationError("the OAuth provider returned no access token")
        return str(token)

    def persist_if_changed(self) -> None:
        """Store the tokens if a refresh happened (also one inside the HTTP layer)."""
        with self._lock:
            self._persist_locked()

    def _persist_locked(self) -> None:
        now = self._fingerprint()
        if now != self._saved and self.credentials.refresh_token:
            save_credentials(self._secrets, self._account, self.credentials,
                             secret_key=self._secret_key)
            self._saved = now
