"""HTTP plumbing of the Gmail fake: the response tuple, API errors and injectable faults."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str
    remaining: int
    methods: frozenset[str] | None = None
    retry_after: str | None = "1"


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, *, domain: str = "global",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.domain = domain
        self.headers = headers or {}

    def body(self) -> bytes:
        statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
        return json.dumps({"error": {
            "code": self.status, "message": str(self),
            "errors": [{"message": str(self), "domain": self.domain, "reason": self.reason}],
            "status": statuses.get(self.status, "UNKNOWN"),
        }}).encode()


Response = tuple[int, dict[str, str], bytes]
_FAULTS: dict[str, tuple[int, str, str, str]] = {
    "429": (429, "rateLimitExceeded", "usageLimits", "Too many requests"),
    "rate403": (403, "userRateLimitExceeded", "usageLimits", "User rate limit exceeded"),
    "quota": (403, "dailyLimitExceeded", "usageLimits", "Daily Limit Exceeded"),
    "500": (500, "backendError", "global", "Backend Error"),
    "500-after": (500, "backendError", "global", "Backend Error"),
}
