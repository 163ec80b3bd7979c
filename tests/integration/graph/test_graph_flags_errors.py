"""Flags both ways, throttling and error translation, and the registry factory."""

from __future__ import annotations

import socket

import httpx
import pytest

from services.email.graph.factory import ALIASES, factory
from services.email.graph.retry import RetryPolicy
from services.email.graph.service import GraphMailService
from services.email.graph.tokens import StaticTokenProvider
from services.email.protocols import (
    ChannelService,
    SupportsDrafts,
    SupportsFlags,
    SupportsFolders,
    SupportsMove,
    SupportsSearch,
    SupportsSend,
    SupportsSync,
)
from services.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    MessageError,
    ProviderError,
)
from services.models import Flag
from services.registry import ProviderContext, ProviderRegistry
from services.security.secrets import MemorySecrets
from services.store.store import Store
from tests.fakes.graph import FakeGraph


async def _synced(service: GraphMailService, store: Store, rid: str) -> int:
    await service.sync()
    rows = store.read_rows("SELECT id FROM messages WHERE remote_id = ?", (rid,))
    return int(rows[0][0])


async def test_flags_local_to_server_and_back(
    service: GraphMailService, graph_fake: FakeGraph, store: Store,
) -> None:
    rid = graph_fake.add_message("inbox", subject="flag me")
    local_id = await _synced(service, store, rid)

    await service.set_flags(store.get(local_id), add=[Flag.SEEN, Flag.FLAGGED])
    fake = graph_fake.messages[rid]
    assert fake.is_read and fake.flag_status == "flagged"
    assert store.get(local_id).flags == {Flag.SEEN, Flag.FLAGGED}
    patch = graph_fake.graph_requests("PATCH")[-1]
    assert patch.path.endswith(rid)

    await service.set_flags(store.get(local_id), remove=[Flag.FLAGGED])
    assert graph_fake.messages[rid].flag_status == "notFlagged"
    assert store.get(local_id).flags == {Flag.SEEN}

    graph_fake.update_message(rid, is_read=False, flagged=True)  # changed in Outlook
    report = await service.sync()
    assert report.updated == 1
    assert store.get(local_id).flags == {Flag.FLAGGED}


async def test_throttling_is_retried_for_idempotent_calls(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    graph_fake.inject(429, count=2, retry_after=0, path="/mailFolders")
    graph_fake.inject(503, count=1, path="/mailFolders")
    before = len(graph_fake.graph_requests("GET", "/mailFolders"))
    folders = await service.list_folders()
    assert len(folders) == 6
    assert len(graph_fake.graph_requests("GET", "/mailFolders")) >= before + 4


async def test_throttling_gives_up_with_retry_after(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    service.client.retry = RetryPolicy(attempts=2, base=0.01, cap=0.02)
    graph_fake.inject(429, count=5, retry_after=30, path="/mailFolders")
    with pytest.raises(MessageError) as info:
        await service.list_folders()
    assert info.value.error_type == "RATE_LIMITED" and info.value.retry_after == 30.0
    assert len(graph_fake.faults) == 1 and graph_fake.faults[0].count == 3  # 2 attempts


async def test_quota_is_a_provider_error_and_not_retried(
    service: GraphMailService, graph_fake: FakeGraph, store: Store,
) -> None:
    rid = graph_fake.add_message("inbox")
    local_id = await _synced(service, store, rid)
    graph_fake.inject(403, code="ErrorQuotaExceeded", method="PATCH")
    with pytest.raises(ProviderError) as info:
        await service.set_flags(store.get(local_id), add=[Flag.SEEN])
    assert (info.value.provider, info.value.error_code) == ("outlook", "QUOTA_EXCEEDED")
    assert len(graph_fake.graph_requests("PATCH")) == 1
    assert store.get(local_id).flags == frozenset()  # nothing changed locally either


async def test_bad_token_and_unreachable_server(
    graph_fake: FakeGraph, store: Store, http: httpx.AsyncClient,
) -> None:
    account = store.ensure_account("work", "outlook")
    bad = GraphMailService(account, store, MemorySecrets(),
                           token_provider=StaticTokenProvider("nope"),
                           base_url=graph_fake.graph_url, http=http)
    with pytest.raises(AuthenticationError, match="InvalidAuthenticationToken"):
        await bad.list_folders()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = GraphMailService(account, store, MemorySecrets(),
                            token_provider=StaticTokenProvider("t"),
                            base_url=f"http://127.0.0.1:{port}/v1.0", http=http)
    with pytest.raises(ConnectionFailed):
        await down.list_folders()


async def test_factory_reachable_under_every_alias(
    graph_fake: FakeGraph, store: Store, http: httpx.AsyncClient,
) -> None:
    registry = ProviderRegistry()
    registry.register("email", "outlook", factory, aliases=ALIASES)
    context = ProviderContext(store_opener=lambda: store, extras={
        "secrets": MemorySecrets(), "graph_http": http,
        "token_provider": StaticTokenProvider(graph_fake.user_token())})
    for name in ("outlook", "office365", "exchange", "Office365"):
        service = registry.create("email", registry.canonical("email", name), context,
                                  f"acct-{name}", {"client_id": graph_fake.client_id,
                                                   "base_url": graph_fake.graph_url})
        assert isinstance(service, GraphMailService) and service.provider == "outlook"
        for protocol in (ChannelService, SupportsSend, SupportsSync, SupportsSearch,
                         SupportsFolders, SupportsFlags, SupportsMove, SupportsDrafts):
            assert isinstance(service, protocol)
        assert len(await service.list_folders()) == 6
    with pytest.raises(ConfigurationError, match="unknown outlook setting"):
        factory(context, "x", {"client_id": "a", "pasword": "b"})


async def test_factory_app_only_with_real_msal(
    graph_fake: FakeGraph, store: Store, http: httpx.AsyncClient,
) -> None:
    secrets = MemorySecrets()
    secrets.set("shared", "client_secret", graph_fake.client_secret)
    context = ProviderContext(store_opener=lambda: store, extras={
        "secrets": secrets, "graph_http": http, "msal_http_client": graph_fake.session()})
    service = factory(context, "shared", {
        "client_id": graph_fake.client_id, "tenant_id": graph_fake.tenant_id,
        "address": graph_fake.address, "base_url": graph_fake.graph_url})
    graph_fake.add_message("inbox", subject="hello app")
    found = await service.search_remote("subject:hello")
    assert [m.subject for m in found] == ["hello app"]
    assert graph_fake.requests[-1].path.startswith(f"/v1.0/users/{graph_fake.address}/")
    assert "client_secret" not in store.accounts()[0].config
