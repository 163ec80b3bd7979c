from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.errors import ConfigurationError
from services.registry import ProviderContext, ProviderRegistry


def _ctx() -> ProviderContext:
    return ProviderContext(store_opener=lambda: None)


def test_register_and_create_with_aliases() -> None:
    reg = ProviderRegistry()
    made: list[tuple[str, Mapping[str, Any]]] = []

    def factory(ctx: ProviderContext, account: str, cfg: Mapping[str, Any]) -> str:
        made.append((account, cfg))
        return f"svc:{account}"

    reg.register("email", "outlook", factory, aliases=("office365", "exchange"))
    assert reg.create("email", "Exchange", _ctx(), "work", {"x": 1}) == "svc:work"
    assert made == [("work", {"x": 1})]
    assert reg.canonical("email", "OFFICE365") == "outlook"
    assert reg.names("email") == ["exchange", "office365", "outlook"]


def test_unknown_provider_suggests_nearest() -> None:
    reg = ProviderRegistry()
    reg.register("email", "maildir", lambda c, a, cfg: None)
    with pytest.raises(ConfigurationError, match="did you mean 'maildir'"):
        reg.create("email", "maildri", _ctx(), "x", {})


def test_duplicate_registration_refused() -> None:
    reg = ProviderRegistry()
    reg.register("sms", "twilio", lambda c, a, cfg: None)
    with pytest.raises(ConfigurationError, match="already registered"):
        reg.register("sms", "TWILIO", lambda c, a, cfg: None)


def test_registries_are_independent() -> None:
    a, b = ProviderRegistry(), ProviderRegistry()
    a.register("chat", "slack", lambda c, acc, cfg: None)
    assert b.names("chat") == []
