"""Fixtures for the Microsoft Graph mail tests: the local fake, a store, a service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.email.graph.retry import RetryPolicy
from services.email.graph.service import GraphMailService
from services.email.graph.sync import SyncSettings
from services.email.graph.tokens import StaticTokenProvider
from services.security.secrets import MemorySecrets
from services.store.store import Store
from tests.fakes.graph import FakeGraph

FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05)


@pytest.fixture
def graph_fake() -> Iterator[FakeGraph]:
    fake = FakeGraph().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db") as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
        yield client


@pytest.fixture
async def service(
    graph_fake: FakeGraph, store: Store, http: httpx.AsyncClient
) -> AsyncIterator[GraphMailService]:
    account = store.ensure_account("work", "outlook", address=graph_fake.address)
    svc = GraphMailService(
        account, store, MemorySecrets(),
        token_provider=StaticTokenProvider(graph_fake.user_token()),
        base_url=graph_fake.graph_url, http=http, retry=FAST_RETRY,
        sync_settings=SyncSettings(page_size=2),
    )
    await svc.connect()
    yield svc
    await svc.aclose()
