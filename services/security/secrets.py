"""Secrets (passwords, OAuth refresh tokens) live in the OS keyring, never in files.

:class:`KeyringSecrets` is the production store over the ``keyring`` library;
:class:`MemorySecrets` keeps secrets in memory for the demo and for tests that
are not about the keyring itself.  Keyring failures become ``ConfigurationError``
with a hint, since they are about the user's environment, not a bug.
"""

from __future__ import annotations

from typing import Protocol

from services.errors import ConfigurationError

__all__ = ["KeyringSecrets", "MemorySecrets", "SecretStore"]

SERVICE = "commhub"


class SecretStore(Protocol):
    def get(self, account: str, key: str) -> str | None: ...
    def set(self, account: str, key: str, value: str) -> None: ...
    def delete(self, account: str, key: str) -> None: ...


def _name(account: str, key: str) -> str:
    return f"{account}:{key}"


class KeyringSecrets:
    """Secrets in the OS keyring under service ``commhub``, user ``<account>:<key>``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _fail(self, exc: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"the OS keyring is not usable ({type(exc).__name__}: {exc}); start a Secret "
            "Service (e.g. gnome-keyring) or choose a backend with PYTHON_KEYRING_BACKEND"
        )

    def get(self, account: str, key: str) -> str | None:
        import keyring
        import keyring.errors

        try:
            return keyring.get_password(self.service, _name(account, key))
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from exc

    def set(self, account: str, key: str, value: str) -> None:
        import keyring
        import keyring.errors

        try:
            keyring.set_password(self.service, _name(account, key), value)
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from exc

    def delete(self, account: str, key: str) -> None:
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(self.service, _name(account, key))
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from exc


class MemorySecrets:
    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def get(self, account: str, key: str) -> str | None:
        return self._data.get(_name(account, key))

    def set(self, account: str, key: str, value: str) -> None:
        self._data[_name(account, key)] = value

    def delete(self, account: str, key: str) -> None:
        self._data.pop(_name(account, key), None)
