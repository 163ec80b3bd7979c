"""Tiny helpers to build test messages (for bulk realistic mail use tests.support.corpus)."""

from __future__ import annotations

import email.utils
import itertools
from email.message import EmailMessage

_counter = itertools.count(1)


def make_message(
    subject: str = "Hello",
    *,
    sender: str = "Carol Sender <carol@example.test>",
    to: str | list[str] = "alice@example.test",
    body: str = "Hello there.\n",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """One RFC 5322 message as CRLF bytes, with a unique Message-ID unless given."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to) if isinstance(to, list) else to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id or f"<test-{next(_counter)}.{id(msg):x}@example.test>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
