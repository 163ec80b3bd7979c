from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.store import Store
from services.store.cipher import DatabaseKey


@pytest.fixture(params=["plain", "encrypted"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every store test runs on a plain and on an encrypted (SQLCipher) store."""
    key = DatabaseKey.generate() if request.param == "encrypted" else None
    s = Store.open(tmp_path / "commhub.sqlite3", key=key)
    yield s
    s.close()
