"""When to retry a throttled Graph call and how long to wait (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services import backoff
from services.errors import CommError, MessageError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` in all (1 = no retry); waits ``base * 2**n`` plus up to ``jitter``
    (a fraction), at least the server's ``Retry-After``, never more than ``cap`` seconds."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 60.0
    jitter: float = 0.25

    def should_retry(self, error: CommError, attempt: int, *, idempotent: bool) -> bool:
        """``attempt`` counts from 1 (the call that just failed)."""
        return (
            idempotent
            and attempt < self.attempts
            and isinstance(error, MessageError)
            and error.error_type == MessageError.RATE_LIMITED
        )

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None
              ) -> float:
        wait = max(backoff.exponential(attempt - 1, self.base, self.cap), retry_after or 0.0)
        wait *= 1.0 + (rng.random() if rng else random.random()) * self.jitter
        return min(wait, self.cap)
