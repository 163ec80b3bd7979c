from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.backoff import exponential, parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 1.5 ", 1.5), ("-3", 0.0), ("", None), (None, None), ("soon", None),
     ("Wed, 25 Nov 2026 10:00:30 GMT", 30.0), ("Wed, 25 Nov 2026 09:59:00 GMT", 0.0)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_exponential_doubles_up_to_the_cap() -> None:
    assert [exponential(n, 0.5, 3.0) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert exponential(-1, 1.0, 10.0) == 1.0
