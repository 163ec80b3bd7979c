"""The real-server harness works: Dovecot (IMAP/STARTTLS/IMAPS/LMTP) and aiosmtpd → Dovecot."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
import uuid

import aiosmtplib
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.support.mail import make_message
from tests.support.net import port_accepts
from tests.support.servers.dovecot import BAD_LOGIN_SOURCE_IP, DovecotServer
from tests.support.servers.smtp import SmtpServer


def _marker() -> str:
    return "m" + uuid.uuid4().hex[:12]


def _search_subject(client: IMAPClient, text: str) -> list[int]:
    client.select_folder("INBOX")
    return client.search(["SUBJECT", text])


# --------------------------------------------------------------------------- IMAP + TLS


@pytest.mark.parametrize("tls", ["plain", "starttls", "ssl"])
def test_imap_login(dovecot: DovecotServer, tls: str) -> None:
    with dovecot.imap("alice", tls=tls) as client:  # type: ignore[arg-type]
        sock = client.socket()
        assert isinstance(sock, ssl.SSLSocket) == (tls != "plain")
        if tls != "plain":
            cert = sock.getpeercert()
            assert ("DNS", "localhost") in cert["subjectAltName"]
        caps = client.capabilities()
        for cap in (b"IDLE", b"CONDSTORE", b"QRESYNC", b"UIDPLUS", b"MOVE"):
            assert cap in caps
        assert client.select_folder("INBOX")[b"UIDVALIDITY"] > 0


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_verification_fails_without_the_test_ca(dovecot: DovecotServer, tls: str) -> None:
    system_trust = ssl.create_default_context()  # the machine's CAs only
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        dovecot.imap(None, tls=tls, ssl_context=system_trust)  # type: ignore[arg-type]


def test_tls_verification_checks_the_hostname(dovecot: DovecotServer) -> None:
    ctx = dovecot.ssl_context()
    raw = socket.create_connection((dovecot.host, dovecot.imaps_port), timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|doesn't match"):
        ctx.wrap_socket(raw, server_hostname="imap.example.test")
    raw.close()


def test_wrong_imap_password_is_refused(dovecot: DovecotServer) -> None:
    # From 127.0.0.2: Dovecot's per-IP auth penalty (about 4 s on the next login, growing with
    # each failure) must not land on the other tests' logins from 127.0.0.1.
    with dovecot.imap(None, tls="starttls", source_ip=BAD_LOGIN_SOURCE_IP) as client:
        assert client.socket().getsockname()[0] == BAD_LOGIN_SOURCE_IP
        with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
            client.login("alice", "not-the-password")


# --------------------------------------------------------------------------- delivery


def test_lmtp_delivery_is_visible_via_search_and_fetch(clean_mailbox: DovecotServer) -> None:
    marker = _marker()
    raw = make_message(f"Report {marker}", body=f"The body mentions {marker}-body.\n")
    clean_mailbox.deliver("alice", raw)
    clean_mailbox.deliver("bob", make_message("for bob only"))
    with clean_mailbox.imap("alice") as client:
        uids = _search_subject(client, marker)
        assert len(uids) == 1
        assert client.search(["BODY", f"{marker}-body"]) == uids
        data = client.fetch(uids, ["ENVELOPE", "BODY.PEEK[]", "FLAGS"])[uids[0]]
        assert data[b"ENVELOPE"].subject.decode() == f"Report {marker}"
        fetched = data[b"BODY[]"]
        assert fetched.endswith(raw)  # LMTP prepends Return-Path/Delivered-To/Received
        assert b"Delivered-To: alice@example.test" in fetched
        assert client.search(["SUBJECT", "for bob only"]) == []


def test_append_creates_folder_and_keeps_flags(clean_mailbox: DovecotServer) -> None:
    uid = clean_mailbox.append("bob", "Archive.2024", make_message("old"), flags=[r"\Seen"])
    assert uid == 1
    assert "Archive.2024" in clean_mailbox.folders("bob")
    with clean_mailbox.imap("bob", tls="ssl") as client:
        client.select_folder("Archive.2024", readonly=True)
        assert rb"\Seen" in client.get_flags([uid])[uid]


def test_reset_user_empties_everything(dovecot: DovecotServer) -> None:
    dovecot.append("alice", "Projects.Deep.Er", make_message("x"))
    dovecot.deliver("alice", make_message("y"))
    dovecot.reset_user("alice")
    assert dovecot.folders("alice") == ["INBOX"]
    with dovecot.imap("alice") as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_condstore_changedsince(clean_mailbox: DovecotServer) -> None:
    for i in range(3):
        clean_mailbox.deliver("alice", make_message(f"cs {i}"))
    with clean_mailbox.imap("alice") as client:
        assert set(client.enable("CONDSTORE", "QRESYNC")) == {b"CONDSTORE", b"QRESYNC"}
        info = client.select_folder("INBOX")
        modseq = info[b"HIGHESTMODSEQ"]
        uids = client.search(["ALL"])
        assert len(uids) == 3
        client.add_flags([uids[1]], [r"\Flagged"])
        changed = client.fetch(uids, ["FLAGS"], modifiers=[f"CHANGEDSINCE {modseq}"])
        assert list(changed) == [uids[1]]
        assert changed[uids[1]][b"MODSEQ"][0] > modseq
        assert rb"\Flagged" in changed[uids[1]][b"FLAGS"]


def test_idle_pushes_a_message_delivered_elsewhere(clean_mailbox: DovecotServer) -> None:
    with clean_mailbox.imap("alice") as watcher:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            t0 = time.monotonic()
            clean_mailbox.deliver("alice", make_message("pushed"))  # its own LMTP connection
            responses: list[tuple[object, ...]] = []
            while time.monotonic() - t0 < 5.0 and not any(
                len(r) > 1 and r[1] == b"EXISTS" for r in responses
            ):
                responses += watcher.idle_check(timeout=0.5)
        finally:
            watcher.idle_done()
        assert (1, b"EXISTS") in responses, responses


# --------------------------------------------------------------------------- SMTP


def test_smtp_starttls_auth_delivers_into_dovecot(
    clean_smtp: SmtpServer, clean_mailbox: DovecotServer
) -> None:
    marker = _marker()
    raw = make_message(
        f"smtp {marker}", sender="alice@example.test", to=["bob@example.test", "x@elsewhere.test"]
    )
    with smtplib.SMTP(clean_smtp.host, clean_smtp.port, "localhost", timeout=10) as s:
        s.starttls(context=clean_smtp.ssl_context())
        s.login("alice", clean_smtp.users["alice"])
        s.sendmail("alice@example.test", ["bob@example.test", "x@elsewhere.test"], raw)
    (got,) = clean_smtp.wait_for(1)
    assert got.mail_from == "alice@example.test"
    assert got.rcpt_tos == ["bob@example.test", "x@elsewhere.test"]
    assert got.auth_user == "alice" and got.tls and got.port == clean_smtp.port
    assert got.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert got.message["Subject"] == f"smtp {marker}"
    assert got.delivered_to == ["bob"]
    with clean_mailbox.imap("bob") as client:
        assert len(_search_subject(client, marker)) == 1


async def test_aiosmtplib_full_loop(clean_smtp: SmtpServer, clean_mailbox: DovecotServer) -> None:
    marker = _marker()
    common = {
        "hostname": clean_smtp.host,
        "username": "bob",
        "password": clean_smtp.users["bob"],
        "tls_context": clean_smtp.ssl_context(),
        "local_hostname": "localhost",
        "timeout": 10,
    }
    # Submission port with STARTTLS, then the implicit-TLS port.
    await aiosmtplib.send(
        make_message(f"a {marker}", sender="bob@example.test"),
        sender="bob@example.test",
        recipients=["alice@example.test"],
        port=clean_smtp.port,
        start_tls=True,
        **common,
    )
    await aiosmtplib.send(
        make_message(f"b {marker}", sender="bob@example.test"),
        sender="bob@example.test",
        recipients=["alice@example.test", "bob@example.test"],
        port=clean_smtp.tls_port,
        use_tls=True,
        **common,
    )
    first, second = clean_smtp.wait_for(2)
    assert first.port == clean_smtp.port and second.port == clean_smtp.tls_port
    assert first.tls and second.tls and second.auth_user == "bob"
    assert second.delivered_to == ["alice", "bob"]
    with clean_mailbox.imap("alice") as client:
        assert len(_search_subject(client, marker)) == 2
    with clean_mailbox.imap("bob") as client:
        assert len(_search_subject(client, marker)) == 1


def test_smtp_refuses_auth_and_mail_before_starttls(clean_smtp: SmtpServer) -> None:
    with smtplib.SMTP(clean_smtp.host, clean_smtp.port, "localhost", timeout=10) as s:
        s.ehlo()
        assert not s.has_extn("auth")
        assert s.has_extn("starttls")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            s.login("alice", clean_smtp.users["alice"])
        code, _ = s.docmd("AUTH", "PLAIN AGFsaWNlAHNlY3JldA==")
        assert code == 530
        code, _ = s.mail("alice@example.test")
        assert code == 530
    assert clean_smtp.messages == []


def test_smtp_requires_auth_after_starttls(clean_smtp: SmtpServer) -> None:
    with smtplib.SMTP(clean_smtp.host, clean_smtp.port, "localhost", timeout=10) as s:
        s.starttls(context=clean_smtp.ssl_context())
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            s.sendmail("alice@example.test", ["bob@example.test"], make_message())
        assert info.value.smtp_code == 530


def test_wrong_smtp_password_is_refused(clean_smtp: SmtpServer) -> None:
    with smtplib.SMTP_SSL(
        clean_smtp.host,
        clean_smtp.tls_port,
        "localhost",
        timeout=10,
        context=clean_smtp.ssl_context(),
    ) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as info:
            s.login("alice", "wrong")
        assert info.value.smtp_code == 535
    assert clean_smtp.auth_failures >= 1  # smtplib retries the next mechanism (LOGIN)


def test_smtp_refuses_unknown_local_recipient(clean_smtp: SmtpServer) -> None:
    with smtplib.SMTP(clean_smtp.host, clean_smtp.port, "localhost", timeout=10) as s:
        s.starttls(context=clean_smtp.ssl_context())
        s.login("alice@example.test", clean_smtp.users["alice"])
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            s.sendmail("alice@example.test", ["nobody@example.test"], make_message())
        assert info.value.recipients["nobody@example.test"][0] == 550


# --------------------------------------------------------------------------- lifecycle


def test_standalone_server_lifecycle(tls_ca: object) -> None:
    pytest.importorskip("imapclient")
    from tests.support.servers.dovecot import dovecot_available

    if not dovecot_available():
        pytest.skip("dovecot is not installed")
    with DovecotServer({"carol": "pw"}) as server:
        assert server.start_seconds < 5
        base = server.base_dir
        assert base is not None and (base / "dovecot.log").exists()
        server.deliver("carol", make_message("standalone"))
        with server.imap("carol", tls="ssl") as client:
            assert client.select_folder("INBOX")[b"EXISTS"] == 1
        port = server.imaps_port
    assert not server.running
    assert not port_accepts("127.0.0.1", port)
    assert not base.exists()
