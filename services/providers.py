"""The providers that ship with Commhub, registered into a fresh registry.

``builtin_registry()`` returns a new :class:`ProviderRegistry` each call; tests and
the app may add their own providers to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.registry import ProviderContext, ProviderRegistry

__all__ = ["builtin_registry"]


def _local_mail(kind: str) -> Any:
    def factory(context: ProviderContext, account: str, config: Mapping[str, Any]) -> Any:
        from services.email.local import LocalMailService

        return LocalMailService.from_config(context.store_opener(), kind, account, config)

    return factory


def _lazy(name: str) -> Any:
    """Import the factory only when an account of that provider is made (keeps start-up lean)."""

    def factory(context: ProviderContext, account: str, config: Mapping[str, Any]) -> Any:
        from services.email import wiring

        return getattr(wiring, name)(context, account, config)

    return factory


def builtin_registry() -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("email", "maildir", _local_mail("maildir"))
    registry.register("email", "mbox", _local_mail("mbox"))
    registry.register("email", "imap", _lazy("imap_factory"))
    registry.register("email", "smtp", _lazy("smtp_factory"))
    registry.register("email", "gmail", _lazy("gmail_factory"))
    registry.register("email", "outlook", _lazy("outlook_factory"),
                      aliases=("office365", "exchange"))
    return registry
