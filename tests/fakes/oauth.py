"""A fake OAuth 2.0 token endpoint (RFC 6749 refresh_token grant) for the HTTP API fakes.

Serves ``POST /token`` with ``grant_type=refresh_token``: a known refresh token gets a new
access token (``expires_in`` 3600) and, when ``rotate`` is on, a new refresh token that
replaces the old one (the old one then gets ``invalid_grant``, as Google does after rotation).
``revoke_all()`` makes every refresh token invalid (the "sign-in expired" case).
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.parse

__all__ = ["FakeTokenEndpoint"]


class FakeTokenEndpoint:
    def __init__(
        self, *, client_id: str = "fake-client", client_secret: str = "fake-secret"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.rotate = False
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.requests: list[dict[str, str]] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def issue_refresh_token(self) -> str:
        with self._lock:
            token = f"refresh-{next(self._counter)}"
            self.refresh_tokens.add(token)
            return token

    def issue_access_token(self) -> str:
        with self._lock:
            token = f"access-{next(self._counter)}"
            self.access_tokens.add(token)
            return token

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    def revoke_all(self) -> None:
        with self._lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """``(status, JSON body)`` for one POST to the token endpoint."""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8")).items()}
        with self._lock:
            self.requests.append(form)
        if form.get("grant_type") != "refresh_token":
            return 400, _error("unsupported_grant_type", "only refresh_token is faked")
        if form.get("client_id") != self.client_id or form.get(
            "client_secret"
        ) != self.client_secret:
            return 401, _error("invalid_client", "The OAuth client was not found.")
        refresh = form.get("refresh_token", "")
        with self._lock:
            if refresh not in self.refresh_tokens:
                return 400, _error("invalid_grant", "Token has been expired or revoked.")
        answer: dict[str, object] = {
            "access_token": self.issue_access_token(),
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/gmail.modify",
        }
        if self.rotate:
            with self._lock:
                self.refresh_tokens.discard(refresh)
            answer["refresh_token"] = self.issue_refresh_token()
        return 200, json.dumps(answer).encode()


def _error(code: str, description: str) -> bytes:
    return json.dumps({"error": code, "error_description": description}).encode()
