"""Evaluate a query tree against one :class:`~services.models.Message`.

This is the reference semantics every compiler must agree with (a compiler's
server-side part must select a superset of what :func:`matches` accepts), and it
is the same rule the store's FTS5 index applies (``services/store/search.py``):

* **Tokens**: text is cut into tokens exactly as SQLite FTS5's ``unicode61
  remove_diacritics 2`` tokenizer does (:func:`services.query.tokens.tokens`:
  runs of letters/digits, case-folded, Latin diacritics removed; everything
  else separates).
* **Words**: the value is split on whitespace; every word must occur, each as
  the *phrase* of its tokens (``foo-bar`` = ``foo`` followed by ``bar``) within
  one column, matching **whole tokens**.  The last word may end with ``*``: its
  last token is then a prefix.  A phrase term (``"a b"``) is one phrase of all
  its tokens (prefix when the value ends with ``*``).  A value without any token
  (``"!!"``) matches nothing.
* **Columns** are those of the FTS index: subject; sender (``name address``);
  To, Cc and Bcc (each: every party's ``name address``, joined); body; all
  attachment names (joined).  A phrase never spans two columns.
* **Addresses** (from/to/cc/bcc/contact) are just columns: ``from:alice``
  matches the token ``alice`` in the sender's name or address, and a complete
  address ``from:bob@example.com`` is the phrase ``bob example com``.
* ``any`` searches every column.  ``folder``/``account`` compare the whole value
  casefolded; ``id`` compares the Message-ID exactly (without ``<>``).
* Dates use ``message.date``, else ``message.received_at`` (naive = UTC); a
  message with neither only matches an unbounded range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
from services.query.tokens import tokens

__all__ = ["is_full_address", "matches", "term_phrases"]

_FULL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

#: FTS columns searched by each text field (same as the store's ``FTS_COLUMNS``).
_COLUMNS: dict[TextField, tuple[str, ...]] = {
    TextField.ANY: ("subject", "sender", "to", "cc", "bcc", "body", "att"),
    TextField.FROM: ("sender",),
    TextField.TO: ("to", "cc", "bcc"),
    TextField.CC: ("cc",),
    TextField.BCC: ("bcc",),
    TextField.SUBJECT: ("subject",),
    TextField.BODY: ("body",),
    TextField.ATTACHMENT: ("att",),
    TextField.CONTACT: ("sender", "to", "cc", "bcc"),
}

Phrase = tuple[tuple[str, ...], bool]  # (tokens, last token is a prefix)


def is_full_address(value: str) -> bool:
    """``bob@example.com`` (a complete address), as opposed to ``bob`` or ``@example.com``."""
    return _FULL_ADDRESS.fullmatch(value) is not None


def term_phrases(term: Term) -> list[Phrase]:
    """The phrases a text term needs, all of them (empty: the term matches nothing)."""
    value = term.value.strip()
    if term.phrase:
        prefix = value.endswith("*")
        found = tokens(value.rstrip("*"))
        return [(tuple(found), prefix)] if found else []
    words = value.split()
    out: list[Phrase] = []
    for i, word in enumerate(words):
        prefix = i == len(words) - 1 and word.endswith("*")
        found = tokens(word.rstrip("*") if prefix else word)
        if found:
            out.append((tuple(found), prefix))
    return out


def _phrase_in(phrase: Phrase, toks: Sequence[str]) -> bool:
    wanted, prefix = phrase
    n = len(wanted)
    head, last = wanted[:-1], wanted[-1]
    for i in range(len(toks) - n + 1):
        if tuple(toks[i : i + n - 1]) != head:
            continue
        tok = toks[i + n - 1]
        if tok == last or (prefix and tok.startswith(last)):
            return True
    return False


def _party_text(parties: Sequence[Address]) -> str:
    return " ".join(f"{p.name} {p.address}".strip() for p in parties)


class _Columns:
    """The message's FTS columns, tokenised on first use."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.cache: dict[str, list[str]] = {}

    def text(self, name: str) -> str:
        m = self.message
        if name == "subject":
            return m.subject
        if name == "sender":
            return _party_text((m.sender,) if m.sender else ())
        if name == "to":
            return _party_text(m.to)
        if name == "cc":
            return _party_text(m.cc)
        if name == "bcc":
            return _party_text(m.bcc)
        if name == "body":
            return m.body_text
        return " ".join(a.filename for a in m.attachments)  # att

    def tokens(self, name: str) -> list[str]:
        toks = self.cache.get(name)
        if toks is None:
            toks = self.cache[name] = tokens(self.text(name))
        return toks


def _term(term: Term, message: Message, columns: _Columns) -> bool:
    field = term.field
    if field is TextField.FOLDER:
        return message.folder.casefold() == term.value.casefold()
    if field is TextField.ACCOUNT:
        return message.account.casefold() == term.value.casefold()
    if field is TextField.MESSAGE_ID:
        return (message.message_id or "").strip("<>") == term.value
    phrases = term_phrases(term)
    if not phrases:
        return False
    names = _COLUMNS[field]
    return all(any(_phrase_in(p, columns.tokens(n)) for n in names) for p in phrases)


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
    return _matches(node, message, _Columns(message))


def _matches(node: Node, message: Message, columns: _Columns) -> bool:
    match node:
        case All():
            return True
        case And(children=cs):
            return all(_matches(c, message, columns) for c in cs)
        case Or(children=cs):
            return any(_matches(c, message, columns) for c in cs)
        case Not(child=c):
            return not _matches(c, message, columns)
        case Term():
            return _term(node, message, columns)
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
