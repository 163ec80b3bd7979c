"""Tree → canonical text syntax (the inverse of :func:`services.query.parser.parse_query`).

``parse_query(to_text(node)) == node`` for every canonical tree, i.e. one built
by the builder or the parser (flattened And/Or, normalised term values).
"""

from __future__ import annotations

from datetime import timedelta

from services.models import Flag
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
from services.query.lexer import OPERATORS
from services.query.values import EXACT_FIELDS, format_instant

__all__ = ["to_text"]

_FIELD_NAMES = {
    TextField.ANY: "text",
    TextField.FROM: "from",
    TextField.TO: "to",
    TextField.CC: "cc",
    TextField.BCC: "bcc",
    TextField.SUBJECT: "subject",
    TextField.BODY: "body",
    TextField.ATTACHMENT: "attachment",
    TextField.FOLDER: "folder",
    TextField.ACCOUNT: "account",
    TextField.CONTACT: "contact",
    TextField.MESSAGE_ID: "id",
}
_FLAG_WORDS = {
    (Flag.SEEN, True): "read",
    (Flag.SEEN, False): "unread",
    (Flag.FLAGGED, True): "flagged",
    (Flag.FLAGGED, False): "unflagged",
    (Flag.ANSWERED, True): "answered",
    (Flag.ANSWERED, False): "unanswered",
    (Flag.DRAFT, True): "draft",
    (Flag.DRAFT, False): "undraft",
    (Flag.DELETED, True): "deleted",
    (Flag.DELETED, False): "undeleted",
}


def _bare_ok(value: str, *, plain: bool) -> bool:
    if not value or value[0] == "-" or value in OPERATORS:
        return False
    if any(c.isspace() or c in '()"\\' for c in value):
        return False
    return not (plain and ":" in value)


def _escaped(value: str, specials: str) -> str:
    return "".join("\\" + c if c in specials else c for c in value)


def _term(t: Term) -> str:
    plain = t.field is TextField.ANY
    prefix = "" if plain else _FIELD_NAMES[t.field] + ":"
    if t.phrase:
        return f'{prefix}"{_escaped(t.value, chr(92) + chr(34))}"'
    if _bare_ok(t.value, plain=plain):
        return prefix + t.value
    if t.field in EXACT_FIELDS:  # quoting never makes a phrase there
        return f'{prefix}"{_escaped(t.value, chr(92) + chr(34))}"'
    return f"{prefix or 'text:'}({_escaped(t.value, chr(92) + ')')})"


def _dates(d: DateRange) -> str:
    if d.after is not None and d.before is not None:
        return f"date:{format_instant(d.after)}..{_inclusive_end(d)}"
    if d.after is not None:
        return f"after:{format_instant(d.after)}"
    if d.before is not None:
        return f"before:{format_instant(d.before)}"
    return "date:.."


def _inclusive_end(d: DateRange) -> str:
    """``date:A..B`` takes a day B as inclusive, a datetime B as exact."""
    assert d.before is not None
    end = format_instant(d.before)
    if "T" in end:
        return end
    return format_instant(d.before - timedelta(days=1))


def _sizes(s: SizeRange) -> str:
    if s.larger is not None and s.smaller is not None:
        return f"size:{s.larger + 1}..{s.smaller - 1}"
    if s.larger is not None:
        return f"larger:{s.larger}"
    if s.smaller is not None:
        return f"smaller:{s.smaller}"
    return "size:.."


def _leaf(node: Node) -> str:
    match node:
        case Term():
            return _term(node)
        case Field(channel=c):
            return f"channel:{c.value}"
        case HasAttachment():
            return "has:attachment"
        case FlagIs(flag=f, value=v):
            return f"is:{_FLAG_WORDS[(f, v)]}"
        case PriorityIs(priority=p):
            return f"priority:{p.name.lower()}"
        case DateRange():
            return _dates(node)
        case SizeRange():
            return _sizes(node)
    raise TypeError(f"not a query node: {node!r}")


def to_text(node: Node) -> str:
    """Canonical text for ``node`` (``""`` for :class:`All`)."""
    match node:
        case All():
            return ""
        case And(children=cs):
            return " ".join(_group(c, Or, And) for c in cs)
        case Or(children=cs):
            return " OR ".join(_group(c, Or) for c in cs)
        case Not(child=c):
            if isinstance(c, All):
                raise ValueError("NOT of an empty query cannot be written as text")
            return "-" + _group(c, Or, And)
    return _leaf(node)


def _group(node: Node, *compound: type) -> str:
    text = to_text(node)
    return f"({text})" if isinstance(node, compound) else text
