"""Settings of the running app: where data lives, and the security options.

The security options (no secrets: those live in the keyring) are kept in
``<data dir>/settings.json`` and set with ``commhub config set KEY VALUE``; they are the
spec's ``CommManager`` keywords: ``encryption_enabled``, ``audit_logging``,
``compliance_mode`` ("GDPR", ...), ``data_retention_days``, ``data_loss_prevention``.
Read once, passed down.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.errors import ConfigurationError
from services.store.paths import default_data_dir

_BOOL = {"true": True, "yes": True, "on": True, "1": True,
         "false": False, "no": False, "off": False, "0": False}
SECURITY_KEYS: dict[str, type] = {
    "encryption_enabled": bool,
    "audit_logging": bool,
    "compliance_mode": str,
    "data_retention_days": int,
    "data_loss_prevention": bool,
}


def parse_value(key: str, text: str) -> Any:
    """``text`` (as typed on the command line) as the type ``key`` takes."""
    kind = SECURITY_KEYS.get(key)
    if kind is None:
        raise ConfigurationError(
            f"unknown setting {key!r}; known: {', '.join(sorted(SECURITY_KEYS))}")
    if kind is bool:
        if text.lower() not in _BOOL:
            raise ConfigurationError(f"{key} takes true or false, not {text!r}")
        return _BOOL[text.lower()]
    if kind is int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(f"{key} takes a whole number, not {text!r}") from None
        if value < 1:
            raise ConfigurationError(f"{key} must be at least 1")
        return value
    return text


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    security: dict[str, Any] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "commhub.sqlite3"

    @property
    def demo_db_path(self) -> Path:
        return self.data_dir / "demo" / "commhub-demo.sqlite3"

    @property
    def settings_path(self) -> Path:
        return self.data_dir / "settings.json"

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str] | None = None) -> Settings:
        """``data_dir`` argument > ``COMMHUB_DATA_DIR`` > the platform's user data dir."""
        path = (Path(data_dir) if data_dir is not None else default_data_dir()).expanduser()
        security: dict[str, Any] = {}
        file = path / "settings.json"
        if file.is_file():
            try:
                stored = json.loads(file.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot read {file}: {exc}") from exc
            if not isinstance(stored, dict):
                raise ConfigurationError(f"{file} must hold a JSON object")
            for key, value in stored.items():
                kind = SECURITY_KEYS.get(key)
                if kind is None or not isinstance(value, kind) or (
                        kind is int and isinstance(value, bool)):
                    raise ConfigurationError(f"{file}: bad setting {key!r} = {value!r}")
                security[key] = value
        return cls(data_dir=path, security=security)

    def with_security(self, key: str, value: Any | None) -> Settings:
        """A copy with ``key`` set (``None``: removed), saved to ``settings.json``."""
        security = dict(self.security)
        if value is None:
            security.pop(key, None)
        else:
            security[key] = value
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.settings_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(security, indent=2, sort_keys=True) + "\n", "utf-8")
        tmp.replace(self.settings_path)
        return Settings(self.data_dir, security)
