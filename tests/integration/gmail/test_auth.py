"""OAuth tokens: refresh through the fake /token, rotation stored, invalid_grant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.email.gmail import GmailService, RetryPolicy
from services.email.gmail.auth import SECRET_KEY, TokenKeeper, credentials_from_secret
from services.errors import AuthenticationError
from services.models import Account
from services.security.secrets import MemorySecrets
from services.store.store import Store
from tests.fakes.gmail import GmailFake

ACCOUNT = Account("work", "gmail", address="alice@example.test")


def seed(secrets: MemorySecrets, refresh_token: str) -> None:
    """A sign-in whose access token expired an hour ago (as the installed flow leaves it)."""
    past = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)
    secrets.set("work", SECRET_KEY, json.dumps({
        "refresh_token": refresh_token, "token": "stale", "expiry": past.isoformat(),
        "scopes": ["https://www.googleapis.com/auth/gmail.modify"],
    }))


def stored(secrets: MemorySecrets) -> dict[str, str]:
    text = secrets.get("work", SECRET_KEY)
    assert text is not None
    data: dict[str, str] = json.loads(text)
    return data


async def test_refresh_rotates_and_stores_tokens(
    gmail_fake: GmailFake, store: Store, client_secrets: Path, retry: RetryPolicy
) -> None:
    secrets = MemorySecrets()
    old = gmail_fake.oauth.issue_refresh_token()
    seed(secrets, old)
    gmail_fake.oauth.rotate = True
    svc = GmailService(ACCOUNT, store, secrets, credentials_path=client_secrets,
                       api_endpoint=gmail_fake.endpoint, retry=retry)
    await svc.connect()
    assert (await svc.list_folders())[0].name == "INBOX"
    first = stored(secrets)
    assert first["refresh_token"] != old
    assert first["refresh_token"] in gmail_fake.oauth.refresh_tokens
    assert old not in gmail_fake.oauth.refresh_tokens
    assert first["token"] in gmail_fake.oauth.access_tokens
    assert first["client_id"] == gmail_fake.oauth.client_id
    assert first["token_uri"] == gmail_fake.token_uri
    # the server drops the access token early: 401 → refresh inside the call → stored again
    gmail_fake.oauth.expire_access_tokens()
    await svc.list_folders()
    second = stored(secrets)
    assert second["refresh_token"] not in (old, first["refresh_token"])
    assert second["token"] in gmail_fake.oauth.access_tokens
    grants = [r["grant_type"] for r in gmail_fake.oauth.requests]
    assert grants == ["refresh_token", "refresh_token"]
    await svc.aclose()
    # a new service (next start of the app) uses the rotated token from the keyring alone
    svc2 = GmailService(ACCOUNT, store, secrets, api_endpoint=gmail_fake.endpoint, retry=retry)
    await svc2.connect()
    assert await svc2.list_folders()
    await svc2.aclose()


async def test_invalid_grant_is_sign_in_expired(
    gmail_fake: GmailFake, store: Store, client_secrets: Path, retry: RetryPolicy
) -> None:
    secrets = MemorySecrets()
    seed(secrets, "revoked-long-ago")
    svc = GmailService(ACCOUNT, store, secrets, credentials_path=client_secrets,
                       api_endpoint=gmail_fake.endpoint, retry=retry)
    with pytest.raises(AuthenticationError, match="sign-in expired; run `commhub account add"):
        await svc.connect()


async def test_revoked_during_a_session(
    gmail_fake: GmailFake, store: Store, client_secrets: Path, retry: RetryPolicy
) -> None:
    secrets = MemorySecrets()
    seed(secrets, gmail_fake.oauth.issue_refresh_token())
    svc = GmailService(ACCOUNT, store, secrets, credentials_path=client_secrets,
                       api_endpoint=gmail_fake.endpoint, retry=retry)
    await svc.connect()
    gmail_fake.oauth.revoke_all()
    with pytest.raises(AuthenticationError, match="sign-in expired"):
        await svc.sync()
    await svc.aclose()


def test_not_signed_in_and_keeper_without_refresh_token() -> None:
    with pytest.raises(AuthenticationError, match="not signed in"):
        credentials_from_secret(MemorySecrets(), "work")
    from google.oauth2.credentials import Credentials

    keeper = TokenKeeper(Credentials(token=None), MemorySecrets(), "work")
    with pytest.raises(AuthenticationError, match="no refresh token"):
        keeper.ensure_valid()
