"""Transport security of the mail clients: TLS verification on by default, plaintext refused
before any connection unless explicitly allowed, and a real plaintext exchange on loopback.

(IMAP against Dovecot: tests/integration/imap/test_imap_security.py covers STARTTLS/SSL
verification, an untrusted CA, and a plaintext login once allowed.)
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from services.email.imap import ImapConfig
from services.email.smtp import SmtpConfig, SmtpSender
from services.errors import CommError, ConfigurationError
from tests.support.mail import make_message
from tests.support.net import free_ports

logging.getLogger("mail.log").setLevel(logging.ERROR)


class _Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server: object, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: object) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"secret", handled=False)


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, _Recorder]]:
    """A plaintext SMTP server on loopback that offers AUTH without TLS (and no STARTTLS)."""
    recorder = _Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_ports(1)[0],
                            authenticator=recorder.authenticate, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.mark.parametrize("host", ["mail.example.com", "192.0.2.25", "10.1.2.3"])
def test_plaintext_to_a_remote_host_is_refused_before_connecting(host: str) -> None:
    # pytest-socket would fail any attempt to reach these hosts; the refusal comes first
    with pytest.raises(ConfigurationError, match="allow_plaintext"):
        SmtpConfig.from_mapping({"host": host, "security": "plain", "username": "u"})
    with pytest.raises(ConfigurationError, match="allow_plaintext"):
        SmtpConfig.from_mapping({"host": host, "start_tls": False})
    with pytest.raises(ConfigurationError, match="allow_plaintext"):
        ImapConfig.from_mapping({"host": host, "username": "u", "security": "plain"})
    # allowing it is an explicit, visible choice
    cfg = SmtpConfig.from_mapping({"host": host, "security": "plain", "allow_plaintext": True})
    assert cfg.security == "plain" and cfg.tls_context() is None


def test_tls_verification_is_on_by_default() -> None:
    smtp = SmtpConfig.from_mapping({"host": "smtp.example.com"})
    assert (smtp.security, smtp.port) == ("starttls", 587)
    ctx = smtp.tls_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    imap = ImapConfig(host="imap.example.com", username="u")
    assert imap.security == "ssl" and imap.effective_port == 993
    ictx = imap.tls_context()
    assert ictx.verify_mode == ssl.CERT_REQUIRED and ictx.check_hostname
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(ConfigurationError, match="must verify"):
        ImapConfig(host="imap.example.com", username="u", ssl_context=lax).tls_context()


async def test_plaintext_login_on_loopback_once_allowed(
    plain_server: tuple[Controller, _Recorder]
) -> None:
    controller, recorder = plain_server
    # loopback never leaves the machine: plaintext there needs no flag (a local bridge or
    # relay), while the same settings for a remote host are refused (test above)
    assert SmtpConfig("localhost", controller.port, security="plain").security == "plain"
    assert ImapConfig(host="::1", username="u", security="plain").security == "plain"
    config = SmtpConfig("127.0.0.1", controller.port, security="plain", username="alice",
                        timeout=10)
    sender = SmtpSender(config, password="secret")
    try:
        raw = make_message("plain hello", to="bob@example.test")
        result = await sender.send_raw(raw, sender="alice@example.test",
                                       recipients=["bob@example.test"])
    finally:
        await sender.aclose()
    assert result.success
    assert recorder.logins == [("alice", "secret")]
    assert [e.rcpt_tos for e in recorder.envelopes] == [["bob@example.test"]]


async def test_starttls_never_downgrades_to_plaintext(
    plain_server: tuple[Controller, _Recorder]
) -> None:
    controller, recorder = plain_server
    config = SmtpConfig("127.0.0.1", controller.port, security="starttls", username="alice",
                        timeout=10)
    sender = SmtpSender(config, password="secret")
    try:
        with pytest.raises(CommError):
            await sender.send_raw(make_message("must not go"), sender="alice@example.test",
                                  recipients=["bob@example.test"])
    finally:
        await sender.aclose()
    assert recorder.logins == [] and recorder.envelopes == []  # the password never left
