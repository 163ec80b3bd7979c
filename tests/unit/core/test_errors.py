from __future__ import annotations

import pytest

from services import errors
from services.errors import (
    AuthenticationError,
    CommError,
    ConnectionFailed,
    MessageError,
    NotFound,
    OperationTimedOut,
    ProviderError,
    QuerySyntaxError,
    SourceError,
    ValidationError,
)


def test_every_error_is_a_comm_error_and_documented() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, CommError)
        assert name in doc, f"{name} missing from the tree in errors.__doc__"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ValidationError, ValueError),
        (QuerySyntaxError, ValueError),
        (AuthenticationError, PermissionError),
        (ConnectionFailed, ConnectionError),
        (OperationTimedOut, TimeoutError),
        (NotFound, LookupError),
        (SourceError, OSError),
    ],
)
def test_errors_inherit_matching_builtins(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin)


def test_message_error_carries_type_and_retry_after() -> None:
    exc = MessageError("slow down", error_type="RATE_LIMITED", retry_after=2.5)
    assert (exc.error_type, exc.retry_after, str(exc)) == ("RATE_LIMITED", 2.5, "slow down")
    with pytest.raises(MessageError) as info:
        raise exc
    assert info.value.error_type == MessageError.RATE_LIMITED


def test_provider_error_carries_provider_and_code() -> None:
    exc = ProviderError("daily limit", provider="gmail", error_code="QUOTA_EXCEEDED")
    assert exc.provider == "gmail"
    assert exc.error_code == ProviderError.QUOTA_EXCEEDED


def test_query_syntax_error_position() -> None:
    exc = QuerySyntaxError("expected ')'", query="(a", position=2)
    assert exc.position == 2 and exc.query == "(a"
