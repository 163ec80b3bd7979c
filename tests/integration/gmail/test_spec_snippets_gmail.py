"""The spec's e-mail snippets, run as written against the local Gmail fake.

Only the set-up differs from the spec: the manager gets a keyring stand-in holding a
sign-in, and ``api_endpoint`` points the real Google client library at the fake.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from services import CommManager, EmailQuery, SortOrder
from services.email.gmail.auth import SECRET_KEY
from services.security.secrets import MemorySecrets
from tests.fakes.gmail import GmailFake
from tests.support.mail import make_message


def with_pdf(subject: str, sender: str, body: str = "see attached") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "alice@example.test", subject
    msg["Message-ID"] = make_msgid(domain="company.example")
    msg.set_content(body)
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf",
                       filename="invoice.pdf")
    return msg.as_bytes()


@pytest.fixture
def comm(tmp_path: Path, gmail_fake: GmailFake) -> CommManager:
    secrets = MemorySecrets()
    past = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)
    secrets.set("gmail", SECRET_KEY, json.dumps({
        "refresh_token": gmail_fake.oauth.issue_refresh_token(), "token": "stale",
        "expiry": past.isoformat(), "scopes": ["https://www.googleapis.com/auth/gmail.modify"],
    }))
    manager = CommManager(data_dir=tmp_path / "data", secrets=secrets)
    yield manager
    manager.close()


def test_spec_compose_attach_send_against_gmail_fake(
    comm: CommManager, gmail_fake: GmailFake, client_secrets: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("report.pdf").write_bytes(b"%PDF-1.4\n% quarterly report\n")
    gmail = comm.gmail(credentials_path=str(client_secrets), api_endpoint=gmail_fake.endpoint,
                       address="alice@example.test")

    # -- as in the spec -----------------------------------------------------------
    message = gmail.compose()
    message.to("recipient@example.com")
    message.subject("Project Update")
    message.body("Please find attached documents.")
    message.attach("report.pdf")
    result = message.send()
    # -----------------------------------------------------------------------------
    assert result.success, result.error
    assert result.message_id and result.provider == "gmail"
    assert len(gmail_fake.sent) == 1
    sent = gmail_fake.by_message_id(result.message_id)
    assert sent is not None and "SENT" in sent.labels
    assert b"report.pdf" in gmail_fake.sent[0] and b"Project Update" in gmail_fake.sent[0]

    again = gmail.send_message("user@example.com", "Subject", "Body content")
    assert again.success and len(gmail_fake.sent) == 2


def test_spec_search_and_processing_loop_against_gmail_fake(
    comm: CommManager, gmail_fake: GmailFake, client_secrets: Path, tmp_path: Path
) -> None:
    wanted = gmail_fake.add_message(with_pdf("Contract", "client@company.com", "signed copy"))
    gmail_fake.add_message(make_message("Hello", sender="client@company.com", body="no files"))
    gmail_fake.add_message(with_pdf("Other", "someone@else.example"))
    gmail = comm.gmail(credentials_path=str(client_secrets), api_endpoint=gmail_fake.endpoint)
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
    assert [m.remote_id for m in messages] == [wanted]
    assert (downloads / "invoice.pdf").read_bytes() == b"%PDF-1.4 invoice"
    assert "UNREAD" not in gmail_fake.messages[wanted].labels  # reached the server
    assert gmail.search(EmailQuery().from_sender("client@company.com").is_unread()
                        .sort_by("date", SortOrder.DESC))[0].subject == "Hello"
