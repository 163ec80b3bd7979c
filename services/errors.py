"""Errors raised by the Commhub core.

Every error that leaves ``services/`` is a :class:`CommError`; library exceptions
(sqlite3, imaplib, googleapiclient, httpx, ...) are translated at the boundary and
chained with ``raise ... from exc`` so the cause is never lost.  Where a built-in
exception means the same thing, the error inherits it too, so ``except
ConnectionError`` or ``except ValueError`` keep working for callers who know only
the standard library::

    CommError
    ├── ConfigurationError          (+ ValueError)   bad settings or provider config
    ├── ValidationError             (+ ValueError)   bad input from the caller
    │   ├── QuerySyntaxError                         a search string that does not parse
    │   ├── AddressError                             an address that is not one
    │   └── PolicyViolation                          blocked by a policy (DLP): rule, findings
    ├── AuthenticationError         (+ PermissionError)
    ├── ConnectionFailed            (+ ConnectionError)
    │   └── OperationTimedOut       (+ TimeoutError)
    ├── MessageError                                 error_type, retry_after
    │   └── ParseError                               a message we could not read at all
    ├── ProviderError                                provider, error_code
    │   └── UnsupportedOperation    (+ NotImplementedError)
    ├── StoreError                  (+ OSError)      the local database or blob store
    │   ├── NotFound                (+ LookupError)
    │   └── EncryptionKeyError      (+ PermissionError) the store's key is wrong/unusable
    │       └── EncryptionKeyMissing                   ... or not in the keyring
    └── SourceError                 (+ OSError)      a path to import from / a mailbox on disk
"""

from __future__ import annotations

__all__ = [
    "AddressError",
    "AuthenticationError",
    "CommError",
    "ConfigurationError",
    "ConnectionFailed",
    "EncryptionKeyError",
    "EncryptionKeyMissing",
    "MessageError",
    "NotFound",
    "OperationTimedOut",
    "ParseError",
    "PolicyViolation",
    "ProviderError",
    "QuerySyntaxError",
    "SourceError",
    "StoreError",
    "UnsupportedOperation",
    "ValidationError",
]


class CommError(Exception):
    """Root of every error raised by the Commhub core."""


class ConfigurationError(CommError, ValueError):
    """Settings or provider configuration that cannot work."""


class ValidationError(CommError, ValueError):
    """Input from the caller that is not acceptable."""


class QuerySyntaxError(ValidationError):
    """A search string that does not parse.

    ``position`` is the 0-based character offset where parsing failed.
    """

    def __init__(self, message: str, *, query: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.query = query
        self.position = position


class AddressError(ValidationError):
    """An e-mail address, phone number or handle that is not valid."""


class PolicyViolation(ValidationError):
    """Content a policy forbids, e.g. an outgoing message with a card number (DLP).

    ``findings`` names what was found (kinds, never the matched text itself).
    """

    def __init__(self, message: str, *, findings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class AuthenticationError(CommError, PermissionError):
    """Credentials were refused or could not be obtained."""


class ConnectionFailed(CommError, ConnectionError):
    """A network connection could not be made or was lost."""


class OperationTimedOut(ConnectionFailed, TimeoutError):
    """A network operation took longer than allowed."""


class MessageError(CommError):
    """A message could not be sent, fetched or processed.

    ``error_type`` is a short machine-readable code such as ``"RATE_LIMITED"``,
    ``"REJECTED"`` or ``"TOO_LARGE"``; ``retry_after`` is seconds to wait before a
    retry makes sense, when the provider said so.
    """

    RATE_LIMITED = "RATE_LIMITED"
    REJECTED = "REJECTED"
    TOO_LARGE = "TOO_LARGE"
    INVALID = "INVALID"

    def __init__(
        self,
        message: str,
        *,
        error_type: str = "INVALID",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.retry_after = retry_after


class ParseError(MessageError):
    """Raw bytes that could not be read as a message at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_type="PARSE_FAILED")


class ProviderError(CommError):
    """A provider (gmail, imap, twilio, ...) reported a failure.

    ``provider`` names the provider, ``error_code`` is its normalised code such as
    ``"QUOTA_EXCEEDED"``, ``"NOT_FOUND"`` or ``"SERVER_ERROR"``.
    """

    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"

    def __init__(self, message: str, *, provider: str, error_code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.provider = provider
        self.error_code = error_code


class UnsupportedOperation(ProviderError, NotImplementedError):
    """The provider cannot do what was asked (e.g. push on a POP-only account)."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message, provider=provider, error_code="UNSUPPORTED")


class StoreError(CommError, OSError):
    """The local database or blob store failed."""


class NotFound(StoreError, LookupError):
    """A message, thread, account or blob that does not exist."""


class EncryptionKeyError(StoreError, PermissionError):
    """The encrypted store cannot be opened with the key at hand (wrong or damaged)."""


class EncryptionKeyMissing(EncryptionKeyError):
    """The encrypted store's key is not in the keyring; the message says what to do."""


class SourceError(CommError, OSError):
    """A path to import from, or a mailbox on disk, that cannot be read or written."""
