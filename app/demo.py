"""The embedded demo workspace: realistic mail that needs no account and never leaves the machine.

:class:`DemoWorkspace` keeps everything under one folder of the data dir:

* a local Maildir (``Maildir/``) seeded on first use with threads, a PDF report, photos
  and an invoice (real PDF/JPEG bytes made from code, deterministic), indexed into the
  demo's own store (``commhub-demo.sqlite3``) as the local account ``demo``;
* the SMS and chat samples, stored directly;
* an in-process SMTP server (aiosmtpd) on 127.0.0.1 with an ephemeral port, started on
  the running asyncio loop: everything it accepts is delivered into the Maildir's INBOX
  and indexed, so composing and sending works end to end.  The demo's ``deliver`` goes
  through the real outbox and the real SMTP client, to that server only.

``open_demo_store(path)`` keeps the old one-call entry point (seeded store, no server).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from app.demo_files import jpeg_photo, text_pdf
from services.email.local import LocalMailService
from services.mime.parse import parse_message
from services.models import Address, ChannelKind, Flag, Message, SendResult
from services.store import Store

__all__ = ["DEMO_ACCOUNT", "DEMO_ADDRESS", "DEMO_NOTE", "DemoSmtpServer", "DemoWorkspace",
           "demo_messages", "demo_side_messages", "open_demo_store"]

DEMO_ACCOUNT = "demo"
_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

_PEOPLE = {
    "ana": ("Ana Lima", "ana.lima@northwind.example"),
    "ben": ("Ben Okafor", "ben@okafor.example"),
    "chloe": ("Chloé Martin", "chloe.martin@acme.example"),
    "dmitri": ("Дмитрий Петров", "dmitri@petrov.example"),
    "yuki": ("佐藤 由紀", "yuki.sato@example.jp"),
    "billing": ("Northwind Billing", "billing@northwind.example"),
    "me": ("You", "you@commhub.example"),
}
DEMO_ADDRESS = _PEOPLE["me"][1]
DEMO_NOTE = ("Demo workspace: no account needed. Mail you send here goes to a local server "
             "on this computer and lands in the demo inbox; nothing leaves the machine.")

_THREADS: list[tuple[str, list[tuple[str, str, tuple[str, ...]]]]] = [
    ("Quarterly report draft", [
        ("ana", "Hi! Attached is the first draft of the Q3 report. Could you check the "
                "revenue table before Friday?", ("report-q3.pdf",)),
        ("me", "Thanks Ana, the table looks right. One typo on page 4.", ()),
        ("ana", "Fixed, new version attached. Sending to the board tomorrow.",
         ("report-q3-v2.pdf",)),
    ]),
    ("Lunch on Thursday?", [
        ("ben", "There's a new ramen place near the office. Thursday at 12:30?", ()),
        ("me", "Count me in.", ()),
    ]),
    ("Réunion de lancement — projet Aurore", [
        ("chloe", "Bonjour, la réunion de lancement est confirmée pour lundi 10h. "
                  "L'ordre du jour est en pièce jointe.", ("ordre-du-jour.txt",)),
    ]),
    ("Отчёт о поездке", [
        ("dmitri", "Привет! Фотографии с конференции во вложении.",
         ("lake.jpg", "hills.jpg")),
        ("me", "Спасибо, отличные фотографии!", ()),
    ]),
    ("Invoice INV-2026-0142", [
        ("billing", "Dear customer,\n\nplease find attached invoice INV-2026-0142 for "
                    "November (1,250.00 EUR), due on 5 December.\n\nNorthwind Billing",
         ("INV-2026-0142.pdf",)),
    ]),
    ("来週の打ち合わせ", [
        ("yuki", "来週の打ち合わせは火曜日の午後3時でいかがでしょうか。", ()),
    ]),
    ("Urgent: server certificate expires tomorrow", [
        ("ben", "Heads-up: the TLS certificate on mail.example expires tomorrow. "
                "Renewal is scheduled, please don't restart the proxy today.", ()),
    ]),
]

_SMS = [
    ("+15550100", "Your table for two is confirmed for 19:30 tonight."),
    ("+15550142", "Running 10 min late, start without me"),
    ("+15550142", "Here now, where are you sitting?"),
]


def _attachment_bytes(name: str) -> tuple[bytes, str, str]:
    if name.endswith(".jpg"):
        return jpeg_photo(len(name)), "image", "jpeg"
    if name.startswith("INV-"):
        return text_pdf("Invoice INV-2026-0142", [
            "Northwind Traders, 12 Harbour Street",
            "Bill to: You, Commhub Example Ltd",
            "Consulting, November 2026 ........ 10 h x 125.00 EUR",
            "Total due: 1,250.00 EUR  (by 5 December 2026)",
        ]), "application", "pdf"
    if name.endswith(".pdf"):
        version = "v2" if "v2" in name else "draft"
        return text_pdf(f"Q3 report ({version})", [
            "Revenue: 4.2 M EUR (+12% on Q2)",
            "Costs: 3.1 M EUR",
            "Outlook: steady growth in Q4",
        ]), "application", "pdf"
    return b"1. Introductions\n2. Planning\n3. Budget\n", "text", "plain"


def _email(subject: str, idx: int, sender: str, body: str, attachments: tuple[str, ...],
           when: datetime, parent: tuple[str, EmailMessage] | None) -> EmailMessage:
    msg = EmailMessage()
    name, addr = _PEOPLE[sender]
    other = _PEOPLE["me"] if sender != "me" else _PEOPLE[parent[0] if parent else "ana"]
    msg["From"] = HeaderAddress(display_name=name, addr_spec=addr)
    msg["To"] = HeaderAddress(display_name=other[0], addr_spec=other[1])
    msg["Subject"] = subject if parent is None else f"Re: {subject}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<demo{idx}.{when:%Y%m%d}@commhub.example>"
    if parent is not None:
        refs = (parent[1].get("References", "") + " " + parent[1]["Message-ID"]).strip()
        msg["In-Reply-To"] = parent[1]["Message-ID"]
        msg["References"] = refs
    if "Urgent" in subject:
        msg["X-Priority"] = "1"
    msg.set_content(body + "\n")
    for attachment in attachments:
        data, maintype, subtype = _attachment_bytes(attachment)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment)
    return msg


def demo_emails() -> list[tuple[str, frozenset[Flag], bytes]]:
    """``(folder, flags, raw)`` of every demo e-mail, oldest thread first."""
    out: list[tuple[str, frozenset[Flag], bytes]] = []
    idx = 0
    for t, (subject, turns) in enumerate(_THREADS):
        parent: tuple[str, EmailMessage] | None = None
        for n, (sender, body, attachments) in enumerate(turns):
            idx += 1
            when = _NOW - timedelta(days=len(_THREADS) - t, hours=6 - 2 * n)
            em = _email(subject, idx, sender, body, attachments, when, parent)
            seen = sender == "me" or t % 2 == 0
            flags = {Flag.SEEN} if seen else set()
            if "Urgent" in subject:
                flags.add(Flag.FLAGGED)
            out.append(("Sent" if sender == "me" else "INBOX", frozenset(flags), em.as_bytes()))
            parent = (sender, em) if sender != "me" else (parent[0] if parent else "ana", em)
    return out


def demo_side_messages() -> list[tuple[Message, bytes]]:
    """The SMS and chat samples with their raw bytes."""
    items: list[tuple[Message, bytes]] = []
    for n, (sender, text) in enumerate(_SMS):
        when = _NOW - timedelta(hours=5 - n)
        payload = {"from": sender, "to": "+15550199", "body": text, "date": when.isoformat()}
        raw = json.dumps(payload, ensure_ascii=False).encode()
        items.append((Message(
            channel=ChannelKind.SMS, account="demo-sms", folder="SMS", remote_id=f"sms-{n}",
            sender=Address(sender, "Ben Okafor" if sender == "+15550142" else ""),
            to=(Address("+15550199"),), subject="", date=when, snippet=text, body_text=text,
            size=len(raw), flags=frozenset({Flag.SEEN}) if n else frozenset(),
        ), raw))
    when = _NOW - timedelta(hours=1)
    text = "Release 0.1 is tagged, notes are in the wiki"
    raw = json.dumps({"channel": "#release", "user": "ben", "text": text}).encode()
    items.append((Message(
        channel=ChannelKind.CHAT, account="demo-chat", folder="#release", remote_id="chat-1",
        sender=Address("@ben", "Ben Okafor"), subject="", date=when, snippet=text,
        body_text=text, size=len(raw),
    ), raw))
    return items


def demo_messages() -> list[tuple[Message, bytes]]:
    """Every demo message (e-mail parsed, plus SMS and chat) with its raw bytes."""
    items: list[tuple[Message, bytes]] = []
    for n, (folder, flags, raw) in enumerate(demo_emails()):
        m = parse_message(raw, account=DEMO_ACCOUNT, folder=folder, remote_id=f"demo-{n}")
        items.append((m.with_changes(flags=flags), raw))
    return items + demo_side_messages()


class DemoWorkspace:
    """The demo's Maildir and store; :meth:`start_smtp` adds the local SMTP server."""

    def __init__(self, store: Store, local: LocalMailService) -> None:
        self.store = store
        self.local = local
        self.smtp: DemoSmtpServer | None = None
        self.identity = Address(DEMO_ADDRESS, _PEOPLE["me"][0])
        self._deliver: Any = None
        self._senders: list[Any] = []
        self._runner: asyncio.Task[None] | None = None
        self.hooks: Any = None  # SecurityHooks: DLP + audit around sending (set by the app)

    @classmethod
    def open(cls, db_path: Path, maildir: Path | None = None, *,
             subscribers: Sequence[Any] = ()) -> DemoWorkspace:
        """Open the demo at ``db_path`` (Maildir beside it), seeding it on first use;
        ``subscribers`` (store change listeners, e.g. an audit recorder) see the seeding."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        maildir = maildir or db_path.with_name(db_path.stem + "-maildir")
        fresh = not maildir.exists()
        if fresh:  # a demo store without its Maildir is from an older Commhub: rebuild it
            for stale in (db_path, db_path.with_name(db_path.name + "-wal"),
                          db_path.with_name(db_path.name + "-shm")):
                stale.unlink(missing_ok=True)
        store = Store.open(db_path)
        for subscriber in subscribers:
            store.subscribe(subscriber)
        try:
            local = LocalMailService.from_config(
                store, "maildir", DEMO_ACCOUNT,
                {"path": str(maildir), "create": True, "address": DEMO_ADDRESS},
            )
            if fresh:
                for folder, flags, raw in demo_emails():
                    local.mailbox.append(folder, raw, flags)
            local.sync()
            if not any(a.name == "demo-sms" for a in store.accounts()):
                store.ensure_account("demo-sms", "demo", channel=ChannelKind.SMS,
                                     address="+15550199")
                store.ensure_account("demo-chat", "demo", channel=ChannelKind.CHAT,
                                     address="@you")
                store.ingest(demo_side_messages())
        except BaseException:
            store.close()
            raise
        return cls(store, local)

    async def start_smtp(self) -> int:
        """Start the local SMTP server on the running loop; returns its port."""
        if self.smtp is None:
            self.smtp = DemoSmtpServer(self.local)
            await self.smtp.start()
        return self.smtp.port

    async def _route(self) -> Any:
        from services.email.smtp import SmtpConfig, SmtpSender
        from services.outbox import Route

        port = await self.start_smtp()
        config = SmtpConfig(host="127.0.0.1", port=port, security="plain",
                            allow_plaintext=True, local_hostname="localhost", timeout=10)
        sender = SmtpSender(config, name="demo-smtp")
        self._senders.append(sender)
        return Route("demo-smtp", sender)

    async def deliver(self, raw: bytes, sender: str, recipients: Sequence[str],
                      message_id: str) -> SendResult:
        """Send now through the outbox and the SMTP client to the local server."""
        if self._deliver is None:
            from services.email.wiring import outbox_deliver

            self._deliver = outbox_deliver(self.store, DEMO_ACCOUNT, [await self._route()], None)
        result: SendResult = await self._deliver(raw, sender, recipients, message_id)
        return result

    def send_context(self) -> Any:
        """What the compose window needs to write and send as the demo user."""
        from ui.views.compose_window import SendContext

        deliver = self.deliver
        if self.hooks is not None:
            deliver = self.hooks.guard_deliver(deliver, account=DEMO_ACCOUNT)
        return SendContext(DEMO_ACCOUNT, self.identity, deliver, note=DEMO_NOTE)

    def start_background(self, poll_interval: float = 5.0) -> asyncio.Task[None]:
        """Send scheduled ("send later") outbox rows when they fall due (until aclose)."""
        async def run() -> None:
            from services.outbox import OutboxSender

            await OutboxSender(self.store, DEMO_ACCOUNT, [await self._route()],
                               poll_interval=poll_interval).run()

        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(run())
        return self._runner

    async def aclose(self) -> None:
        """Stop the outbox runner, the SMTP clients and the server (not the store)."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        for sender in self._senders:
            await sender.aclose()
        self._senders.clear()
        self._deliver = None
        if self.smtp is not None:
            await self.smtp.stop()
            self.smtp = None

    def stop_now(self) -> None:
        """Stop without awaiting (the app's loop may already be stopping): the runner is
        cancelled and the server stops listening at once."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        if self.smtp is not None:
            self.smtp.close_now()
            self.smtp = None
        self._deliver = None

    def close(self) -> None:
        self.store.close()


class _Handler:
    def __init__(self, local: LocalMailService) -> None:
        self.local = local
        self.delivered: list[int] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = await asyncio.to_thread(self.local.append, "INBOX", bytes(raw))
        if message.id is not None:
            self.delivered.append(message.id)
        return "250 OK: delivered to the demo inbox"


class DemoSmtpServer:
    """aiosmtpd on 127.0.0.1, an ephemeral port, delivering into a local mail account."""

    def __init__(self, local: LocalMailService) -> None:
        self.handler = _Handler(local)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        from aiosmtpd.smtp import SMTP

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="commhub-demo.localhost",
                         ident="Commhub demo SMTP", data_size_limit=50 * 1024 * 1024),
            "127.0.0.1", 0,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def close_now(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def open_demo_store(path: Path) -> Store:
    """Open (creating and filling on first use) the demo store at ``path``."""
    return DemoWorkspace.open(path).store
