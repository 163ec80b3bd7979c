"""Evaluate a query tree against one :class:`~services.models.Message`.

This is the reference semantics every compiler must agree with (a compiler's
server-side part must select a superset of what :func:`matches` accepts):

* **Words**: the value is split into words (runs of letters/digits, casefolded,
  accents kept; ``*`` and other punctuation are separators).  Every query word
  must be a *prefix* of some word of the field text.  A phrase needs its words
  on consecutive words of one text.  A value without any word (``"!!"``)
  matches as a casefolded substring.
* **Addresses** (from/to/cc/bcc/contact): a party matches when the value is a
  complete address (``bob@example.com``) equal to the party's address, or —
  for anything else — a casefolded substring of the address (``from:alice``,
  ``from:@example.com``), or matches the words of ``"name address"``.
* ``any`` searches subject, every party (names and addresses), the plain body
  and attachment file names.  ``folder``/``account`` compare the whole value
  casefolded; ``id`` compares the Message-ID exactly (without ``<>``).
* Dates use ``message.date``, else ``message.received_at`` (naive = UTC); a
  message with neither only matches an unbounded range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC

from services.models import Address, Message
from services.query.ast import (
    All,
    And,
    DateRange,
    Field,
    FlagIs,
    HasAttachment,
    Node,
    Not,
    Or,
    PriorityIs,
    SizeRange,
    Term,
    TextField,
)
from services.query.values import words

__all__ = ["is_full_address", "matches"]

_FULL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def is_full_address(value: str) -> bool:
    """``bob@example.com`` is compared exactly; ``bob``/``@example.com`` as substrings."""
    return _FULL_ADDRESS.fullmatch(value) is not None


def _text_matches(value: str, phrase: bool, texts: Iterable[str]) -> bool:
    wanted = words(value)
    if not wanted:
        needle = value.casefold()
        return any(needle in t.casefold() for t in texts)
    tokenised = [words(t) for t in texts]
    if not phrase:
        return all(any(t.startswith(w) for toks in tokenised for t in toks) for w in wanted)
    n = len(wanted)
    return any(
        all(toks[i + j].startswith(w) for j, w in enumerate(wanted))
        for toks in tokenised
        for i in range(len(toks) - n + 1)
    )


def _party_matches(term: Term, party: Address) -> bool:
    address = party.address.casefold()
    value = term.value.casefold()
    if is_full_address(term.value):
        return address == value
    if value.rstrip("*") and value.rstrip("*") in address:
        return True
    return _text_matches(term.value, term.phrase, [f"{party.name} {party.address}"])


def _parties(message: Message, field: TextField) -> Sequence[Address]:
    sender = (message.sender,) if message.sender else ()
    if field is TextField.FROM:
        return sender
    if field is TextField.TO:
        return message.recipients
    if field is TextField.CC:
        return message.cc
    if field is TextField.BCC:
        return message.bcc
    return sender + message.recipients  # CONTACT


def _term(term: Term, message: Message) -> bool:
    field = term.field
    if field in (TextField.FROM, TextField.TO, TextField.CC, TextField.BCC, TextField.CONTACT):
        return any(_party_matches(term, p) for p in _parties(message, field))
    if field is TextField.FOLDER:
        return message.folder.casefold() == term.value.casefold()
    if field is TextField.ACCOUNT:
        return message.account.casefold() == term.value.casefold()
    if field is TextField.MESSAGE_ID:
        return (message.message_id or "").strip("<>") == term.value
    texts: list[str]
    if field is TextField.SUBJECT:
        texts = [message.subject]
    elif field is TextField.BODY:
        texts = [message.body_text]
    elif field is TextField.ATTACHMENT:
        texts = [a.filename for a in message.attachments]
    else:  # ANY
        parties = _parties(message, TextField.CONTACT)
        texts = [message.subject, *(f"{p.name} {p.address}" for p in parties),
                 message.body_text, *(a.filename for a in message.attachments)]
    return _text_matches(term.value, term.phrase, texts)


def _dates(rng: DateRange, message: Message) -> bool:
    when = message.date or message.received_at
    if when is None:
        return rng.after is None and rng.before is None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if rng.after is not None and when < rng.after:
        return False
    return rng.before is None or when < rng.before


def matches(node: Node, message: Message) -> bool:
    """True when ``message`` satisfies ``node``."""
    match node:
        case All():
            return True
        case And(children=cs):
            return all(matches(c, message) for c in cs)
        case Or(children=cs):
            return any(matches(c, message) for c in cs)
        case Not(child=c):
            return not matches(c, message)
        case Term():
            return _term(node, message)
        case Field(channel=channel):
            return message.channel == channel
        case HasAttachment():
            return any(not a.inline for a in message.attachments)
        case FlagIs(flag=flag, value=value):
            return (flag in message.flags) == value
        case PriorityIs(priority=priority):
            return message.priority == priority
        case DateRange():
            return _dates(node, message)
        case SizeRange(larger=larger, smaller=smaller):
            return (larger is None or message.size > larger) and (
                smaller is None or message.size < smaller
            )
    raise TypeError(f"not a query node: {node!r}")
