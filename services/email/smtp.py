"""Sending through an SMTP server (aiosmtplib): configuration, one reused connection, errors.

:class:`SmtpSender` implements :class:`services.email.protocols.SupportsSend`.  It keeps one
authenticated connection open between sends and reconnects when the server closed it while
idle (detected at ``MAIL FROM``, before any part of the message left; a message is never
re-sent on a new connection by this class after ``DATA`` started).

Errors are translated at this boundary (``services.errors``):

* login refused → :class:`AuthenticationError` (never worth a retry);
* TLS handshake / certificate failure → :class:`ConnectionFailed` with a readable reason;
* connect failure, connection lost → :class:`ConnectionFailed`; timeouts →
  :class:`OperationTimedOut`; lost or timed out *after the message was transmitted* →
  :class:`DeliveryUncertain` (the server may have accepted it);
* 4xx → :class:`MessageError` ``error_type="TEMPORARY"`` or ``"RATE_LIMITED"`` with
  ``retry_after`` when the server said how long to wait;
* 5xx for the recipients/the message → ``error_type="REJECTED"`` (``"TOO_LARGE"`` for 552);
* some recipients refused, the message sent to the others → :class:`PartialDelivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any, Literal, get_args

import aiosmtplib

from services.email.transport import plaintext_allowed
from services.errors import (
    AuthenticationError,
    CommError,
    ConfigurationError,
    ConnectionFailed,
    MessageError,
    OperationTimedOut,
    ValidationError,
)
from services.models import SendResult

__all__ = [
    "DeliveryUncertain",
    "PartialDelivery",
    "SmtpConfig",
    "SmtpSender",
    "header_message_id",
    "response_error",
]

Security = Literal["starttls", "ssl", "plain"]
AuthMechanism = Literal["auto", "PLAIN", "LOGIN", "XOAUTH2"]
TokenProvider = Callable[[], Awaitable[str]]
_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "plain": 25}
_SECURITY_ALIASES: dict[str, Security] = {
    "starttls": "starttls", "tls": "ssl", "ssl": "ssl", "smtps": "ssl",
    "plain": "plain", "none": "plain",
}
_CONFIG_KEYS = {
    "host", "port", "security", "username", "user", "auth", "auth_mechanism", "ca_file",
    "timeout", "allow_plaintext", "local_hostname", "password", "use_tls", "start_tls",
}
_RATE_WORDS = re.compile(r"rate|too many|throttl|try again later|slow down", re.I)
_RETRY_AFTER = re.compile(
    r"(?:retry|try again)\D{0,24}?(\d+(?:\.\d+)?)\s*(s|sec|second|m|min|minute|h|hour)?", re.I
)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


class DeliveryUncertain(ConnectionFailed):
    """The connection broke (or timed out) after the message was transmitted and before
    the server's answer: the server may or may not have accepted it."""

    delivery_uncertain = True


