"""The embedded demo: a small, believable store a newcomer sees on first start.

Built from code (no binary fixtures), deterministic, and written into its own
database under the data dir so it never mixes with real mail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from services.mime.parse import parse_message
from services.models import Address, ChannelKind, Flag, Message
from services.store import Store

DEMO_ACCOUNT = "demo"
_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

_PEOPLE = {
    "ana": ("Ana Lima", "ana.lima@northwind.example"),
    "ben": ("Ben Okafor", "ben@okafor.example"),
    "chloe": ("Chloé Martin", "chloe.martin@acme.example"),
    "dmitri": ("Дмитрий Петров", "dmitri@petrov.example"),
    "yuki": ("佐藤 由紀", "yuki.sato@example.jp"),
    "me": ("You", "you@commhub.example"),
}

_THREADS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Quarterly report draft",
        [
            (
                "ana",
                "Hi! Attached is the first draft of the Q3 report. Could you check the "
                "revenue table before Friday?",
                "report-q3.pdf",
            ),
            ("me", "Thanks Ana, the table looks right. One typo on page 4.", ""),
            (
                "ana",
                "Fixed, new version attached. Sending to the board tomorrow.",
                "report-q3-v2.pdf",
            ),
        ],
    ),
    (
        "Lunch on Thursday?",
        [
            ("ben", "There's a new ramen place near the office. Thursday at 12:30?", ""),
            ("me", "Count me in.", ""),
        ],
    ),
    (
        "Réunion de lancement — projet Aurore",
        [
            (
                "chloe",
                "Bonjour, la réunion de lancement est confirmée pour lundi 10h. "
                "L'ordre du jour est en pièce jointe.",
                "ordre-du-jour.txt",
            ),
        ],
    ),
    (
        "Отчёт о поездке",
        [
            ("dmitri", "Привет! Фотографии с конференции во вложении.", "photo.png"),
            ("me", "Спасибо, отличные фотографии!", ""),
        ],
    ),
    (
        "来週の打ち合わせ",
        [
            ("yuki", "来週の打ち合わせは火曜日の午後3時でいかがでしょうか。", ""),
        ],
    ),
    (
        "Urgent: server certificate expires tomorrow",
        [
            (
                "ben",
                "Heads-up: the TLS certificate on mail.example expires tomorrow. "
                "Renewal is scheduled, please don't restart the proxy today.",
                "",
            ),
        ],
    ),
]

_PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e5270ddb0000000049454e44ae426082"
)


def _attachment_bytes(name: str) -> tuple[bytes, str, str]:
    if name.endswith(".png"):
        return _PNG_1PX, "image", "png"
    if name.endswith(".pdf"):
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        return pdf, "application", "pdf"
    return b"1. Introductions\n2. Planning\n3. Budget\n", "text", "plain"


def _email(
    subject: str,
    idx: int,
    sender: str,
    body: str,
    attachment: str,
    when: datetime,
    parent: EmailMessage | None,
) -> EmailMessage:
    msg = EmailMessage()
    name, addr = _PEOPLE[sender]
    other = _PEOPLE["me"] if sender != "me" else _PEOPLE["ana"]
    msg["From"] = str(Address(addr, name))
    msg["To"] = str(Address(other[1], other[0]))
    msg["Subject"] = subject if parent is None else f"Re: {subject}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(idstring=f"demo{idx}", domain="commhub.example")
    if parent is not None:
        refs = (parent.get("References", "") + " " + parent["Message-ID"]).strip()
        msg["In-Reply-To"] = parent["Message-ID"]
        msg["References"] = refs
    if "Urgent" in subject:
        msg["X-Priority"] = "1"
    msg.set_content(body + "\n")
    if attachment:
        data, maintype, subtype = _attachment_bytes(attachment)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment)
    return msg


def demo_messages() -> list[tuple[Message, bytes]]:
    """Every demo message with its raw bytes, ready for ``Store.ingest``."""
    items: list[tuple[Message, bytes]] = []
    idx = 0
    for t, (subject, turns) in enumerate(_THREADS):
        parent: EmailMessage | None = None
        for n, (sender, body, attachment) in enumerate(turns):
            idx += 1
            when = _NOW - timedelta(days=len(_THREADS) - t, hours=6 - 2 * n)
            em = _email(subject, idx, sender, body, attachment, when, parent)
            raw = em.as_bytes()
            folder = "Sent" if sender == "me" else "INBOX"
            message = parse_message(
                raw, account=DEMO_ACCOUNT, folder=folder, remote_id=f"demo-{idx}"
            )
            seen = sender == "me" or t % 2 == 0
            flags = {Flag.SEEN} if seen else set()
            if "Urgent" in subject:
                flags.add(Flag.FLAGGED)
            items.append((message.with_changes(flags=frozenset(flags)), raw))
            parent = em
    for n, (sender, text) in enumerate(
        [
            ("+15550100", "Your table for two is confirmed for 19:30 tonight."),
            ("+15550142", "Running 10 min late, start without me"),
            ("+15550142", "Here now, where are you sitting?"),
        ]
    ):
        when = _NOW - timedelta(hours=5 - n)
        payload = {"from": sender, "to": "+15550199", "body": text, "date": when.isoformat()}
        raw = json.dumps(payload, ensure_ascii=False).encode()
        items.append(
            (
                Message(
                    channel=ChannelKind.SMS,
                    account="demo-sms",
                    folder="SMS",
                    remote_id=f"sms-{n}",
                    sender=Address(sender),
                    to=(Address("+15550199"),),
                    subject="",
                    date=when,
                    snippet=text,
                    body_text=text,
                    size=len(raw),
                    flags=frozenset({Flag.SEEN}) if n else frozenset(),
                ),
                raw,
            )
        )
    when = _NOW - timedelta(hours=1)
    chat = {
        "channel": "#release",
        "user": "ben",
        "text": "Release 0.1 is tagged, notes are in the wiki",
    }
    raw = json.dumps(chat, ensure_ascii=False).encode()
    items.append(
        (
            Message(
                channel=ChannelKind.CHAT,
                account="demo-chat",
                folder="#release",
                remote_id="chat-1",
                sender=Address("@ben", "Ben Okafor"),
                subject="",
                date=when,
                snippet=chat["text"],
                body_text=chat["text"],
                size=len(raw),
            ),
            raw,
        )
    )
    return items


def open_demo_store(path: Path) -> Store:
    """Open (creating and filling on first use) the demo store at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(path)
    if not store.accounts():
        store.ensure_account(DEMO_ACCOUNT, "demo", address=_PEOPLE["me"][1])
        store.ensure_account("demo-sms", "demo", channel=ChannelKind.SMS, address="+15550199")
        store.ensure_account("demo-chat", "demo", channel=ChannelKind.CHAT, address="@you")
        store.ingest(demo_messages())
    return store
