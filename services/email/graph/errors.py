"""Graph HTTP responses and httpx failures → :mod:`services.errors` (pure, no I/O).

* 429 or 503 (``Retry-After`` when given) → ``MessageError("RATE_LIMITED", retry_after)``
* 401 → ``AuthenticationError``
* quota codes (403/507: ``ErrorQuotaExceeded``, ``MailboxStoreUnavailable`` ...) →
  ``ProviderError(error_code="QUOTA_EXCEEDED")``
* 413 / ``ErrorMessageSizeExceeded`` → ``MessageError(error_type="TOO_LARGE")``
* anything else ≥ 400 → :class:`GraphError` (a ProviderError) with Graph's ``error.code``
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

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
    "QUOTA_CODES",
    "GraphError",
    "error_for_response",
    "graph_error_body",
    "is_delta_expired",
    "parse_retry_after",
    "transport_error",
]

PROVIDER = "outlook"
QUOTA_CODES = frozenset(
    c.lower()
    for c in (
        "ErrorQuotaExceeded",
        "ErrorQuotaExceededOnDelete",
        "QuotaExceeded",
        "MailboxStoreUnavailable",
        "ErrorMailboxStoreUnavailable",
        "MailboxNotEnabledForRESTAPI",
        "ErrorSubmissionQuotaExceeded",
        "ErrorExceededMessageLimit",
    )
)
_TOO_LARGE = frozenset(c.lower() for c in ("ErrorMessageSizeExceeded", "RequestEntityTooLarge"))
_DELTA_EXPIRED = frozenset(
    c.lower() for c in ("SyncStateNotFound", "SyncStateInvalid", "ResyncRequired",
                        "ErrorSyncStateNotFound", "ErrorInvalidSyncStateData"))


class GraphError(ProviderError):
    """A Graph failure that is not one of the specific cases; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int, error_code: str) -> None:
        super().__init__(message, provider=PROVIDER, error_code=error_code)
        self.status = status


def graph_error_body(body: bytes) -> tuple[str, str]:
    """``(code, message)`` from Graph's ``{"error": {"code", "message"}}`` (or blanks)."""
    try:
        data = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        return "", body[:200].decode("utf-8", "replace").strip()
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, Mapping):
        return str(error.get("code") or ""), str(error.get("message") or "")
    if isinstance(error, str):  # OAuth-style {"error": "...", "error_description": "..."}
        return error, str(data.get("error_description") or "") if isinstance(data, Mapping) else ""
    return "", ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    return backoff.parse_retry_after(value, now)


def is_delta_expired(exc: BaseException) -> bool:
    """Is this the "delta link no longer valid, start over" answer (410 / syncStateNotFound)?"""
    if not isinstance(exc, GraphError):
        return False
    return exc.status == 410 or exc.error_code.lower() in _DELTA_EXPIRED


def error_for_response(
    status: int, body: bytes, headers: Mapping[str, str], what: str
) -> CommError:
    """The error for an HTTP answer ``status`` ≥ 400 to ``what`` (e.g. "GET /me/messages")."""
    code, message = graph_error_body(body)
    detail = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
    retry_after = parse_retry_after(headers.get("retry-after"))
    lower = code.lower()
    if status in (429, 503):
        return MessageError(f"Microsoft Graph is throttling requests ({detail})",
                            error_type=MessageError.RATE_LIMITED, retry_after=retry_after)
    if status == 401:
        return AuthenticationError(f"Microsoft Graph refused the access token ({detail})")
    if lower in QUOTA_CODES or status == 507:
        return ProviderError(f"mailbox quota or store problem ({detail})", provider=PROVIDER,
                             error_code=ProviderError.QUOTA_EXCEEDED)
    if status == 413 or lower in _TOO_LARGE:
        return MessageError(f"message too large for Microsoft Graph ({detail})",
                            error_type=MessageError.TOO_LARGE)
    return GraphError(detail, status=status, error_code=code or f"HTTP_{status}")


def transport_error(exc: Exception, what: str) -> CommError:
    """An httpx exception (duck-typed by class name, so this module stays pure)."""
    names = {c.__name__ for c in type(exc).__mro__}
    if "TimeoutException" in names:
        return OperationTimedOut(f"{what}: Microsoft Graph did not answer in time ({exc})")
    return ConnectionFailed(f"{what}: cannot reach Microsoft Graph ({type(exc).__name__}: {exc})")