class PartialDelivery(MessageError):
    """The message went to ``accepted``; ``refused`` maps each other recipient to its
    ``(code, text)``.  ``temporary`` lists the refused recipients worth a retry (4xx)."""

    def __init__(
        self, message: str, *, accepted: tuple[str, ...], refused: Mapping[str, tuple[int, str]]
    ) -> None:
        super().__init__(message, error_type="PARTIAL")
        self.accepted = accepted
        self.refused = dict(refused)

    @property
    def temporary(self) -> tuple[str, ...]:
        return tuple(r for r, (code, _) in self.refused.items() if 400 <= code < 500)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to submit mail.  Secrets (password, OAuth token) are not part of it."""

    host: str
    port: int = 0  # 0: the default of ``security`` (587, 465 or 25)
    security: Security = "starttls"
    username: str | None = None
    auth: AuthMechanism = "auto"
    ca_file: str | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    timeout: float = 60.0
    allow_plaintext: bool = False
    local_hostname: str | None = None  # EHLO name; default: this machine's host name

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ConfigurationError(f"SMTP host {self.host!r} is not a host name")
        if self.security not in get_args(Security):
            raise ConfigurationError(
                f"SMTP security {self.security!r} must be starttls, ssl or plain"
            )
        if self.security == "plain" and not plaintext_allowed(self.host, self.allow_plaintext):
            raise ConfigurationError(
                f"security 'plain' sends the password and mail to {self.host} unencrypted: use "
                "starttls or ssl, or set allow_plaintext=True explicitly"
            )
        if self.auth not in get_args(AuthMechanism):
            raise ConfigurationError(
                f"SMTP auth {self.auth!r} must be auto, PLAIN, LOGIN or XOAUTH2"
            )
        if self.port == 0:
            object.__setattr__(self, "port", _DEFAULT_PORTS[self.security])
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"SMTP port {self.port} is out of range")
        if self.timeout <= 0:
            raise ConfigurationError("SMTP timeout must be positive")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SmtpConfig:
        """From account settings such as ``{"host": ..., "port": 587, "username": ...}``.

        ``security`` accepts starttls, ssl (or tls/smtps) and plain (or none); the
        spec-style booleans ``use_tls``/``start_tls`` are understood too.  A ``password``
        key is ignored here: it belongs in the keyring.  Unknown keys are an error.
        """
        unknown = sorted(set(data) - _CONFIG_KEYS)
        if unknown:
            raise ConfigurationError(f"unknown SMTP setting(s): {', '.join(unknown)}")
        if "host" not in data:
            raise ConfigurationError("SMTP settings need a host")
        raw_security = str(data.get("security", "")).strip().lower()
        if not raw_security:
            raw_security = "ssl" if data.get("use_tls") else "starttls"
            if data.get("start_tls") is False and not data.get("use_tls"):
                raw_security = "plain"
        if raw_security not in _SECURITY_ALIASES:
            raise ConfigurationError(
                f"SMTP security {raw_security!r} must be starttls, ssl or plain"
            )
        try:
            port = int(data.get("port") or 0)
            timeout = float(data.get("timeout") or 60.0)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"bad SMTP port or timeout: {exc}") from exc
        auth = str(data.get("auth") or data.get("auth_mechanism") or "auto")
        return cls(
            host=str(data["host"]),
            port=port,
            security=_SECURITY_ALIASES[raw_security],
            username=data.get("username") or data.get("user") or None,
            auth="auto" if auth.lower() == "auto" else auth.upper(),  # type: ignore[arg-type]
            ca_file=data.get("ca_file") or None,
            timeout=timeout,
            allow_plaintext=bool(data.get("allow_plaintext", False)),
            local_hostname=data.get("local_hostname") or None,
        )

    def tls_context(self) -> ssl.SSLContext | None:
        """The context that verifies the server (system store or ``ca_file``)."""
        if self.security == "plain":
            return None
        if self.ssl_context is not None:
            return self.ssl_context
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load CA file {self.ca_file}: {exc}") from exc


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID of ``raw`` without angle brackets (None when absent)."""
    value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    if not value:
        return None
    text = str(value).strip()
    return text[1:-1].strip() if text.startswith("<") and text.endswith(">") else text or None


def _retry_after(text: str) -> float | None:
    match = _RETRY_AFTER.search(text)
    if match is None:
        return None
    unit = (match.group(2) or "").lower()[:1]
    return float(match.group(1)) * _UNITS.get(unit, 1.0)


def response_error(code: int, text: str, what: str) -> CommError:
    """The error for an SMTP reply ``code`` to ``what`` (e.g. ``"RCPT TO:<a@x>"``)."""
    detail = f"{what}: server answered {code} {text}".strip()
    if code in (530, 534, 535, 538):
        return AuthenticationError(detail)
    if 400 <= code < 500:
        kind = "RATE_LIMITED" if _RATE_WORDS.search(text) else "TEMPORARY"
        return MessageError(detail, error_type=kind, retry_after=_retry_after(text))
    if code == 552 or "5.3.4" in text:
        return MessageError(detail, error_type=MessageError.TOO_LARGE)
    return MessageError(detail, error_type=MessageError.REJECTED)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _is_8bit(raw: bytes) -> bool:
    return any(b > 127 for b in raw)


