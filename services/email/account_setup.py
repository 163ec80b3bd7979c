"""Account settings from a form (the CLI's ``account add`` and the GUI's accounts dialog)
and a connection test with a readable result.

:class:`AccountForm` holds what a person types; :meth:`AccountForm.config` turns it into
the settings the provider factories of :mod:`services.email.wiring` read (secrets are
never part of it: they go to the keyring through ``CommManager.add_account``).
:func:`test_connection` logs in to IMAP and SMTP (or checks the Gmail client secrets
file / the Microsoft app id, whose sign-in happens in the browser on first sync).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from services.errors import CommError, ConfigurationError, ValidationError
from services.models import Account

__all__ = ["AccountForm", "CheckStep", "ConnectionReport", "Provider", "test_connection"]

Provider = Literal["imap", "gmail", "outlook"]
_PROVIDERS: dict[str, Provider] = {"imap": "imap", "gmail": "gmail", "outlook": "outlook",
                                   "office365": "outlook", "exchange": "outlook"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(slots=True)
class AccountForm:
    """One account as entered by a person (every field a plain value)."""

    provider: str
    name: str
    email: str
    username: str = ""
    imap_host: str = ""
    imap_port: int | None = None
    imap_security: str = "ssl"
    smtp_host: str = ""
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    ca_file: str | None = None
    allow_plaintext: bool = False
    credentials_path: str = ""
    client_id: str = ""
    tenant: str = "common"

    @property
    def kind(self) -> Provider:
        try:
            return _PROVIDERS[self.provider.strip().lower()]
        except KeyError:
            raise ValidationError(
                f"unknown provider {self.provider!r}: use imap, gmail or outlook") from None

    def validate(self) -> None:
        """A :class:`ValidationError` naming the first field that cannot work."""
        kind = self.kind
        if not _NAME.fullmatch(self.name.strip()):
            raise ValidationError("name: letters, digits, '.', '_' or '-' (e.g. work)")
        if "@" not in self.email.strip("@ ") or any(c.isspace() for c in self.email.strip()):
            raise ValidationError(f"e-mail: {self.email!r} is not an e-mail address")
        if kind == "imap":
            if not self.imap_host.strip() or not self.smtp_host.strip():
                raise ValidationError("an imap account needs an IMAP host and an SMTP host")
            for label, port in (("IMAP", self.imap_port), ("SMTP", self.smtp_port)):
                if port is not None and not 0 < port < 65536:
                    raise ValidationError(f"{label} port {port} is out of range")
            if "plain" in (self.imap_security, self.smtp_security) and not self.allow_plaintext:
                raise ValidationError("unencrypted connections need 'allow plaintext' ticked")
        elif kind == "gmail" and not self.credentials_path.strip():
            raise ValidationError("a gmail account needs the OAuth client secrets file")
        elif kind == "outlook" and not self.client_id.strip():
            raise ValidationError("an outlook account needs the app (client) id")

    def config(self) -> dict[str, Any]:
        """The stored settings for this account (no secrets)."""
        self.validate()
        kind = self.kind
        if kind == "gmail":
            return {"address": self.email.strip(),
                    "credentials_path": str(Path(self.credentials_path.strip()))}
        if kind == "outlook":
            return {"address": self.email.strip(), "client_id": self.client_id.strip(),
                    "tenant_id": self.tenant.strip() or "common"}
        user = self.username.strip() or self.email.strip()
        common = {"username": user, "ca_file": self.ca_file or None,
                  "allow_plaintext": self.allow_plaintext}
        return {
            "address": self.email.strip(),
            "imap": {"host": self.imap_host.strip(), "port": self.imap_port,
                     "security": self.imap_security, **common},
            "smtp": {"host": self.smtp_host.strip(), "port": self.smtp_port,
                     "security": self.smtp_security, **common},
        }

    @classmethod
    def from_account(cls, account: Account) -> AccountForm:
        """The form of a stored account (for editing)."""
        cfg = dict(account.config)
        form = cls(provider=account.provider, name=account.name,
                   email=str(cfg.get("address") or account.address))
        imap, smtp = cfg.get("imap") or {}, cfg.get("smtp") or {}
        if account.provider == "imap":
            form.username = str(imap.get("username") or "")
            if form.username == form.email:
                form.username = ""
            form.imap_host, form.imap_port = str(imap.get("host", "")), imap.get("port")
            form.imap_security = str(imap.get("security") or "ssl")
            form.smtp_host, form.smtp_port = str(smtp.get("host", "")), smtp.get("port")
            form.smtp_security = str(smtp.get("security") or "starttls")
            form.ca_file = imap.get("ca_file") or None
            form.allow_plaintext = bool(imap.get("allow_plaintext", False))
        form.credentials_path = str(cfg.get("credentials_path") or "")
        form.client_id = str(cfg.get("client_id") or "")
        form.tenant = str(cfg.get("tenant_id") or "common")
        return form

    def copy(self, **changes: Any) -> AccountForm:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return AccountForm(**values)


@dataclass(frozen=True, slots=True)
class CheckStep:
    what: str
    ok: bool
    detail: str


@dataclass(slots=True)
class ConnectionReport:
    steps: list[CheckStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def summary(self) -> str:
        return "\n".join(f"{'✔' if s.ok else '✘'} {s.what}: {s.detail}" for s in self.steps)


async def _check_imap(section: dict[str, Any], password: str) -> CheckStep:
    from services.email.imap.client import ImapConnection
    from services.email.imap.config import ImapConfig

    where = f"{section['host']}"
    try:
        config = ImapConfig.from_mapping({k: v for k, v in section.items() if v is not None})
        where = f"{config.host}:{config.port or ''}".rstrip(":")
        conn = ImapConnection(config, password=lambda: password)
        await conn.open()
        await conn.close()
    except CommError as exc:
        return CheckStep("IMAP", False, f"{where}: {exc}")
    return CheckStep("IMAP", True, f"logged in as {section['username']} on {where}")


async def _check_smtp(section: dict[str, Any], password: str) -> CheckStep:
    from services.email.smtp import SmtpConfig, SmtpSender

    where = str(section["host"])
    try:
        config = SmtpConfig.from_mapping({k: v for k, v in section.items() if v is not None})
        where = f"{config.host}:{config.port}"
        await SmtpSender(config, password=password).verify()
    except CommError as exc:
        return CheckStep("SMTP", False, f"{where}: {exc}")
    return CheckStep("SMTP", True, f"logged in as {section['username']} on {where}")


def _check_gmail(path: str) -> CheckStep:
    from services.email.gmail.auth import read_client_secrets

    try:
        client = read_client_secrets(path)
    except (CommError, OSError, ValueError) as exc:
        return CheckStep("Gmail client secrets", False, str(exc))
    return CheckStep("Gmail client secrets", True,
                     f"client {client.client_id[:24]}… is valid; you sign in with Google in "
                     "your browser on the first sync")


async def test_connection(form: AccountForm, password: str = "") -> ConnectionReport:
    """Check what can be checked without a browser; never raises for a bad server."""
    report = ConnectionReport()
    try:
        cfg = form.config()
    except (ValidationError, ConfigurationError) as exc:
        report.steps.append(CheckStep("Settings", False, str(exc)))
        return report
    kind = form.kind
    if kind == "imap":
        if not password:
            report.steps.append(CheckStep("Password", False, "enter the password to test"))
            return report
        report.steps.append(await _check_imap(cfg["imap"], password))
        report.steps.append(await _check_smtp(cfg["smtp"], password))
    elif kind == "gmail":
        report.steps.append(_check_gmail(cfg["credentials_path"]))
    else:
        ok = bool(_GUID.fullmatch(cfg["client_id"]))
        report.steps.append(CheckStep(
            "Microsoft app id", ok,
            "looks right; you sign in with Microsoft in your browser on the first sync" if ok
            else f"{cfg['client_id']!r} is not an app (client) id (a GUID such as "
                 "00000000-0000-0000-0000-000000000000)"))
    return report


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
