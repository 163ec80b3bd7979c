"""Pure helpers for replies and forwards: subjects, threading headers, quoted text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import format_datetime

from services.models import Address, Message

__all__ = [
    "attribution",
    "display",
    "forward_header",
    "forward_subject",
    "quote_text",
    "reference_ids",
    "reply_all_recipients",
    "reply_subject",
]

_LIST_TAGS = re.compile(r"^(?:\s*\[[^\[\]]{0,80}\])*\s*")
_REPLY = re.compile(r"(?:re|aw|sv|antw|vs)\s*(?:\[\d+\]|\(\d+\))?\s*:", re.I)
_FORWARD = re.compile(r"(?:fwd?|wg|tr|rv)\s*(?:\[\d+\])?\s*:", re.I)


def _has_prefix(subject: str, prefix: re.Pattern[str]) -> bool:
    rest = subject[_LIST_TAGS.match(subject).end():]  # type: ignore[union-attr]
    return prefix.match(rest) is not None


def reply_subject(subject: str) -> str:
    """``"Re: "`` + subject, unless it already starts with a reply prefix (Re:, AW:...)."""
    subject = " ".join(subject.split())
    return subject if _has_prefix(subject, _REPLY) else f"Re: {subject}".rstrip()


def forward_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    return subject if _has_prefix(subject, _FORWARD) else f"Fwd: {subject}".rstrip()


def reference_ids(parent: Message) -> tuple[str, ...]:
    """References of a reply (RFC 5322 3.6.4): the parent's References (or, lacking them,
    its single In-Reply-To) followed by the parent's Message-ID; no angle brackets."""
    chain = list(parent.references) or ([parent.in_reply_to] if parent.in_reply_to else [])
    if parent.message_id:
        chain.append(parent.message_id)
    return tuple(dict.fromkeys(c.strip("<> ") for c in chain if c and c.strip("<> ")))


def display(a: Address) -> str:
    """``Name <addr>`` for reading (``str(Address)`` is RFC 2047-encoded for headers)."""
    return f"{a.name} <{a.address}>" if a.name else a.address


def attribution(parent: Message) -> str:
    who = display(parent.sender) if parent.sender else "someone"
    if parent.date is None:
        return f"{who} wrote:"
    return f"On {format_datetime(parent.date)}, {who} wrote:"


def quote_text(text: str) -> str:
    """Every line prefixed with ``"> "`` (``">"`` before an already quoted or empty line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return "\n".join(
        (">" + line) if not line or line.startswith(">") else ("> " + line) for line in lines
    )


def forward_header(parent: Message) -> str:
    rows = [("From", display(parent.sender) if parent.sender else ""),
            ("Date", format_datetime(parent.date) if parent.date else ""),
            ("Subject", parent.subject),
            ("To", ", ".join(display(a) for a in parent.to)),
            ("Cc", ", ".join(display(a) for a in parent.cc))]
    lines = [f"{k}: {v}" for k, v in rows if v]
    return "---------- Forwarded message ----------\n" + "\n".join(lines)


def _unique(addresses: Iterable[Address], exclude: set[str]) -> list[Address]:
    out: list[Address] = []
    for a in addresses:
        key = a.address.strip().lower()
        if key and key not in exclude:
            exclude.add(key)
            out.append(a)
    return out


def reply_all_recipients(
    parent: Message, me: Iterable[str]
) -> tuple[list[Address], list[Address]]:
    """(to, cc) of a reply to all: the parent's Reply-To (or sender) and To, then its Cc,
    without ``me`` and without duplicates (case-insensitive).  Replying to all on my own
    message writes to its recipients again."""
    mine = {m.strip().lower() for m in me if m}
    first = list(parent.reply_to) or ([parent.sender] if parent.sender else [])
    seen = set(mine)
    to = _unique([*first, *parent.to], seen)
    cc = _unique(parent.cc, seen)
    if not to and not cc:
        to = _unique(parent.to, set()) or _unique(first, set())
    return to, cc
