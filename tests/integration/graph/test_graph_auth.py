"""Sign-in through the real msal library against the local identity-platform fake."""

from __future__ import annotations

import json

import httpx
import pytest

from services.email.graph.auth import CACHE_KEY, DeviceCode, GraphAppAuth, GraphAuth
from services.email.graph.service import GraphMailService
from services.errors import AuthenticationError, ConfigurationError
from services.security.secrets import MemorySecrets
from services.store.store import Store
from tests.fakes.graph import FakeGraph


def _cached_refresh_tokens(secrets: MemorySecrets, account: str) -> list[str]:
    state = json.loads(secrets.get(account, CACHE_KEY) or "{}")
    return [e["secret"] for e in state.get("RefreshToken", {}).values()]


def _auth(fake: FakeGraph, secrets: MemorySecrets, **kw: object) -> GraphAuth:
    return GraphAuth("work", fake.client_id, secrets, tenant=fake.tenant_id,
                     http_client=fake.session(), **kw)  # type: ignore[arg-type]


async def test_device_code_sign_in_stores_cache_in_secret_store(graph_fake: FakeGraph) -> None:
    secrets = MemorySecrets()
    shown: list[DeviceCode] = []
    result = await _auth(graph_fake, secrets).sign_in_device_code(shown.append)

    assert len(shown) == 1 and shown[0].user_code.startswith("FAKE-")
    assert shown[0].user_code in shown[0].message
    assert graph_fake.access_tokens[result.access_token] == "user"
    assert result.username == graph_fake.address
    grants = [r["grant_type"] for r in graph_fake.token_requests]
    assert grants == ["urn:ietf:params:oauth:grant-type:device_code"] * 3  # 2 pending + ok
    assert _cached_refresh_tokens(secrets, "work") == graph_fake.issued_refresh_tokens[-1:]


async def test_silent_refresh_rotates_and_stores_the_new_refresh_token(
    graph_fake: FakeGraph,
) -> None:
    graph_fake.token_lifetime = 60  # under msal's 5-minute margin: every token() refreshes
    graph_fake.device_pending = 0
    secrets = MemorySecrets()
    await _auth(graph_fake, secrets).sign_in_device_code(lambda code: None)
    first_rt = graph_fake.issued_refresh_tokens[-1]

    restarted = _auth(graph_fake, secrets)  # a new process: only the keyring remains
    token = await restarted.token()
    assert graph_fake.access_tokens[token] == "user"
    assert graph_fake.token_requests[-1]["grant_type"] == "refresh_token"
    assert graph_fake.token_requests[-1]["refresh_token"] == first_rt
    second_rt = graph_fake.issued_refresh_tokens[-1]
    assert second_rt != first_rt and first_rt not in graph_fake.refresh_tokens
    assert _cached_refresh_tokens(secrets, "work") == [second_rt]

    await restarted.token()
    assert _cached_refresh_tokens(secrets, "work") == [graph_fake.issued_refresh_tokens[-1]]
    assert len(graph_fake.issued_refresh_tokens) == 3


async def test_revoked_refresh_token_gives_authentication_error(graph_fake: FakeGraph) -> None:
    graph_fake.token_lifetime = 60
    graph_fake.device_pending = 0
    secrets = MemorySecrets()
    auth = _auth(graph_fake, secrets)
    await auth.sign_in_device_code(lambda code: None)
    graph_fake.refresh_tokens.clear()
    with pytest.raises(AuthenticationError, match="AADSTS70000"):
        await auth.token()


async def test_not_signed_in_is_an_authentication_error(graph_fake: FakeGraph) -> None:
    with pytest.raises(AuthenticationError, match="not signed in"):
        await _auth(graph_fake, MemorySecrets()).token()


async def test_token_falls_back_to_device_code_when_a_callback_is_set(
    graph_fake: FakeGraph,
) -> None:
    graph_fake.device_pending = 1
    shown: list[DeviceCode] = []
    auth = _auth(graph_fake, MemorySecrets(), device_code_callback=shown.append)
    assert graph_fake.access_tokens[await auth.token()] == "user"
    assert len(shown) == 1


async def test_client_credentials_and_app_only_mailbox(
    graph_fake: FakeGraph, store: Store, http: httpx.AsyncClient,
) -> None:
    auth = GraphAppAuth(graph_fake.tenant_id, graph_fake.client_id, graph_fake.client_secret,
                        http_client=graph_fake.session())
    token = await auth.token()
    assert graph_fake.access_tokens[token] == "app"
    assert graph_fake.token_requests[-1]["grant_type"] == "client_credentials"

    account = store.ensure_account("shared", "outlook", address=graph_fake.address)
    service = GraphMailService(account, store, MemorySecrets(), token_provider=auth,
                               base_url=graph_fake.graph_url, http=http, app_only=True)
    graph_fake.add_message("inbox", subject="for the app")
    report = await service.sync()
    assert report.added == 1 and not report.errors
    paths = {r.path.split("/")[2] for r in graph_fake.requests}
    assert paths == {"users"}  # never /me with an app token

    bad = GraphAppAuth(graph_fake.tenant_id, graph_fake.client_id, "wrong",
                       http_client=graph_fake.session())
    with pytest.raises(AuthenticationError, match="AADSTS7000215"):
        await bad.token()
    with pytest.raises(ConfigurationError, match="tenant_id"):
        GraphAppAuth("common", graph_fake.client_id, "x")
