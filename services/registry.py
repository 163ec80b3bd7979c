"""Provider registry: channel family + provider name → factory.

A registry is an ordinary object owned by whoever builds the :class:`CommManager`
(the composition root, or a test); there is no module-level registry.  Adding a
provider means registering a factory; the facade never names providers itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.errors import ConfigurationError

__all__ = ["ProviderContext", "ProviderFactory", "ProviderRegistry"]


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a provider factory may use: shared dependencies, passed in, never global."""

    store_opener: Callable[[], Any]
    secrets: Any = None  # services.security.secrets.SecretStore
    loop: Any = None  # services.runtime.BackgroundLoop
    extras: Mapping[str, Any] = field(default_factory=dict)


ProviderFactory = Callable[[ProviderContext, str, Mapping[str, Any]], Any]
"""``factory(context, account_name, config) -> service``."""


class ProviderRegistry:
    """Maps ``(family, name)`` to a factory; names are case-insensitive, with aliases."""

    def __init__(self) -> None:
        self._factories: dict[tuple[str, str], ProviderFactory] = {}
        self._canonical: dict[tuple[str, str], str] = {}

    def register(
        self,
        family: str,
        name: str,
        factory: ProviderFactory,
        *,
        aliases: tuple[str, ...] = (),
    ) -> None:
        for key in (name, *aliases):
            k = (family, key.lower())
            if k in self._factories:
                raise ConfigurationError(f"{family} provider {key!r} is already registered")
            self._factories[k] = factory
            self._canonical[k] = name

    def names(self, family: str) -> list[str]:
        """Every accepted name (including aliases) for a family, sorted."""
        return sorted(n for f, n in self._factories if f == family)

    def canonical(self, family: str, name: str) -> str:
        self._lookup(family, name)
        return self._canonical[(family, name.lower())]

    def create(
        self,
        family: str,
        name: str,
        context: ProviderContext,
        account: str,
        config: Mapping[str, Any],
    ) -> Any:
        return self._lookup(family, name)(context, account, config)

    def _lookup(self, family: str, name: str) -> ProviderFactory:
        factory = self._factories.get((family, name.lower()))
        if factory is None:
            known = self.names(family)
            close = difflib.get_close_matches(name.lower(), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(known) if known else "none yet"
            raise ConfigurationError(
                f"unknown {family} provider {name!r}{hint} (available: {listing})"
            )
        return factory
