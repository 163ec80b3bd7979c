"""Real stores for the UI tests (built from code, no binary fixtures)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from PIL import Image

from services.mime.parse import parse_message
from services.models import Address, ChannelKind, Flag, Message
from services.store import Store

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def png_bytes(w: int = 64, h: int = 48, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 280), (30, 90, 200)).save(
        out, "PDF", creationDate=NOW.timetuple(), modDate=NOW.timetuple()  # same bytes always
    )
    return out.getvalue()


def bulk_messages(
    n: int, *, account: str = "bulk", start: datetime = NOW
) -> list[tuple[Message, bytes]]:
    """``n`` small chat-like messages, one a minute going back from ``start``; every
    third unread, every seventh flagged."""
    items = []
    for i in range(n):
        when = start - timedelta(minutes=i)
        text = f"bulk message {i} about topic{i % 10}"
        raw = json.dumps({"n": i, "text": text}).encode()
        flags = set() if i % 3 == 0 else {Flag.SEEN}
        if i % 7 == 0:
            flags.add(Flag.FLAGGED)
        items.append((Message(
            channel=ChannelKind.CHAT, account=account, folder="general", remote_id=f"b{i}",
            sender=Address(f"@user{i % 13}", f"User {i % 13:02d}"), subject=f"Subject {i:06d}",
            date=when, snippet=text, body_text=text, size=len(raw), flags=frozenset(flags),
        ), raw))
    return items


def email(
    subject: str, sender: tuple[str, str], body: str, *, when: datetime, msgid: str,
    html: str | None = None, parent: EmailMessage | None = None,
    attachments: tuple[tuple[str, bytes, str, str], ...] = (),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = str(Address(sender[1], sender[0]))
    msg["To"] = "You <you@example.org>"
    msg["Subject"] = subject if parent is None else f"Re: {subject}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{msgid}@example.org>"
    if parent is not None:
        msg["In-Reply-To"] = parent["Message-ID"]
        msg["References"] = parent["Message-ID"]
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, maintype, subtype in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


ANA = ("Ana Lima", "ana@northwind.example")
BEN = ("Ben Okafor", "ben@okafor.example")
PHISH_HTML = (
    '<p>Hello <b>you</b></p><script>document.title="pwned"</script>'
    '<img src="https://tracker.example/pixel.png" alt="tracker">'
    '<p onclick="alert(1)">Please log in at '
    '<a href="https://evil.example/login">www.mybank.example</a> or '
    '<a href="https://docs.northwind.example/q3">docs.northwind.example</a>.</p>'
)


def mail_items() -> list[tuple[Message, bytes]]:
    """A small mailbox: a three-message thread with PNG and PDF attachments, an HTML
    message with a tracker image, a script and a misleading link, plus two SMS."""
    out: list[tuple[Message, bytes]] = []
    first = email("Quarterly report", ANA, "Draft attached, see the revenue table.",
                  when=NOW - timedelta(days=2), msgid="q1",
                  attachments=(("chart.png", png_bytes(), "image", "png"),))
    second = email("Quarterly report", ("You", "you@example.org"), "Looks right.",
                   when=NOW - timedelta(days=1, hours=12), msgid="q2", parent=first)
    third = email("Quarterly report", ANA, "Final version attached.",
                  when=NOW - timedelta(days=1), msgid="q3", parent=second,
                  attachments=(("report.pdf", pdf_bytes(), "application", "pdf"),
                               ("../../etc/notes.txt", b"line one\nline two\n", "text", "plain")))
    phish = email("Your account", BEN, "Plain fallback text", html=PHISH_HTML,
                  when=NOW - timedelta(hours=5), msgid="p1")
    for i, (em, folder) in enumerate(((first, "INBOX"), (second, "Sent"), (third, "INBOX"),
                                      (phish, "INBOX"))):
        raw = em.as_bytes()
        m = parse_message(raw, account="work", folder=folder, remote_id=f"w{i}")
        flags = frozenset({Flag.SEEN}) if folder == "Sent" else frozenset()
        out.append((m.with_changes(flags=flags), raw))
    for n, text in enumerate(("Table for two at 19:30", "Running late")):
        raw = json.dumps({"n": n, "text": text}).encode()
        out.append((Message(
            channel=ChannelKind.SMS, account="phone", folder="SMS", remote_id=f"s{n}",
            sender=Address("+15550100"), date=NOW - timedelta(hours=3 - n), snippet=text,
            body_text=text, size=len(raw),
        ), raw))
    return out


def mail_store(path: Path) -> Store:
    store = Store.open(path)
    store.ensure_account("work", "maildir", address="you@example.org")
    store.ensure_account("phone", "twilio", channel=ChannelKind.SMS, address="+15550199")
    store.ingest(mail_items())
    return store


def bulk_store(path: Path, n: int) -> Store:
    store = Store.open(path)
    store.ensure_account("bulk", "demo", channel=ChannelKind.CHAT)
    store.ingest(bulk_messages(n))
    return store
