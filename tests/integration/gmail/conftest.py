"""Fixtures for the Gmail tests: the local Gmail fake, a store, a service wired to both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from services.email.gmail import GmailService, RetryPolicy
from services.models import Account
from services.security.secrets import MemorySecrets
from services.store.store import Store
from tests.fakes.gmail import GmailFake, gmail_fake

__all__ = ["gmail_fake"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(tmp_path / "db" / "commhub.sqlite3")
    st.ensure_account("work", "gmail", address="alice@example.test")
    yield st
    st.close()


@pytest.fixture
def secrets() -> MemorySecrets:
    return MemorySecrets()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, base=0.01, cap=5.0, sleep=sleeps.append, jitter=lambda: 0.5)


@pytest.fixture
def client_secrets(tmp_path: Path, gmail_fake: GmailFake) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"installed": {
        "client_id": gmail_fake.oauth.client_id,
        "client_secret": gmail_fake.oauth.client_secret,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": gmail_fake.token_uri,
        "redirect_uris": ["http://localhost"],
    }}))
    return path


@pytest.fixture
async def service(
    gmail_fake: GmailFake, store: Store, secrets: MemorySecrets, retry: RetryPolicy
) -> AsyncIterator[GmailService]:
    account = Account("work", "gmail", address="alice@example.test")
    svc = GmailService(account, store, secrets, api_endpoint=gmail_fake.endpoint,
                       credentials=Credentials(token=gmail_fake.access_token), retry=retry)
    await svc.connect()
    yield svc
    await svc.aclose()
