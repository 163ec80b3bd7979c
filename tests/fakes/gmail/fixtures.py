"""The ``gmail_fake`` pytest fixture: a fresh, started :class:`GmailFake` per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.gmail.server import GmailFake


def _iter_fake() -> Iterator[GmailFake]:
    fake = GmailFake().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def gmail_fake() -> Iterator[GmailFake]:
    """A fresh, started :class:`GmailFake` per test."""
    yield from _iter_fake()
