"""IMAP account settings, built from a plain mapping with readable errors.

Certificate verification is always on (hostname included); a custom CA comes in as
``ca_file`` or ``ssl_context``.  Plaintext connections need ``allow_plaintext=True``.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from services.email.transport import plaintext_allowed
from services.errors import ConfigurationError

__all__ = ["Auth", "ImapConfig", "Security"]

Security = Literal["ssl", "starttls", "plain"]
Auth = Literal["password", "xoauth2"]
_SECURITY = ("ssl", "starttls", "plain")
_AUTH = ("password", "xoauth2")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,76}")


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    username: str
    port: int | None = None  # default: 993 for ssl, 143 otherwise
    security: Security = "ssl"
    auth: Auth = "password"
    allow_plaintext: bool = False
    ca_file: str | None = None
    ssl_context: ssl.SSLContext | None = None
    timeout: float = 30.0
    sync_window_days: int | None = None
    include_folders: tuple[str, ...] | None = None  # None: every selectable folder
    exclude_folders: tuple[str, ...] = ()
    fetch_chunk: int = 1000  # UIDs per header FETCH
    parse_workers: int = 1  # worker processes for big header syncs (0: in a thread)
    idle_folders: tuple[str, ...] = ("INBOX",)
    idle_refresh: float = 25 * 60.0  # re-IDLE before the server's 29-minute limit
    use_condstore: bool = True  # False: plain UIDNEXT/FLAGS sync (servers with broken modseqs)
    source_address: str | None = None  # bind the local side (multi-homed hosts)
    # a header sync fetches the fields the store reads (protocol.SYNC_HEADER_FIELDS) and
    # these; full_headers fetches every header (Received chains included) up front
    extra_headers: tuple[str, ...] = ()
    full_headers: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigurationError("imap: 'host' must be a non-empty host name")
        if not isinstance(self.username, str) or not self.username:
            raise ConfigurationError("imap: 'username' must be a non-empty string")
        if self.security not in _SECURITY:
            raise ConfigurationError(
                f"imap: 'security' must be one of {', '.join(_SECURITY)}, not {self.security!r}"
            )
        if self.auth not in _AUTH:
            raise ConfigurationError(
                f"imap: 'auth' must be one of {', '.join(_AUTH)}, not {self.auth!r}"
            )
        if self.security == "plain" and not plaintext_allowed(self.host, self.allow_plaintext):
            raise ConfigurationError(
                f"imap: security 'plain' sends the password to {self.host} unencrypted; use "
                "'ssl' or 'starttls', or set allow_plaintext=True explicitly"
            )
        if self.port is not None and not (isinstance(self.port, int) and 0 < self.port < 65536):
            raise ConfigurationError(f"imap: 'port' must be 1-65535, not {self.port!r}")
        if self.ca_file is not None and not Path(self.ca_file).is_file():
            raise ConfigurationError(f"imap: 'ca_file' {self.ca_file!r} is not a readable file")
        if not (isinstance(self.timeout, int | float) and self.timeout > 0):
            raise ConfigurationError(f"imap: 'timeout' must be > 0 seconds, not {self.timeout!r}")
        if self.sync_window_days is not None and (
            not isinstance(self.sync_window_days, int) or self.sync_window_days < 1
        ):
            raise ConfigurationError(
                "imap: 'sync_window_days' must be a whole number of days >= 1, or None for all"
            )
        if not (isinstance(self.fetch_chunk, int) and 1 <= self.fetch_chunk <= 10_000):
            raise ConfigurationError("imap: 'fetch_chunk' must be 1-10000")
        bad = [h for h in self.extra_headers
               if not isinstance(h, str) or not _HEADER_NAME.fullmatch(h)]
        if bad:
            raise ConfigurationError(
                f"imap: 'extra_headers' must be header field names (letters, digits, '-'), "
                f"not {', '.join(map(repr, bad))}"
            )
        if not (isinstance(self.idle_refresh, int | float) and 1 <= self.idle_refresh <= 29 * 60):
            raise ConfigurationError("imap: 'idle_refresh' must be 1-1740 seconds (under 29 min)")

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security == "ssl" else 143

    def wants_folder(self, name: str) -> bool:
        if name in self.exclude_folders:
            return False
        return self.include_folders is None or name in self.include_folders

    def tls_context(self) -> ssl.SSLContext:
        """The client context: the given one, or the system store plus ``ca_file``.
        Verification and hostname checking are forced on either way."""
        if self.ssl_context is not None:
            ctx = self.ssl_context
        else:
            try:
                ctx = ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"imap: cannot load CA file {self.ca_file!r}: {exc}") \
                    from exc
        if ctx.verify_mode != ssl.CERT_REQUIRED or not ctx.check_hostname:
            raise ConfigurationError(
                "imap: the ssl_context must verify certificates (CERT_REQUIRED, check_hostname)"
            )
        return ctx

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> ImapConfig:
        """Build from a plain dict (account settings); unknown or missing keys are errors."""
        if not isinstance(cfg, Mapping):
            raise ConfigurationError(f"imap: settings must be a mapping, not {type(cfg).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(cfg) - set(known))
        if unknown:
            raise ConfigurationError(
                f"imap: unknown setting(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        missing = [k for k in ("host", "username") if k not in cfg]
        if missing:
            raise ConfigurationError(f"imap: missing required setting(s) {', '.join(missing)}")
        values = dict(cfg)
        for key in ("include_folders", "exclude_folders", "idle_folders", "extra_headers"):
            value = values.get(key)
            if isinstance(value, str):
                values[key] = (value,)
            elif value is not None:
                values[key] = tuple(str(v) for v in value)
        return cls(**values)
