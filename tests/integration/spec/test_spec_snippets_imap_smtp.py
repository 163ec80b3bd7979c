"""The spec's e-mail snippets, run as written against a real Dovecot + aiosmtpd pair.

Set-up only: ``comm.email("imap", ...)`` with the test servers' ports and CA; the
password goes to a keyring stand-in (never the store).  Mail sent through aiosmtpd
is delivered into Dovecot over LMTP, so send → receive is one real loop.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from services import CommManager, EmailQuery, SortOrder
from services.security.secrets import MemorySecrets
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer


def _settings(dovecot: DovecotServer, smtp: SmtpServer, user: str) -> dict[str, Any]:
    common = {"host": "127.0.0.1", "username": user, "ca_file": str(dovecot.ca_pem)}
    return {
        "address": f"{user}@example.test",
        "imap": {**common, "port": dovecot.imap_port, "security": "starttls", "timeout": 10.0},
        "smtp": {**common, "port": smtp.port, "security": "starttls", "timeout": 10.0},
        "password": dovecot.users[user],
    }


@pytest.fixture
def comm(tmp_path: Path) -> CommManager:
    manager = CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets())
    yield manager
    manager.close()


def _wait_for_subject(dovecot: DovecotServer, user: str, subject: str, timeout: float = 5) -> int:
    deadline = time.monotonic() + timeout
    with dovecot.imap(user) as client:
        while True:
            client.select_folder("INBOX")
            found = client.search(["SUBJECT", subject])
            if found or time.monotonic() > deadline:
                return len(found)
            time.sleep(0.1)


def test_spec_compose_attach_send_through_smtp_into_dovecot(
    comm: CommManager, clean_mailbox: DovecotServer, clean_smtp: SmtpServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("report.pdf").write_bytes(b"%PDF-1.4\n% quarterly report\n")
    email_provider = comm.email("imap", **_settings(clean_mailbox, clean_smtp, "alice"))

    # -- as in the spec -----------------------------------------------------------
    message = email_provider.compose()
    message.to("bob@example.test")
    message.subject("Project Update")
    message.body("Please find attached documents.")
    message.attach("report.pdf")
    result = message.send()
    # -----------------------------------------------------------------------------
    assert result.success, result.error
    assert result.message_id and result.provider == "smtp"
    assert _wait_for_subject(clean_mailbox, "bob", "Project Update") == 1
    with clean_mailbox.imap("alice") as client:  # a copy filed in alice's Sent folder
        client.select_folder("Sent")
        assert len(client.search(["HEADER", "Message-ID", result.message_id])) == 1
    assert "password" not in str(comm.accounts()[0].config)

    # the spec's provider-agnostic loop, with chaining
    again = email_provider.compose()
    again.to("bob@example.test").subject("Test").body("Hello")
    assert again.send().success
    assert _wait_for_subject(clean_mailbox, "bob", "Test") == 1


def _with_pdf(subject: str, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "alice@example.test", subject
    msg["Message-ID"] = make_msgid(domain="company.example")
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF-1.4 signed", maintype="application", subtype="pdf",
                       filename="contract.pdf")
    return msg.as_bytes()


def test_spec_search_and_processing_loop_against_dovecot(
    comm: CommManager, clean_mailbox: DovecotServer, clean_smtp: SmtpServer, tmp_path: Path
) -> None:
    clean_mailbox.deliver("alice", _with_pdf("Contract", "client@company.com"))
    clean_mailbox.deliver("alice", _with_pdf("Old contract", "someone@else.example"))
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "client@company.com", "alice@example.test", "Hi"
    plain.set_content("no files")
    clean_mailbox.deliver("alice", plain.as_bytes())
    gmail = comm.email("imap", **_settings(clean_mailbox, clean_smtp, "alice"))
    downloads = tmp_path / "downloads"

    # -- as in the spec -----------------------------------------------------------
    messages = gmail.search(
        EmailQuery()
        .from_sender("client@company.com")
        .has_attachment()
        .is_unread()
        .limit(20)
    )
    for message in messages:
        print(f"From: {message.sender}")
        print(f"Subject: {message.subject}")
        print(f"Attachments: {len(message.attachments)}")
        if message.has_pdf_attachment():
            message.download_attachments(str(downloads))
            message.mark_as_read()
    # -----------------------------------------------------------------------------
    assert [m.subject for m in messages] == ["Contract"]
    assert (downloads / "contract.pdf").read_bytes() == b"%PDF-1.4 signed"
    with clean_mailbox.imap("alice") as client:  # \Seen reached the server
        client.select_folder("INBOX")
        assert len(client.search(["SEEN", "SUBJECT", "Contract", "FROM", "client"])) == 1
    unread = gmail.search(EmailQuery().from_sender("client@company.com").is_unread()
                          .sort_by("date", SortOrder.DESC))
    assert [m.subject for m in unread] == ["Hi"]


def test_draft_saved_locally_and_in_the_servers_drafts_folder(
    comm: CommManager, clean_mailbox: DovecotServer, clean_smtp: SmtpServer
) -> None:
    from services.store import outbox as outbox_rows

    account = comm.email("imap", **_settings(clean_mailbox, clean_smtp, "alice"))
    draft = account.compose().to("bob@example.test").subject("Half written").body("to be cont")
    message_id = draft.save_draft()
    row = outbox_rows.get(comm.store, message_id)
    assert row is not None and row.status == "draft"
    with clean_mailbox.imap("alice") as client:
        client.select_folder("Drafts")
        uids = client.search(["HEADER", "Message-ID", message_id])
        assert len(uids) == 1
        assert b"\\Draft" in client.get_flags(uids)[uids[0]]
    assert clean_smtp.messages == []  # nothing was sent
