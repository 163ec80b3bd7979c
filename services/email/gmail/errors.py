"""Gmail failures → :mod:`services.errors`, and the retry decision (pure, no I/O).

``translate`` accepts any exception googleapiclient, httplib2, google-auth or the socket
layer raises and returns the matching :class:`~services.errors.CommError`; callers raise
it ``from`` the original so the cause is kept.
"""

from __future__ import annotations

import importlib
import json
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services import backoff
from services.errors import (
    AuthenticationError,
    CommError,
    ConnectionFailed,
    MessageError,
    OperationTimedOut,
    ProviderError,
)

__all__ = [
    "PROVIDER",
    "SIGN_IN_EXPIRED",
    "RetryPolicy",
    "from_status",
    "is_retryable",
    "reason_of",
    "retry_after_of",
    "translate",
    "untyped",
]

PROVIDER = "gmail"
SIGN_IN_EXPIRED = "Gmail sign-in expired; run `commhub account add gmail` again"
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_QUOTA_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded", "limitExceeded"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of idempotent calls: up to ``attempts`` tries in all, waiting the server's
    Retry-After (capped at ``cap``) or ``base * 2**n`` seconds with jitter."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 32.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after is not None:
            return min(self.cap, max(0.0, retry_after))
        return backoff.exponential(attempt, self.base, self.cap) * (0.5 + self.jitter() / 2)


def untyped(module: str) -> Any:
    """Import a module that ships no type information (httplib2, google_auth_oauthlib)."""
    return importlib.import_module(module)


def reason_of(content: bytes | str | None) -> tuple[str, str]:
    """``(reason, message)`` from a Google JSON error body (``("", "")`` if none)."""
    if not content:
        return "", ""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        return "", text.strip()[:200]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):  # OAuth style: {"error": "invalid_grant", ...}
        return error, str(data.get("error_description", ""))
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason", ""))
    return reason or str(error.get("status", "")), str(error.get("message", ""))


def retry_after_of(headers: Mapping[str, Any]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    return backoff.parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))


def from_status(
    status: int, reason: str, message: str, retry_after: float | None = None
) -> CommError:
    """The error for one HTTP failure of the Gmail API."""
    detail = f"Gmail: {message or reason or 'HTTP ' + str(status)} (HTTP {status})"
    if status == 401:
        return AuthenticationError(f"Gmail refused the credentials: {message or reason}")
    if status == 429 or (status == 403 and reason in _RATE_REASONS):
        return MessageError(detail, error_type=MessageError.RATE_LIMITED, retry_after=retry_after)
    if status == 403 and reason in _QUOTA_REASONS:
        return ProviderError(detail, provider=PROVIDER, error_code=ProviderError.QUOTA_EXCEEDED)
    if status == 403:
        return ProviderError(detail, provider=PROVIDER, error_code="FORBIDDEN")
    if status == 404:
        return ProviderError(detail, provider=PROVIDER, error_code="NOT_FOUND")
    if status == 400:
        return ProviderError(detail, provider=PROVIDER, error_code="BAD_REQUEST")
    if status >= 500:
        return ProviderError(detail, provider=PROVIDER, error_code="SERVER_ERROR")
    return ProviderError(detail, provider=PROVIDER, error_code=f"HTTP_{status}")


def translate(exc: BaseException) -> CommError:
    """Any exception from the Gmail client stack → a :class:`CommError`."""
    if isinstance(exc, CommError):
        return exc
    from google.auth import exceptions as gauth
    from googleapiclient import errors as gerrors

    httplib2 = untyped("httplib2")

    if isinstance(exc, gerrors.HttpError):
        resp = exc.resp
        status = int(getattr(resp, "status", 0) or 0)
        reason, message = reason_of(exc.content)
        headers: Mapping[str, Any] = resp if isinstance(resp, Mapping) else {}
        return from_status(status, reason, message, retry_after_of(headers))
    if isinstance(exc, gauth.RefreshError):
        if "invalid_grant" in str(exc):
            return AuthenticationError(SIGN_IN_EXPIRED)
        return AuthenticationError(f"Gmail sign-in failed: {exc}")
    if isinstance(exc, gauth.TransportError):
        return ConnectionFailed(f"cannot reach Google's sign-in server: {exc}")
    if isinstance(exc, gauth.GoogleAuthError):
        return AuthenticationError(f"Gmail sign-in failed: {exc}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return OperationTimedOut(f"Gmail did not answer in time: {exc}")
    if isinstance(exc, httplib2.HttpLib2Error | OSError):
        return ConnectionFailed(f"cannot reach Gmail: {type(exc).__name__}: {exc}")
    if isinstance(exc, gerrors.Error):
        return ProviderError(f"unexpected answer from Gmail: {exc}", provider=PROVIDER,
                             error_code="PROTOCOL")
    return ProviderError(f"Gmail request failed: {type(exc).__name__}: {exc}",
                         provider=PROVIDER, error_code="UNKNOWN")


def is_retryable(error: CommError) -> bool:
    """Safe to try an idempotent call again after a pause."""
    if isinstance(error, MessageError):
        return error.error_type == MessageError.RATE_LIMITED
    if isinstance(error, ProviderError):
        return error.error_code == "SERVER_ERROR"
    return isinstance(error, ConnectionFailed)
