"""The token-provider protocol the Graph service takes (no msal import here)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["StaticTokenProvider", "TokenProvider"]


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that hands out a bearer token for Graph."""

    async def token(self) -> str: ...


class StaticTokenProvider:
    """A fixed token (tests, or a token obtained elsewhere)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token
