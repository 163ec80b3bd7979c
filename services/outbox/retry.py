"""When to try a failed send again, move to the next route, or give up.

Backoff is exponential with *full jitter* (a uniform draw in ``[0, min(cap, base·2ⁿ⁻¹)]``,
which spreads retries of many clients best); a server's ``retry_after`` is a floor.
Never retried: refused logins (:class:`AuthenticationError`), configuration and input
errors, and messages the server refused for good (``REJECTED``, ``TOO_LARGE``, ...).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from services import backoff
from services.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    MessageError,
    ProviderError,
    UnsupportedOperation,
    ValidationError,
)

__all__ = ["Action", "Decision", "ErrorKind", "RetryPolicy", "classify"]


class ErrorKind(enum.StrEnum):
    FATAL = "FATAL"            # retrying cannot help
    AUTH = "AUTH"              # credentials refused: fatal, but its own kind for the UI
    QUOTA = "QUOTA"            # provider quota exceeded: another route can help
    CONNECTION = "CONNECTION"  # could not reach / lost the server before the message left
    UNCERTAIN = "UNCERTAIN"    # lost after the message left: it may have been accepted
    TEMPORARY = "TEMPORARY"    # 4xx and friends: the same route later


class Action(enum.StrEnum):
    RETRY = "retry"
    FAILOVER = "failover"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    kind: ErrorKind
    delay: float = 0.0


_FATAL_TYPES = {MessageError.REJECTED, MessageError.TOO_LARGE, MessageError.INVALID,
                "PARSE_FAILED"}


def classify(error: BaseException) -> ErrorKind:
    """The retry class of an error raised by a transport."""
    if isinstance(error, AuthenticationError):
        return ErrorKind.AUTH
    if isinstance(error, ConfigurationError | ValidationError | UnsupportedOperation):
        return ErrorKind.FATAL
    if isinstance(error, ConnectionFailed):
        # ``delivery_uncertain`` (set by services.email.smtp.DeliveryUncertain, open to any
        # transport): lost after the message left, so it may have been accepted.
        if getattr(error, "delivery_uncertain", False):
            return ErrorKind.UNCERTAIN
        return ErrorKind.CONNECTION
    if isinstance(error, ProviderError):
        return ErrorKind.QUOTA if error.error_code == ProviderError.QUOTA_EXCEEDED else (
            ErrorKind.TEMPORARY
        )
    if isinstance(error, MessageError):
        return ErrorKind.FATAL if error.error_type in _FATAL_TYPES else ErrorKind.TEMPORARY
    return ErrorKind.FATAL  # a bug or an unknown failure: do not loop on it


@dataclass(slots=True)
class RetryPolicy:
    """``max_attempts`` tries per route; delays from ``base`` doubling up to ``cap``."""

    base: float = 30.0
    cap: float = 3600.0
    max_attempts: int = 6
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or self.max_attempts < 1:
            raise ConfigurationError("retry policy needs 0 < base <= cap and max_attempts >= 1")

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay after failed try number ``attempt`` (1-based)."""
        return self.rng.uniform(0.0, backoff.exponential(attempt - 1, self.base, self.cap))

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        wait = self.backoff(attempt)
        after = getattr(error, "retry_after", None)
        if isinstance(after, int | float) and after > wait:
            wait = float(after)
        return wait

    def decide(self, error: BaseException, attempt: int, *, can_failover: bool) -> Decision:
        """What to do after try number ``attempt`` on the current route failed."""
        kind = classify(error)
        if kind in (ErrorKind.FATAL, ErrorKind.AUTH):
            return Decision(Action.FAIL, kind)
        if kind is ErrorKind.QUOTA and can_failover:
            return Decision(Action.FAILOVER, kind)
        if attempt < self.max_attempts:
            return Decision(Action.RETRY, kind, self.delay(attempt, error))
        if can_failover and kind in (ErrorKind.CONNECTION, ErrorKind.UNCERTAIN, ErrorKind.QUOTA):
            return Decision(Action.FAILOVER, kind)
        if can_failover and getattr(error, "error_type", "") == MessageError.RATE_LIMITED:
            return Decision(Action.FAILOVER, kind)
        return Decision(Action.FAIL, kind)
