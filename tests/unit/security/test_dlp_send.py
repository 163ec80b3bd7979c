"""DLP and audit on the real send path: compose().send() through the outbox to aiosmtpd.

A blocked message never reaches the server, the send returns ``success=False`` with the
policy's reason, and both outcomes are in the audit log; the spec's audit snippet runs
as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services import CommManager, SecurityConfig
from services.models import Flag
from services.security.secrets import MemorySecrets
from tests.support.servers.smtp import SmtpServer
from tests.support.tls import TestCA


@pytest.fixture(scope="module")
def smtp(tls_ca: TestCA) -> Iterator[SmtpServer]:
    with SmtpServer(tls_ca) as server:
        yield server


@pytest.fixture
def comm(tmp_path: Path) -> Iterator[CommManager]:
    config = SecurityConfig(audit_all_communications=True, data_loss_prevention=True)
    with CommManager(data_dir=tmp_path, security_config=config,
                     secrets=MemorySecrets()) as manager:
        yield manager


def smtp_settings(server: SmtpServer, tls_ca: TestCA) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "security": "starttls",
            "username": "alice", "password": server.users["alice"],
            "ca_file": str(tls_ca.ca_pem), "address": "alice@example.test", "timeout": 10}


def test_dlp_blocks_valid_card_and_lets_invalid_pass(
    comm: CommManager, smtp: SmtpServer, tls_ca: TestCA
) -> None:
    smtp.clear()
    account = comm.email("smtp", **smtp_settings(smtp, tls_ca))

    blocked = (account.compose().to("bob@example.test").subject("Invoice")
               .body("Card: 4111 1111 1111 1111, exp 12/29").send())
    assert not blocked.success
    assert blocked.error is not None and "payment card number" in blocked.error
    assert "•••• 1111" in blocked.error and "4111 1111 1111 1111" not in blocked.error
    assert smtp.messages == []  # never left the machine

    passed = (account.compose().to("bob@example.test").subject("Invoice")
              .body("Card: 4111 1111 1111 1112, exp 12/29").send())
    assert passed.success, passed.error
    (received,) = smtp.wait_for(1)
    assert "4111 1111 1111 1112" in received.message.get_content()

    log = comm.get_audit_log(message_types=["dlp-blocked", "sent"])
    assert [e.event for e in log] == ["dlp-blocked", "sent"]
    assert log[0].details["findings"] == "card-number" and log[0].user == "alice@example.test"
    assert log[1].object_id == passed.message_id and log[1].channel == "email"
    assert all("4111" not in str(e.to_dict()) for e in comm.audit_log.entries())
    assert comm.audit_log.verify().ok


def test_warning_kinds_are_sent_and_audited(
    comm: CommManager, smtp: SmtpServer, tls_ca: TestCA
) -> None:
    smtp.clear()
    account = comm.email("smtp", **smtp_settings(smtp, tls_ca))
    result = account.send_message("bob@example.test", "Pay", "IBAN DE89370400440532013000")
    assert result.success
    assert [e.event for e in comm.get_audit_log()] == ["dlp-warned", "sent"]


def test_without_dlp_nothing_is_scanned(tmp_path: Path, smtp: SmtpServer, tls_ca: TestCA) -> None:
    smtp.clear()
    with CommManager(data_dir=tmp_path, secrets=MemorySecrets()) as comm:
        account = comm.email("smtp", **smtp_settings(smtp, tls_ca))
        assert account.send_message("bob@example.test", "x", "4111 1111 1111 1111").success
        assert comm.get_audit_log() == []  # auditing is off by default
    assert len(smtp.wait_for(1)) == 1


def test_spec_audit_query(tmp_path: Path) -> None:
    """The spec's get_audit_log call (run literally, with the real keyring, in
    test_audit_cli.py); here with the keyring stand-in."""
    secrets = MemorySecrets()
    with CommManager(audit_logging=True, secrets=secrets, data_dir=tmp_path) as setup:
        setup.audit_log.record("sent", user="admin@company.com", channel="email",
                               object_id="<1@company.com>")
        setup.audit_log.record("read", user="admin@company.com", channel="email")
        setup.audit_log.record("deleted", user="someone@company.com", channel="email")
    with CommManager(audit_logging=True, compliance_mode="GDPR", data_retention_days=2555,
                     secrets=secrets, data_dir=tmp_path) as comm:
        audit_log = comm.get_audit_log(
            date_range=("2024-01-01", "2099-12-31"),
            message_types=["sent", "received", "deleted"],
            users=["admin@company.com"]
        )
        assert [(e.event, e.object_id) for e in audit_log] == [("sent", "<1@company.com>")]
        assert comm.get_audit_log(date_range=("2024-01-01", "2024-12-31")) == []
        assert len(comm.get_audit_log(users="someone@company.com")) == 1
        with pytest.raises(ValueError, match="ends before it starts"):
            comm.get_audit_log(date_range=("2024-02-01", "2024-01-01"))
        with pytest.raises(ValueError, match="not a date"):
            comm.get_audit_log(date_range=("yesterday", None))


def test_read_receive_delete_and_account_changes_are_audited(tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(
        b"From: a@example.org\r\nTo: me@example.org\r\nSubject: hi\r\n"
        b"Message-ID: <read-me@example.org>\r\n\r\nhello\r\n"
    )
    with CommManager(data_dir=tmp_path / "d", audit_logging=True,
                     secrets=MemorySecrets()) as comm:
        comm.add_account("work", "imap", {"address": "me@example.org"})
        assert comm.import_path(maildir).added == 1
        (stored,) = comm.search("")
        account = comm.email("smtp", host="127.0.0.1", port=2, address="me@example.org",
                             account="work")  # never connects: only reading here
        message = account.get(stored.id)
        message.mark_as_read()
        assert Flag.SEEN in message.flags and Flag.SEEN in comm.get(stored.id).flags
        assert comm.store.delete([stored.id]) == 1
        comm.remove_account("work")
        events = [(e.event, e.object_id, e.details.get("action"))
                  for e in comm.get_audit_log()]
        (received,) = comm.get_audit_log(message_types=["received"])
        assert received.details == {"count": "1", "source": "store"}
        assert comm.audit_log.verify().ok
    assert ("received", f"local:{stored.id}", None) in events
    assert ("deleted", f"local:{stored.id}", None) in events
    assert ("settings", "work", "account-added") in events
    assert ("settings", "work", "account-removed") in events
    assert ("read", "read-me@example.org", None) in events
