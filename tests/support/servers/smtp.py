"""An in-process SMTP server (aiosmtpd) that records every message and delivers into Dovecot.

Fixtures (registered by tests/conftest.py):

``smtp_server`` (session)
    A running :class:`SmtpServer`:

    * ``smtp_server.port``: submission port, STARTTLS required before anything else, then
      AUTH PLAIN/LOGIN required (users and passwords are Dovecot's: ``smtp_server.users``);
    * ``smtp_server.tls_port``: implicit TLS ("SMTPS", port-465 style), AUTH required;
    * ``smtp_server.ssl_context()``: client context trusting the test CA;
    * ``smtp_server.messages``: every accepted message as :class:`ReceivedMessage`
      (sender, recipients, raw bytes, authenticated user, ...);
    * ``smtp_server.wait_for(n, timeout=5)``: block until ``n`` messages were recorded.

    Each recipient ``user@example.test`` gets its own copy delivered into Dovecot through LMTP
    (one recipient per LMTP transaction), so a client can send with SMTP and read with IMAP.
    Unknown ``@example.test`` users are refused at RCPT (550); other domains are only recorded.
    If the ``dovecot`` binary is missing, the server still runs and records (no delivery).
``clean_smtp`` (function)
    The same server with ``messages`` cleared before the test.

Example::

    def test_send(clean_smtp, clean_mailbox):
        with smtplib.SMTP(clean_smtp.host, clean_smtp.port, local_hostname="localhost") as s:
            s.starttls(context=clean_smtp.ssl_context())
            s.login("alice", clean_smtp.users["alice"])
            s.sendmail("alice@example.test", ["bob@example.test"], raw)
        assert clean_smtp.messages[0].rcpt_tos == ["bob@example.test"]
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email
import email.message
import email.policy
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.net import LOOPBACK, free_ports
from tests.support.servers.dovecot import (
    DEFAULT_USERS,
    MAIL_DOMAIN,
    DovecotServer,
    dovecot_available,
)
from tests.support.tls import TestCA

# aiosmtpd logs every connection and warns about its own AUTH API on each login.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the SMTP server accepted it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    auth_user: str | None
    tls: bool
    port: int
    mail_options: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)  # local users that got an LMTP copy
    received_at: float = field(default_factory=time.time)

    @property
    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class _Handler:
    def __init__(self, server: SmtpServer, port: int, *, implicit_tls: bool) -> None:
        self.server = server
        self.port = port
        self.implicit_tls = implicit_tls  # aiosmtpd sets session.ssl only after STARTTLS

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 (``user=<u>^Aauth=Bearer <token>^A^A``), offered when the server
        has an ``oauth_check``; the token is judged by it (e.g. an introspection call)."""
        check = self.server.oauth_check
        if check is None:
            return AuthResult(success=False, handled=False,
                              message="504 5.5.4 XOAUTH2 not enabled")
        if len(args) > 1:
            blob = args[1].encode()
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            blob = base64.b64encode(answer)
        try:
            fields = dict(
                part.split("=", 1) for part in base64.b64decode(blob, validate=True)
                .decode("utf-8").split("\x01") if "=" in part
            )
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return AuthResult(success=False, handled=False,
                              message="501 5.5.2 Can't decode XOAUTH2")
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ").strip()
        ok = bool(user) and check(user, token)
        if not ok:
            self.server.auth_failures += 1
            return AuthResult(success=False, handled=False,
                              message="535 5.7.8 Invalid OAuth token")
        return AuthResult(success=True, auth_data=user.encode())

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        local, _, domain = address.rpartition("@")
        if domain.lower() == MAIL_DOMAIN and local.lower() not in self.server.users:
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        local_users = [
            addr.rpartition("@")[0].lower()
            for addr in envelope.rcpt_tos
            if addr.rpartition("@")[2].lower() == MAIL_DOMAIN
        ]
        delivered: list[str] = []
        errors: list[str] = []
        if self.server.dovecot is not None and local_users:
            loop = asyncio.get_running_loop()
            for user in local_users:  # one recipient per LMTP transaction
                try:
                    await loop.run_in_executor(
                        None, self.server.deliver_lmtp, envelope.mail_from or "", user, raw
                    )
                    delivered.append(user)
                except (OSError, smtplib.SMTPException) as exc:
                    errors.append(f"{user}: {exc}")
        auth = session.auth_data
        if isinstance(auth, LoginPassword):
            auth = auth.login
        auth_user = auth.decode() if isinstance(auth, bytes) else auth
        self.server._record(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                data=raw,
                auth_user=auth_user,
                tls=self.implicit_tls or session.ssl is not None,
                port=self.port,
                mail_options=list(envelope.mail_options),
                delivered_to=delivered,
            )
        )
        if errors:
            return "451 4.3.0 local delivery failed: " + "; ".join(errors)
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """Two aiosmtpd controllers (submission with STARTTLS, implicit TLS) sharing one recorder."""

    def __init__(
        self,
        ca: TestCA,
        *,
        users: Mapping[str, str] = DEFAULT_USERS,
        dovecot: DovecotServer | None = None,
        host: str = LOOPBACK,
    ) -> None:
        self.ca = ca
        self.users = dict(users)
        self.dovecot = dovecot
        self.host = host
        self.port = 0
        self.tls_port = 0
        self.messages: list[ReceivedMessage] = []
        self.auth_failures = 0
        # (user, access token) → accepted?  Set it to offer AUTH XOAUTH2.
        self.oauth_check: Callable[[str, str], bool] | None = None
        self._cond = threading.Condition()
        self._controllers: list[Controller] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SmtpServer:
        last: Exception | None = None
        for _attempt in range(3):
            self.port, self.tls_port = free_ports(2, self.host)
            try:
                self._controllers = [self._controller(self.port, implicit_tls=False)]
                self._controllers[0].start()
                self._controllers.append(self._controller(self.tls_port, implicit_tls=True))
                self._controllers[1].start()
                return self
            except (OSError, RuntimeError, TimeoutError) as exc:  # port grabbed meanwhile
                last = exc
                self.stop()
        raise RuntimeError(f"SMTP server did not start: {last}")

    def stop(self) -> None:
        for controller in self._controllers:
            with contextlib.suppress(AssertionError, RuntimeError):  # never fully started
                controller.stop()
        self._controllers = []

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _controller(self, port: int, *, implicit_tls: bool) -> Controller:
        common: dict[str, Any] = {
            "hostname": self.host,
            "port": port,
            "server_hostname": "localhost",  # no getfqdn() lookup
            "authenticator": self._authenticate,
            "auth_required": True,
            "enable_SMTPUTF8": True,
            "ready_timeout": 5.0,
        }
        if implicit_tls:
            # With implicit TLS aiosmtpd advertises AUTH only if auth_require_tls is False
            # (the whole session is encrypted anyway).
            return Controller(
                _Handler(self, port, implicit_tls=True),
                ssl_context=self.ca.server_context(),
                auth_require_tls=False,
                **common,
            )
        return Controller(
            _Handler(self, port, implicit_tls=False),
            tls_context=self.ca.server_context(),
            require_starttls=True,
            auth_require_tls=True,
            **common,
        )

    # ------------------------------------------------------------------ behaviour
    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = False
        login = None
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            user = login.lower().removesuffix("@" + MAIL_DOMAIN)
            ok = self.users.get(user) == auth_data.password.decode("utf-8", "replace")
        if not ok:
            self.auth_failures += 1
        return AuthResult(success=ok, handled=False, auth_data=login)

    def deliver_lmtp(self, sender: str, user: str, raw: bytes) -> None:
        """Deliver one copy to one local ``user`` via Dovecot's LMTP (blocking)."""
        if self.dovecot is None:
            raise RuntimeError("no Dovecot to deliver to")
        with smtplib.LMTP(
            self.dovecot.host, self.dovecot.lmtp_port, local_hostname="localhost", timeout=10
        ) as lmtp:
            lmtp.sendmail(sender or "<>", [user], raw)

    def _record(self, msg: ReceivedMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    # ------------------------------------------------------------------ test helpers
    def ssl_context(self) -> ssl.SSLContext:
        """Client TLS context that verifies the server against the test CA."""
        return self.ca.client_context()

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.auth_failures = 0

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages were recorded; returns a copy of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(
                    f"SMTP server got {len(self.messages)} message(s), expected {count}"
                )
            return list(self.messages)


# --------------------------------------------------------------------------- pytest fixtures


def pytest_configure(config: pytest.Config) -> None:
    # Raised by aiosmtpd (in its server thread) for every implicit-TLS connection: that port
    # is encrypted from the first byte, so the warning does not apply.
    config.addinivalue_line(
        "filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning"
    )


@pytest.fixture(scope="session")
def smtp_server(request: pytest.FixtureRequest, tls_ca: TestCA) -> Iterator[SmtpServer]:
    """Session SMTP server; delivers into the session Dovecot when Dovecot is installed."""
    dovecot: DovecotServer | None = None
    if dovecot_available():
        dovecot = request.getfixturevalue("dovecot")
    users = dovecot.users if dovecot is not None else DEFAULT_USERS
    server = SmtpServer(tls_ca, users=users, dovecot=dovecot)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clean_smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session SMTP server with its recorded messages cleared."""
    smtp_server.clear()
    return smtp_server
