"""The HTTP side of Graph: one async httpx client, bearer tokens, retries, paging, errors.

Every request goes through :meth:`GraphClient.request`, which adds the token (only for
URLs under ``base_url``: upload URLs are pre-authenticated and must not get it),
retries throttled idempotent calls (:class:`RetryPolicy`) and turns every failure into
a :mod:`services.errors` exception, so no httpx exception leaves this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.email.graph.errors import GraphError, error_for_response, transport_error
from services.email.graph.retry import RetryPolicy
from services.email.graph.tokens import TokenProvider
from services.errors import CommError

__all__ = ["DEFAULT_BASE_URL", "GraphClient"]

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
_log = logging.getLogger(__name__)
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)


class GraphClient:
    def __init__(
        self,
        token_provider: TokenProvider,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.tokens = token_provider
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._origin = urlsplit(self.base_url)[:2]

    async def aclose(self) -> None:
        if self._own_http:
            try:
                await self._http.aclose()
            except _HTTPX_ERRORS as exc:  # closing must not fail the caller
                _log.debug("closing the Graph HTTP client: %s", exc)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def _ours(self, url: str) -> bool:
        return urlsplit(url)[:2] == self._origin

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authorized: bool = True,
    ) -> httpx.Response:
        """Send one request; return the 2xx/3xx response or raise a CommError.

        ``authorized=False`` (pre-authenticated upload URLs) sends no token; the token only
        ever goes to ``base_url``'s origin."""
        url = self.url(path_or_url)
        authorized = authorized and self._ours(url)
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "PATCH"}
        what = f"{method.upper()} {urlsplit(url).path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(method, url, params, json, content, headers, what,
                                        authorized)
            except CommError as exc:
                if not self.retry.should_retry(exc, attempt, idempotent=idempotent):
                    raise
                wait = self.retry.delay(attempt, getattr(exc, "retry_after", None))
                _log.info("%s throttled; retry %d in %.2fs", what, attempt, wait)
                await asyncio.sleep(wait)

    async def _once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        what: str,
        authorized: bool,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if authorized:
            sent["Authorization"] = "Bearer " + await self.tokens.token()
        try:
            response = await self._http.request(
                method, url, params=dict(params) if params else None, json=json,
                content=content, headers=sent)
        except _HTTPX_ERRORS as exc:
            raise transport_error(exc, what) from exc
        if response.status_code >= 400:
            raise error_for_response(
                response.status_code, response.content,
                {k.lower(): v for k, v in response.headers.items()}, what)
        return response

    async def json(self, method: str, path_or_url: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.request(method, path_or_url, **kwargs)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise GraphError(f"{method} {path_or_url}: Graph sent something that is not JSON",
                             status=response.status_code, error_code="BAD_RESPONSE") from exc
        if not isinstance(data, dict):
            raise GraphError(f"{method} {path_or_url}: expected a JSON object",
                             status=response.status_code, error_code="BAD_RESPONSE")
        return data

    async def pages(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int = 100_000,
    ) -> AsyncIterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """``(items, page)`` for each page, following ``@odata.nextLink`` (which already
        carries the query, so ``params`` only go with the first request)."""
        url: str | None = path_or_url
        first = True
        for _ in range(max_pages):
            if url is None:
                return
            page = await self.json("GET", url, params=params if first else None,
                                   headers=headers)
            first = False
            items = [i for i in page.get("value") or [] if isinstance(i, dict)]
            yield items, page
            link = page.get("@odata.nextLink")
            url = str(link) if link else None
