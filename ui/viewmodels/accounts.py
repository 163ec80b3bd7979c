"""Accounts view-model: list, add, edit and remove accounts; test a connection.

Pure Python (no Qt).  Settings come from :class:`services.email.account_setup.AccountForm`
(the same code as ``commhub account add``); saving goes through the backend's
``add_account`` (``CommManager``: settings to the store, the password to the OS keyring).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from services.email.account_setup import AccountForm, ConnectionReport, test_connection
from services.errors import CommError
from services.models import Account

__all__ = ["AccountsBackend", "AccountsViewModel"]

Listener = Callable[[], None]
Tester = Callable[[AccountForm, str], Awaitable[ConnectionReport]]
_LOCAL = {"maildir", "mbox", "import", "demo"}


class AccountsBackend(Protocol):
    def accounts(self) -> list[Account]: ...
    def add_account(self, name: str, provider: str, config: Mapping[str, Any], *,
                    secrets: Mapping[str, str] | None = None) -> Account: ...
    def remove_account(self, name: str) -> None: ...


class AccountsViewModel:
    def __init__(self, backend: AccountsBackend, *, tester: Tester = test_connection) -> None:
        self.backend = backend
        self.tester = tester
        self.accounts: list[Account] = []
        self.form = AccountForm(provider="imap", name="", email="")
        self.password = ""
        self.editing: str | None = None  # the name of the account being edited
        self.report: ConnectionReport | None = None
        self.busy = False
        self.error: str | None = None
        self.status = ""
        self._listeners: list[Listener] = []

    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self) -> None:
        for listener in list(self._listeners):
            listener()

    async def refresh(self) -> None:
        try:
            found = await asyncio.to_thread(self.backend.accounts)
        except CommError as exc:
            self.error = str(exc)
        else:
            self.accounts = [a for a in found if a.provider not in _LOCAL]
        self._emit()

    def new(self, provider: str = "imap") -> None:
        self.form = AccountForm(provider=provider, name="", email="")
        self.password, self.editing, self.report, self.error = "", None, None, None
        self._emit()

    def edit(self, name: str) -> None:
        account = next(a for a in self.accounts if a.name == name)
        self.form = AccountForm.from_account(account)
        self.password, self.editing, self.report, self.error = "", name, None, None
        self._emit()

    def update(self, **changes: Any) -> None:
        """Change form fields (``password`` too); a previous test result no longer holds."""
        self.password = str(changes.pop("password", self.password))
        self.form = self.form.copy(**changes)
        self.report = None
        self._emit()

    async def test(self) -> ConnectionReport:
        self.busy, self.status = True, "Testing the connection…"
        self._emit()
        try:
            self.report = await self.tester(self.form, self.password)
        finally:
            self.busy = False
        self.status = ("Connection works" if self.report.ok
                       else "The connection test failed")
        self._emit()
        return self.report

    async def save(self) -> bool:
        """Store the account (password to the keyring); False with ``error`` set if not."""
        try:
            config = self.form.config()
            secrets = {"password": self.password} if self.password else None
            if self.form.kind == "imap" and self.editing is None and not secrets:
                self.error = "enter the password (it is kept in the OS keyring)"
                self._emit()
                return False
            await asyncio.to_thread(lambda: self.backend.add_account(
                self.form.name.strip(), self.form.kind, config, secrets=secrets))
        except CommError as exc:
            self.error = str(exc)
            self._emit()
            return False
        self.error, self.editing = None, self.form.name.strip()
        self.status = f"Saved account {self.editing}"
        await self.refresh()
        return True

    async def remove(self, name: str) -> bool:
        try:
            await asyncio.to_thread(self.backend.remove_account, name)
        except CommError as exc:
            self.error = str(exc)
            self._emit()
            return False
        self.status = f"Removed account {name}"
        if self.editing == name:
            self.new(self.form.provider)
        await self.refresh()
        return True