class _StaleConnection(Exception):
    """A reused connection was found closed before anything of the message was sent."""


class SmtpSender:
    """Sends raw messages through one SMTP server, reusing one connection.

    ``password`` (or ``token`` for XOAUTH2, an async callable returning a fresh access
    token) authenticates ``config.username``.  Sends are serialised on the connection.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        password: str | None = None,
        token: TokenProvider | None = None,
        name: str = "smtp",
    ) -> None:
        if config.auth == "XOAUTH2" and token is None:
            raise ConfigurationError("XOAUTH2 needs a token provider")
        self.config = config
        self.name = name
        self._password = password
        self._token = token
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self.connections_opened = 0  # for diagnostics

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    async def aclose(self) -> None:
        """QUIT and close the connection (errors on the way out are ignored)."""
        async with self._lock:
            await self._drop(polite=True)

    async def verify(self) -> None:
        """Connect, secure and log in once, then QUIT (an account's connection test)."""
        client = await self._connect()
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
            await client.quit(timeout=min(5.0, self.config.timeout))
        client.close()

    async def _drop(self, *, polite: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if polite and client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                await client.quit(timeout=min(5.0, self.config.timeout))
        client.close()

    # ------------------------------------------------------------------ connecting
    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self.config
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            local_hostname=cfg.local_hostname or socket.gethostname(),
            timeout=cfg.timeout,
            use_tls=cfg.security == "ssl",
            start_tls=cfg.security == "starttls",
            tls_context=cfg.tls_context(),
        )
        try:
            await client.connect()
            self.connections_opened += 1
            if cfg.username:
                await self._login(client, cfg.username)
        except BaseException as exc:
            client.close()
            if isinstance(exc, CommError | asyncio.CancelledError):
                raise
            raise self._translate(exc, "connect") from exc
        return client

    async def _login(self, client: aiosmtplib.SMTP, username: str) -> None:
        mech = self.config.auth
        if client.is_ehlo_or_helo_needed:  # extensions are forgotten after STARTTLS
            await client.ehlo()
        if mech == "XOAUTH2":
            assert self._token is not None
            await client.auth_xoauth2(username, await self._token())
            return
        if self._password is None:
            raise AuthenticationError(f"no password for {username} on {self._where}")
        if mech == "PLAIN":
            await client.auth_plain(username, self._password)
        elif mech == "LOGIN":
            await client.auth_login(username, self._password)
        elif not client.supports_extension("auth"):
            raise ConfigurationError(f"{self._where} does not offer AUTH for {username}")
        elif "plain" in client.supported_auth_methods:  # one try: no second refused login
            await client.auth_plain(username, self._password)
        elif "login" in client.supported_auth_methods:
            await client.auth_login(username, self._password)
        else:
            await client.login(username, self._password)

    def _translate(self, exc: BaseException, stage: str) -> CommError:
        where = self._where
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return AuthenticationError(
                f"{where} refused the login of {self.config.username}: {exc.code} {exc.message}"
            )
        tls = _ssl_cause(exc)
        if tls is not None:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or tls
            return ConnectionFailed(f"TLS with {where} failed: {reason}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return response_error(exc.code, exc.message, f"{stage} on {where}")
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
            return OperationTimedOut(f"{where} did not answer in time ({stage}): {exc}")
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return ConfigurationError(f"{where}: {exc}")
        if isinstance(exc, aiosmtplib.SMTPException | OSError):
            return ConnectionFailed(f"cannot talk to {where} ({stage}): {exc}")
        return ConnectionFailed(f"{where} ({stage}): {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ sending
    async def send_raw(self, raw: bytes, *, sender: str, recipients: Iterable[str]) -> SendResult:
        """Send ``raw`` as is to ``recipients`` (the envelope) from ``sender``."""
        rcpts = list(dict.fromkeys(r.strip() for r in recipients if r.strip()))
        if not rcpts:
            raise ValidationError("no recipients to send to")
        if not isinstance(raw, bytes | bytearray) or not raw:
            raise ValidationError("the message must be non-empty bytes")
        message_id = header_message_id(bytes(raw))
        async with self._lock:
            for _ in range(2):
                reused = self._client is not None and self._client.is_connected
                if not reused:
                    await self._drop()
                    self._client = await self._connect()
                client = self._client
                assert client is not None
                try:
                    await self._transaction(client, bytes(raw), sender, rcpts, reused=reused)
                except _StaleConnection:
                    await self._drop()
                    continue
                return SendResult(success=True, message_id=message_id, provider=self.name)
        raise ConnectionFailed(f"{self._where} closed the connection twice at MAIL FROM")

    async def _transaction(
        self, client: aiosmtplib.SMTP, raw: bytes, sender: str, rcpts: list[str], *, reused: bool
    ) -> None:
        utf8 = not all(a.isascii() for a in (sender, *rcpts))
        options = []
        if utf8:
            if not client.supports_extension("smtputf8"):
                raise MessageError(
                    f"{self._where} cannot take non-ASCII addresses (no SMTPUTF8)",
                    error_type=MessageError.REJECTED,
                )
            options.append("SMTPUTF8")
        if _is_8bit(raw) and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        if client.supports_extension("size"):
            options.append(f"SIZE={len(raw)}")
        encoding = "utf-8" if utf8 else "ascii"
        try:
            await client.mail(sender, options=options, encoding=encoding)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if reused:
                raise _StaleConnection from exc
            await self._drop()
            raise self._translate(exc, "MAIL FROM") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_refusal(client, exc.code)
            raise response_error(exc.code, exc.message, f"MAIL FROM:<{sender}>") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._drop()
            raise self._translate(exc, "MAIL FROM") from exc
        accepted, refused = await self._recipients(client, rcpts, encoding)
        if not accepted:
            await self._after_refusal(client, max(c for c, _ in refused.values()))
            raise _all_refused(refused)
        try:
            await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_refusal(client, exc.code)
            raise response_error(exc.code, exc.message, "DATA") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._drop()
            raise DeliveryUncertain(
                f"connection to {self._where} lost after the message was sent, before the "
                f"server confirmed it ({type(exc).__name__}: {exc}): it may have been accepted"
            ) from exc
        if refused:
            raise PartialDelivery(
                "sent to " + ", ".join(accepted) + "; refused: "
                + "; ".join(f"{r}: {c} {t}" for r, (c, t) in refused.items()),
                accepted=tuple(accepted),
                refused=refused,
            )

    async def _recipients(
        self, client: aiosmtplib.SMTP, rcpts: list[str], encoding: str
    ) -> tuple[list[str], dict[str, tuple[int, str]]]:
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for rcpt in rcpts:
            try:
                await client.rcpt(rcpt, encoding=encoding)
                accepted.append(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[rcpt] = (exc.code, exc.message)
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                raise self._translate(exc, f"RCPT TO:<{rcpt}>") from exc
        return accepted, refused

    async def _after_refusal(self, client: aiosmtplib.SMTP, code: int) -> None:
        """Reset the envelope so the connection can be reused (drop it after 421)."""
        if code == 421:
            await self._drop()
            return
        try:
            await client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            await self._drop()


def _all_refused(refused: Mapping[str, tuple[int, str]]) -> CommError:
    temporary = {r: v for r, v in refused.items() if 400 <= v[0] < 500}
    rcpt, (code, text) = next(iter((temporary or refused).items()))
    detail = "; ".join(f"{r}: {c} {t}" for r, (c, t) in refused.items())
    err = response_error(code, text, f"RCPT TO:<{rcpt}>")
    if isinstance(err, MessageError):
        return MessageError(
            f"every recipient was refused ({detail})",
            error_type=err.error_type,
            retry_after=err.retry_after,
        )
    return err
