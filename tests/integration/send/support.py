"""Test-only SMTP peers and a Sent folder over the real Dovecot, for the send tests.

* :class:`SendServer`: the harness's SMTP server (STARTTLS+AUTH → LMTP into Dovecot) whose
  handler also records each message's client address (connection reuse) and can answer
  ``451`` at RCPT for chosen recipients a number of times; ``idle_timeout`` makes the
  server close idle connections.
* :class:`StallingServer`: a plain loopback aiosmtpd whose DATA handler blocks, either
  before it commits anything (``commit=False``) or after delivering into Dovecot and filing
  a copy in the sender's Sent folder like Gmail does (``commit=True``).
* :class:`DovecotSent`: a :class:`services.outbox.SentFolder` over a Dovecot user's "Sent".
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.net import LOOPBACK, free_ports
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer, _Handler


class _RecordingHandler(_Handler):
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        owner: SendServer = self.server  # type: ignore[assignment]
        left = owner.tempfail.get(address.lower(), 0)
        if left > 0:
            owner.tempfail[address.lower()] = left - 1
            owner.tempfailed.append(address)
            return "451 4.2.0 mailbox busy, come back"
        result: str = await super().handle_RCPT(server, session, envelope, address, rcpt_options)
        return result

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner: SendServer = self.server  # type: ignore[assignment]
        owner.peers.append(session.peer)
        result: str = await super().handle_DATA(server, session, envelope)
        return result


class SendServer(SmtpServer):
    def __init__(self, *args: Any, idle_timeout: float = 300.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_timeout = idle_timeout
        self.tempfail: dict[str, int] = {}
        self.tempfailed: list[str] = []
        self.peers: list[Any] = []

    def _controller(self, port: int, *, implicit_tls: bool) -> Controller:
        ctrl = super()._controller(port, implicit_tls=implicit_tls)
        ctrl.handler = _RecordingHandler(self, port, implicit_tls=implicit_tls)
        ctrl.SMTP_kwargs["timeout"] = self.idle_timeout
        return ctrl


class _StallHandler:
    def __init__(self, owner: StallingServer) -> None:
        self.owner = owner

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        raw = envelope.original_content or b""
        if owner.commit:  # accept for good, like a provider that also files a Sent copy
            loop = asyncio.get_running_loop()
            for rcpt in envelope.rcpt_tos:
                await loop.run_in_executor(None, owner.dovecot.deliver, rcpt, raw)
            await loop.run_in_executor(
                None, lambda: owner.dovecot.append(owner.user, "Sent", raw, flags=["\\Seen"])
            )
            owner.committed += 1
        owner.in_data.set()
        try:
            await asyncio.sleep(3600)  # never answers: the client is killed meanwhile
        except asyncio.CancelledError:
            owner.dropped += 1  # aiosmtpd cancels the handler when the client goes away
            raise
        return "250 OK"


class StallingServer:
    def __init__(self, dovecot: DovecotServer, *, commit: bool, user: str = "alice") -> None:
        self.dovecot = dovecot
        self.commit = commit
        self.user = user
        self.in_data = threading.Event()
        self.committed = 0
        self.dropped = 0
        self.host = LOOPBACK
        self.port = free_ports(1)[0]
        self._ctrl = Controller(
            _StallHandler(self), hostname=LOOPBACK, port=self.port, server_hostname="localhost"
        )

    def __enter__(self) -> StallingServer:
        self._ctrl.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctrl.stop()


class DovecotSent:
    """The Sent folder of a Dovecot user, through imapclient (APPEND / SEARCH HEADER)."""

    def __init__(self, dovecot: DovecotServer, user: str = "alice") -> None:
        self.dovecot = dovecot
        self.user = user

    async def append_sent(self, raw: bytes) -> None:
        await asyncio.to_thread(self.dovecot.append, self.user, "Sent", raw, flags=["\\Seen"])

    async def was_sent(self, message_id: str) -> bool:
        return await asyncio.to_thread(count_in, self.dovecot, self.user, "Sent", message_id) > 0


def count_in(dovecot: DovecotServer, user: str, folder: str, message_id: str) -> int:
    """How many messages with this Message-ID are in ``user``'s ``folder``."""
    with dovecot.imap(user, tls="plain") as client:
        if not client.folder_exists(folder):
            return 0
        client.select_folder(folder, readonly=True)
        return len(client.search(["HEADER", "Message-ID", message_id]))


def body_of(dovecot: DovecotServer, user: str, message_id: str) -> bytes:
    """The body (after the header block) of the one INBOX message with this Message-ID."""
    with dovecot.imap(user, tls="plain") as client:
        client.select_folder("INBOX", readonly=True)
        (uid,) = client.search(["HEADER", "Message-ID", message_id])
        data: bytes = client.fetch([uid], ["BODY.PEEK[TEXT]"])[uid][b"BODY[TEXT]"]
        return data
