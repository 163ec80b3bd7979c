"""SmtpSender against the real aiosmtpd → LMTP → Dovecot chain."""

from __future__ import annotations

import asyncio

import pytest

from services.errors import AuthenticationError, ConnectionFailed, MessageError
from tests.integration.send.conftest import ALICE, compose, smtp_sender
from tests.integration.send.support import SendServer, body_of
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "ssl"])
async def test_send_arrives_byte_exact(
    clean_smtp: SmtpServer, clean_mailbox: DovecotServer, implicit_tls: bool
) -> None:
    m = compose("delivery").attach(("Bericht für März.pdf", b"%PDF-1.4\x00\xff" * 50))
    raw = m.build()
    sender = smtp_sender(clean_smtp, ssl=implicit_tls)
    try:
        result = await sender.send_raw(raw, sender=ALICE, recipients=[ALICE])
    finally:
        await sender.aclose()
    assert result.success and result.message_id == m.message_id and result.provider == "smtp"
    (got,) = clean_smtp.wait_for(1)
    assert got.tls and got.auth_user == "alice" and got.data == raw
    body = await asyncio.to_thread(body_of, clean_mailbox, "alice", m.message_id)
    assert body == raw.split(b"\r\n\r\n", 1)[1]


async def test_one_connection_reused_and_reopened_after_server_idle_close(
    recording: SendServer,
) -> None:
    sender = smtp_sender(recording)
    try:
        for i in range(3):
            await sender.send_raw(compose(f"reuse {i}").build(), sender=ALICE,
                                  recipients=[ALICE])
        assert sender.connections_opened == 1
        assert len(set(recording.peers)) == 1 and len(recording.peers) == 3
        await asyncio.sleep(1.6)  # the server's 1 s idle timeout closes the connection
        await sender.send_raw(compose("after idle").build(), sender=ALICE, recipients=[ALICE])
    finally:
        await sender.aclose()
    assert sender.connections_opened == 2
    assert len(set(recording.peers)) == 2 and len(recording.wait_for(4)) == 4


async def test_wrong_password_is_one_refused_login(clean_smtp: SmtpServer) -> None:
    sender = smtp_sender(clean_smtp, password="wrong")
    with pytest.raises(AuthenticationError, match="refused the login of alice"):
        await sender.send_raw(compose("bad login").build(), sender=ALICE, recipients=[ALICE])
    assert clean_smtp.auth_failures == 1 and clean_smtp.messages == []


async def test_unknown_recipient_is_rejected_and_connection_stays_usable(
    clean_smtp: SmtpServer, clean_mailbox: DovecotServer
) -> None:
    sender = smtp_sender(clean_smtp)
    try:
        with pytest.raises(MessageError) as info:
            await sender.send_raw(compose("nobody").build(), sender=ALICE,
                                  recipients=["nobody@example.test"])
        assert info.value.error_type == "REJECTED" and "550" in str(info.value)
        await sender.send_raw(compose("then ok").build(), sender=ALICE, recipients=[ALICE])
    finally:
        await sender.aclose()
    assert sender.connections_opened == 1 and len(clean_smtp.wait_for(1)) == 1


async def test_untrusted_certificate_is_a_readable_connection_failure(
    clean_smtp: SmtpServer,
) -> None:
    from services.email.smtp import SmtpConfig, SmtpSender

    config = SmtpConfig(clean_smtp.host, clean_smtp.tls_port, security="ssl",
                        username="alice", timeout=5)  # system CAs: the test CA is unknown
    sender = SmtpSender(config, password="x")
    with pytest.raises(ConnectionFailed, match=r"TLS with .* failed: .*certificate"):
        await sender.send_raw(compose("tls").build(), sender=ALICE, recipients=[ALICE])
    assert sender.connections_opened == 0
