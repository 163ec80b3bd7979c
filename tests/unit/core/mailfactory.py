"""Tiny helpers to write real messages into Maildirs/mboxes for the core tests."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path


def make_email(
    n: int,
    *,
    sender: str = "Alice Example <alice@example.com>",
    to: str = "Bob <bob@example.org>",
    subject: str | None = None,
    body: str = "hello there",
    reply_to: EmailMessage | None = None,
    attachment: tuple[str, bytes] | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject if subject is not None else f"message number {n}"
    msg["Date"] = format_datetime(date or datetime(2024, 3, 1 + n % 27, 12, 0, tzinfo=UTC))
    msg["Message-ID"] = f"<m{n}@test.example>"
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = (reply_to.get("References", "") + " " + reply_to["Message-ID"]).strip()
    msg.set_content(body + "\n")
    if attachment:
        msg.add_attachment(
            attachment[1], maintype="application", subtype="pdf", filename=attachment[0]
        )
    return msg


def write_maildir(root: Path, messages: list[EmailMessage], folder: str = "") -> Path:
    base = root / folder if folder else root
    for sub in ("cur", "new", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for i, msg in enumerate(messages):
        (base / "cur" / f"17000000{i:02d}.M{i}P1.test:2,S").write_bytes(msg.as_bytes())
    return root
