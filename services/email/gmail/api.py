"""A small typed face over googleapiclient's Gmail v1 client (which is untyped).

Every call goes through :meth:`GmailApi._call`: credentials refreshed first, one HTTP
call at a time (httplib2 connections are not thread-safe), library exceptions
translated, idempotent calls retried with backoff (see :class:`RetryPolicy`).
``send`` is never retried: a failure after the request left may still have sent it.
Batches go to ``endpoint + "batch"`` (googleapiclient's own batch ignores the endpoint).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from services.email.gmail.auth import TokenKeeper
from services.email.gmail.errors import RetryPolicy, is_retryable, translate
from services.errors import CommError, ProviderError

__all__ = ["DEFAULT_ENDPOINT", "GmailApi", "JsonDict"]

JsonDict = dict[str, Any]
T = TypeVar("T")
DEFAULT_ENDPOINT = "https://gmail.googleapis.com/"
METADATA_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "References",
                    "In-Reply-To")  # fmt: skip


def _not_found(error: CommError) -> bool:
    return isinstance(error, ProviderError) and error.error_code == "NOT_FOUND"


class GmailApi:
    """Blocking Gmail calls for user ``me``; returns the documented JSON resources."""

    def __init__(
        self,
        keeper: TokenKeeper,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        retry: RetryPolicy | None = None,
        batch_size: int = 50,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self.retry = retry or RetryPolicy()
        self.batch_size = max(1, min(100, batch_size))
        self.keeper = keeper
        self._lock = threading.Lock()
        self._service = self._build(timeout)

    def _build(self, timeout: float) -> Any:
        from googleapiclient.discovery import build
        from googleapiclient.http import build_http

        from services.email.gmail.errors import untyped

        authorized = untyped("google_auth_httplib2").AuthorizedHttp
        http = authorized(self.keeper.credentials, http=build_http())
        http.http.timeout = timeout
        try:
            return build(
                "gmail", "v1", http=http, static_discovery=True, cache_discovery=False,
                client_options={"api_endpoint": self.endpoint},
            )
        except Exception as exc:
            raise translate(exc) from exc

    def close(self) -> None:
        with self._lock:
            self._service.close()

    # -- plumbing ----------------------------------------------------------------------
    def _once(self, fn: Callable[[], T]) -> T:
        with self._lock:
            self.keeper.ensure_valid()
            try:
                return fn()
            except CommError:
                raise
            except Exception as exc:
                raise translate(exc) from exc
            finally:
                self.keeper.persist_if_changed()

    def _call(self, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        attempt = 0
        while True:
            try:
                return self._once(fn)
            except CommError as error:
                if not idempotent or not is_retryable(error) or attempt + 1 >= self.retry.attempts:
                    _fill_retry_after(error, self.retry.delay(attempt, None))
                    raise
                self.retry.sleep(self.retry.delay(attempt, getattr(error, "retry_after", None)))
                attempt += 1

    def _exec(self, request: Any) -> JsonDict:
        result: JsonDict = request.execute(num_retries=0)
        return result

    @property
    def _users(self) -> Any:
        return self._service.users()

    # -- calls -------------------------------------------------------------------------
    def profile(self) -> JsonDict:
        return self._call(lambda: self._exec(self._users.getProfile(userId="me")))

    def labels(self) -> list[JsonDict]:
        data = self._call(lambda: self._exec(self._users.labels().list(userId="me")))
        return list(data.get("labels", []))

    def list_page(
        self, q: str = "", page_token: str | None = None, *, max_results: int = 500,
        include_spam_trash: bool = False,
    ) -> JsonDict:
        def go() -> JsonDict:
            return self._exec(self._users.messages().list(
                userId="me", q=q or None, pageToken=page_token, maxResults=max_results,
                includeSpamTrash=include_spam_trash,
            ))

        return self._call(go)

    def list_ids(
        self, q: str = "", *, include_spam_trash: bool = False, limit: int | None = None
    ) -> list[str]:
        """Every message id matching ``q`` (newest first), following pages."""
        ids: list[str] = []
        token: str | None = None
        while True:
            size = 500 if limit is None else max(1, min(500, limit - len(ids)))
            page = self.list_page(q, token, max_results=size,
                                  include_spam_trash=include_spam_trash)
            ids += [str(m["id"]) for m in page.get("messages", [])]
            token = page.get("nextPageToken")
            if not token or (limit is not None and len(ids) >= limit):
                return ids if limit is None else ids[:limit]

    def get(self, message_id: str, fmt: str = "raw") -> JsonDict:
        def go() -> JsonDict:
            return self._exec(self._users.messages().get(
                userId="me", id=message_id, format=fmt, **_headers_arg(fmt)))

        return self._call(go)

    def get_many(self, ids: Sequence[str], fmt: str = "raw") -> dict[str, JsonDict]:
        """Batched ``messages.get``; ids that no longer exist are left out."""
        out: dict[str, JsonDict] = {}
        for start in range(0, len(ids), self.batch_size):
            out.update(self._batch_round(list(ids[start : start + self.batch_size]), fmt))
        return out

    def _batch_round(self, ids: list[str], fmt: str) -> dict[str, JsonDict]:
        from googleapiclient.http import BatchHttpRequest

        out: dict[str, JsonDict] = {}
        pending = list(dict.fromkeys(ids))
        attempt = 0
        while pending:
            failures: dict[str, CommError] = {}

            def done(request_id: str, response: Any, exc: Any,
                     failures: dict[str, CommError] = failures) -> None:
                if exc is None:
                    out[request_id] = response
                    return
                error = translate(exc)
                if not _not_found(error):
                    failures[request_id] = error

            def run(batch_ids: list[str] = pending) -> None:
                batch = BatchHttpRequest(callback=done, batch_uri=self.endpoint + "batch")
                for ident in batch_ids:
                    batch.add(self._users.messages().get(
                        userId="me", id=ident, format=fmt, **_headers_arg(fmt)),
                        request_id=ident)
                batch.execute()

            self._call(run)
            if not failures:
                return out
            hard = [e for e in failures.values() if not is_retryable(e)]
            if hard or attempt + 1 >= self.retry.attempts:
                error = (hard or list(failures.values()))[0]
                _fill_retry_after(error, self.retry.delay(attempt, None))
                raise error
            waits = [getattr(e, "retry_after", None) for e in failures.values()]
            hinted = [w for w in waits if w is not None]
            self.retry.sleep(self.retry.delay(attempt, max(hinted) if hinted else None))
            pending = list(failures)
            attempt += 1
        return out

    def send(self, raw: bytes) -> JsonDict:
        body = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
        return self._call(
            lambda: self._exec(self._users.messages().send(userId="me", body=body)),
            idempotent=False,
        )

    def modify(self, message_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
               ) -> JsonDict:
        body = {"addLabelIds": list(add), "removeLabelIds": list(remove)}
        return self._call(lambda: self._exec(
            self._users.messages().modify(userId="me", id=message_id, body=body)))

    def attachment(self, message_id: str, attachment_id: str) -> bytes:
        data = self._call(lambda: self._exec(self._users.messages().attachments().get(
            userId="me", messageId=message_id, id=attachment_id)))
        text = str(data.get("data", ""))
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    def thread(self, thread_id: str, fmt: str = "metadata") -> JsonDict:
        return self._call(lambda: self._exec(self._users.threads().get(
            userId="me", id=thread_id, format=fmt, **_headers_arg(fmt))))

    def history(self, start: str) -> tuple[list[JsonDict], str]:
        """Every history record after ``start`` and the mailbox's current historyId.
        An expired ``start`` raises ``ProviderError(error_code="NOT_FOUND")``."""
        records: list[JsonDict] = []
        token: str | None = None
        while True:
            def go(page: str | None = token) -> JsonDict:
                return self._exec(self._users.history().list(
                    userId="me", startHistoryId=start, pageToken=page, maxResults=500))

            data = self._call(go)
            records += list(data.get("history", []))
            token = data.get("nextPageToken")
            if not token:
                return records, str(data.get("historyId") or start)


def _headers_arg(fmt: str) -> dict[str, Any]:
    return {"metadataHeaders": list(METADATA_HEADERS)} if fmt == "metadata" else {}


def _fill_retry_after(error: CommError, seconds: float) -> None:
    from services.errors import MessageError

    if isinstance(error, MessageError) and error.error_type == MessageError.RATE_LIMITED \
            and error.retry_after is None:
        error.retry_after = seconds
