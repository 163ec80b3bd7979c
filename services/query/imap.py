"""Tree → IMAP ``SEARCH`` criteria (RFC 3501), or Gmail's ``X-GM-RAW``.

IMAP matches text as case-insensitive *substrings* of headers/body, which is a
superset of our whole-token semantics, so every text term is sent to the server
word by word (as typed) and also kept in the residual.  Locally diacritics do
not count (``cafe`` matches "Café"); RFC 3501 leaves non-ASCII comparison to the
server, so the superset holds for accent-insensitive servers and wherever the
query and the text carry the same accents.  Dates are compared by
``SENTSINCE``/``SENTBEFORE`` on whole days of the Date header in its own
timezone, so bounds are widened by the largest UTC offsets and the exact bound
stays in the residual.  Attachments, priority, channel, account and attachment
names cannot be searched and go to the residual.  Top-level ``folder:`` terms
become :attr:`ImapSearch.folders` (the mailboxes to SELECT and search).

Use with imapclient: ``client.search(s.text, charset=s.charset)`` (a single
string is passed through unquoted, exactly as built here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.models import Flag
from services.query.ast import (
    All,
    And,
    DateRange,
    FlagIs,
    Node,
    Not,
    Or,
    SizeRange,
    Term,
    TextField,
    and_,
)
from services.query.compiled import Compiled, LeafPlan, folder_scope, split, split_folders

__all__ = ["ImapSearch", "imap_date", "imap_quote", "to_imap"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_WORD = re.compile(r"[^\W_]+")
_MAX_EAST = timedelta(hours=14)  # largest UTC offsets a Date header can carry
_MAX_WEST = timedelta(hours=12)
_FLAG_KEYS = {
    Flag.SEEN: ("SEEN", "UNSEEN"),
    Flag.FLAGGED: ("FLAGGED", "UNFLAGGED"),
    Flag.ANSWERED: ("ANSWERED", "UNANSWERED"),
    Flag.DELETED: ("DELETED", "UNDELETED"),
    Flag.DRAFT: ("DRAFT", "UNDRAFT"),
}
_TEXT_KEYS: dict[TextField, tuple[str, ...]] = {
    TextField.ANY: ("TEXT",),
    TextField.FROM: ("FROM",),
    TextField.TO: ("TO", "CC", "BCC"),
    TextField.CC: ("CC",),
    TextField.BCC: ("BCC",),
    TextField.SUBJECT: ("SUBJECT",),
    TextField.BODY: ("BODY",),
    TextField.CONTACT: ("FROM", "TO", "CC", "BCC"),
    TextField.MESSAGE_ID: ("HEADER", "Message-ID"),
}

@dataclass(frozen=True, slots=True)
class ImapSearch:
    """``criteria``: SEARCH keys as wire tokens (strings already quoted; ``(`` and
    ``)`` are tokens of their own); ``charset``: ``"UTF-8"`` when a string is not
    ASCII, else ``None``; ``folders``: mailboxes to search (``None`` = any; an
    empty tuple = the query can match nothing)."""

    criteria: list[str]
    charset: str | None = None
    folders: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        """The criteria as one string, e.g. ``FROM "alice" (OR SEEN FLAGGED)``."""
        out = ""
        for tok in self.criteria:
            glue = "" if not out or out.endswith("(") or tok == ")" else " "
            out += glue + tok
        return out


def imap_quote(value: str) -> str:
    """An RFC 3501 quoted string (non-ASCII is sent as UTF-8 with ``CHARSET UTF-8``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_date(instant: datetime) -> str:
    """``01-Feb-2024`` (day-granular, as SEARCH wants)."""
    return f"{instant.day:02d}-{_MONTHS[instant.month - 1]}-{instant.year}"


def _rule(node: Node) -> LeafPlan:
    if isinstance(node, Term):
        if node.field not in _TEXT_KEYS:
            return LeafPlan(None, False, f"IMAP SEARCH cannot search by {node.field.value}")
        why = "IMAP matches substrings; exact matching is checked locally"
        return LeafPlan(node, False, why)
    if isinstance(node, FlagIs | SizeRange):
        return LeafPlan(node, True)
    if isinstance(node, DateRange):
        return LeafPlan(node, False, "IMAP compares whole days; the exact time is checked locally")
    what = type(node).__name__
    reasons = {"HasAttachment": "IMAP SEARCH cannot test for attachments",
               "PriorityIs": "IMAP SEARCH has no priority criterion",
               "Field": "IMAP holds e-mail only; the channel is checked locally"}
    return LeafPlan(None, False, reasons.get(what, f"IMAP cannot express {what}"))


def _values(term: Term) -> list[str]:
    if term.field is TextField.MESSAGE_ID:
        return [term.value]
    # word by word, even for a complete address: locally it is a token phrase that
    # ``bob.x@com.org`` matches for ``bob@x.com`` too, so the whole string is no superset
    return _WORD.findall(term.value) or [term.value]


def _term_keys(term: Term) -> list[list[str]]:
    keys = _TEXT_KEYS[term.field]
    if term.field is TextField.MESSAGE_ID:
        return [[*keys, imap_quote(term.value)]]
    out: list[list[str]] = []
    for value in _values(term):
        alternatives = [[k, imap_quote(value)] for k in keys]
        out.append(_or_chain(alternatives))
    return out


def _or_chain(keys: list[list[str]]) -> list[str]:
    if len(keys) == 1:
        return keys[0]
    return ["OR", *keys[0], *_or_chain(keys[1:])]


def _keys(node: Node) -> list[list[str]]:
    """Search keys (ANDed) for a node the rule said IMAP can evaluate."""
    match node:
        case All():
            return []
        case And(children=cs):
            return [k for c in cs for k in _keys(c)]
        case Or(children=cs):
            return [_or_chain([_one(c) for c in cs])]
        case Not(child=c):
            return [["NOT", *_one(c)]]
        case Term():
            return _term_keys(node)
        case FlagIs(flag=f, value=v):
            return [[_FLAG_KEYS[f][0 if v else 1]]]
        case SizeRange(larger=lo, smaller=hi):
            return ([["LARGER", str(lo)]] if lo is not None else []) + (
                [["SMALLER", str(hi)]] if hi is not None else [])
        case DateRange(after=a, before=b):
            out = []
            if a is not None:
                out.append(["SENTSINCE", imap_date(a - _MAX_WEST)])
            if b is not None:  # Date-header day < day(b + 14h) + 1
                out.append(["SENTBEFORE", imap_date(b + _MAX_EAST + timedelta(days=1))])
            return out
    raise TypeError(f"IMAP cannot render {node!r}")


def _one(node: Node) -> list[str]:
    keys = _keys(node)
    if not keys:
        return ["ALL"]
    if len(keys) == 1:
        return keys[0]
    return ["(", *(t for k in keys for t in k), ")"]


def _charset(criteria: list[str]) -> str | None:
    return None if all(t.isascii() for t in criteria) else "UTF-8"


def to_imap(node: Node, *, gmail: bool = False) -> Compiled[ImapSearch]:
    """Compile ``node`` to SEARCH criteria; ``gmail=True`` uses ``X-GM-RAW``
    (search Gmail's "[Gmail]/All Mail": labels are part of the query there)."""
    if gmail:
        from services.query.gmail import to_gmail

        g = to_gmail(node)
        criteria = ["X-GM-RAW", imap_quote(g.expressed)] if g.expressed else ["ALL"]
        return Compiled(ImapSearch(criteria, _charset(criteria)), g.residual, g.unsupported,
                        g.expressed_node)
    folders, rest = split_folders(node)
    s = split(rest, _rule)
    criteria = [t for k in _keys(s.server) for t in k] or ["ALL"]
    scope = and_(folder_scope(folders), s.server)
    return Compiled(ImapSearch(criteria, _charset(criteria), folders), s.residual,
                    s.unsupported, scope)

