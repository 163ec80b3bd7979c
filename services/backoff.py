"""Shared pieces of every retry policy: reading ``Retry-After`` and exponential delays.

Each channel keeps its own policy (how many tries, which errors, how much jitter),
built from these two functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["exponential", "parse_retry_after"]


def parse_retry_after(value: object, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value: delta seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def exponential(attempt: int, base: float, cap: float) -> float:
    """``base * 2**attempt`` seconds, at most ``cap`` (``attempt`` counts from 0)."""
    return min(cap, base * 2.0 ** max(0, attempt))
