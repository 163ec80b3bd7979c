"""The query tree every search goes through.

The builder (:class:`services.query.builder.EmailQuery`) and the text parser both
produce these nodes; each compiler (SQLite, IMAP, Gmail, Graph) and the local
evaluator consume them.  Nodes are immutable and hashable.

Dates: ``DateRange.after`` is inclusive (on or after that instant),
``DateRange.before`` is exclusive (strictly before).  Both are timezone-aware
UTC datetimes or ``None``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.models import ChannelKind, Flag, Priority

__all__ = [
    "All",
    "And",
    "DateRange",
    "Field",
    "FlagIs",
    "HasAttachment",
    "Node",
    "Not",
    "Or",
    "PriorityIs",
    "SizeRange",
    "Term",
    "TextField",
]


class TextField(enum.StrEnum):
    """What a text term searches."""

    ANY = "any"  # subject, addresses, body, attachment names
    FROM = "from"
    TO = "to"  # to, cc and bcc
    CC = "cc"
    BCC = "bcc"
    SUBJECT = "subject"
    BODY = "body"
    ATTACHMENT = "attachment"  # attachment file name
    FOLDER = "folder"  # folder or label
    ACCOUNT = "account"
    CONTACT = "contact"  # any party: from, to, cc, bcc
    MESSAGE_ID = "id"  # RFC Message-ID, exact


@dataclass(frozen=True, slots=True)
class Term:
    """Text ``value`` in ``field``.

    ``phrase`` asks for the words adjacent and in order; otherwise every word
    must appear (in any order), and the last word may be a prefix when it ends
    with ``*``.  Words match *whole* tokens, as the store's FTS5 index does (see
    :mod:`services.query.evaluate` for the exact rule).
    """

    field: TextField
    value: str
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    """Channel kind equality: ``channel:sms``."""

    channel: ChannelKind


@dataclass(frozen=True, slots=True)
class HasAttachment:
    """Messages carrying at least one attachment (inline images excluded)."""


@dataclass(frozen=True, slots=True)
class FlagIs:
    """``FlagIs(Flag.SEEN, False)`` is "unread"."""

    flag: Flag
    value: bool = True


@dataclass(frozen=True, slots=True)
class PriorityIs:
    priority: Priority


@dataclass(frozen=True, slots=True)
class DateRange:
    after: datetime | None = None  # inclusive
    before: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class SizeRange:
    """Size of the raw message in bytes: ``larger`` exclusive, ``smaller`` exclusive."""

    larger: int | None = None
    smaller: int | None = None


@dataclass(frozen=True, slots=True)
class All:
    """Matches every message."""


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = (
    Term | Field | HasAttachment | FlagIs | PriorityIs | DateRange | SizeRange
    | All | And | Or | Not
)


def and_(*nodes: Node) -> Node:
    """Conjunction that flattens nested Ands and drops ``All``."""
    flat: list[Node] = []
    for n in nodes:
        if isinstance(n, And):
            flat.extend(n.children)
        elif not isinstance(n, All):
            flat.append(n)
    if not flat:
        return All()
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def or_(*nodes: Node) -> Node:
    """Disjunction that flattens nested Ors; ``All`` absorbs everything."""
    flat: list[Node] = []
    for n in nodes:
        if isinstance(n, All):
            return All()
        if isinstance(n, Or):
            flat.extend(n.children)
        else:
            flat.append(n)
    if not flat:
        raise ValueError("empty disjunction")
    return flat[0] if len(flat) == 1 else Or(tuple(flat))
