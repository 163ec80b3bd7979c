"""An in-memory backend of the real ``keyring`` library, for in-process CLI/app tests.

The suite's default backend is ``keyring.backends.fail`` (see tests/conftest.py); a test
that runs code calling ``keyring`` itself (``KeyringSecrets``, the CLI) takes the
``memory_keyring`` fixture.  Tests of the OS keyring use ``@pytest.mark.real_keyring``
with gnome-keyring under dbus-run-session instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import pytest

__all__ = ["DictKeyring", "memory_keyring"]


class DictKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.data:
            import keyring.errors

            raise keyring.errors.PasswordDeleteError(f"no {service}/{username}")
        del self.data[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[DictKeyring]:
    previous = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
