"""Tree → Gmail search ``q`` (Gmail API ``users.messages.list`` and IMAP ``X-GM-RAW``).

Gmail matches whole words (with its own stemming) where the local semantics
match word prefixes; we accept Gmail's word search as the server form of a text
term (see ``docs/query-language.md``), except a value containing ``*`` (an
explicit prefix), which Gmail cannot search: it goes to the residual.  ``body:``
is searched everywhere (Gmail has no body-only operator) and checked locally.
Dates use epoch seconds (``after:1704067200``): Gmail reads ``YYYY/MM/DD`` in
the account's timezone, epoch seconds are exact.  Channel, account, priority and
the answered/deleted flags go to the residual.
"""

from __future__ import annotations

import re

from services.models import Flag
from services.query.ast import (
    All,
    And,
    DateRange,
    FlagIs,
    HasAttachment,
    Node,
    Not,
    Or,
    SizeRange,
    Term,
    TextField,
)
from services.query.compiled import Compiled, LeafPlan, split

__all__ = ["gmail_label", "to_gmail"]

_SAFE = re.compile(r"[\w@.+'][\w@.+'\-]*")
_WORD = re.compile(r"[^\W_]+")
_OPS = {
    TextField.ANY: "",
    TextField.FROM: "from:",
    TextField.CC: "cc:",
    TextField.BCC: "bcc:",
    TextField.SUBJECT: "subject:",
    TextField.ATTACHMENT: "filename:",
    TextField.MESSAGE_ID: "rfc822msgid:",
}
_MULTI = {
    TextField.TO: ("to:", "cc:", "bcc:"),
    TextField.CONTACT: ("from:", "to:", "cc:", "bcc:"),
}
_SYSTEM = {
    "inbox": "inbox", "sent": "sent", "sent mail": "sent", "[gmail]/sent mail": "sent",
    "drafts": "drafts", "[gmail]/drafts": "drafts", "spam": "spam", "junk": "spam",
    "[gmail]/spam": "spam", "trash": "trash", "[gmail]/trash": "trash",
    "starred": "starred", "[gmail]/starred": "starred", "important": "important",
    "[gmail]/important": "important", "all mail": "anywhere", "[gmail]/all mail": "anywhere",
}  # fmt: skip
_FLAGS = {
    Flag.SEEN: ("is:read", "is:unread"),
    Flag.FLAGGED: ("is:starred", "-is:starred"),
    Flag.DRAFT: ("in:drafts", "-in:drafts"),
}


def gmail_label(folder: str) -> str:
    """``in:inbox`` for system folders, ``label:my-label`` (spaces and ``/`` → ``-``)."""
    system = _SYSTEM.get(folder.casefold())
    if system:
        return f"in:{system}"
    return "label:" + re.sub(r"[\s/]+", "-", folder.strip()).replace('"', "")


def _rule(node: Node) -> LeafPlan:
    if isinstance(node, Term):
        if node.field is TextField.ACCOUNT:
            return LeafPlan(None, False, "the account is the one searched; checked locally")
        if "*" in node.value and node.field not in (TextField.FOLDER, TextField.MESSAGE_ID):
            return LeafPlan(None, False, "Gmail has no prefix search")
        if node.field is TextField.BODY:
            return LeafPlan(Term(TextField.ANY, node.value, node.phrase), False,
                            "Gmail has no body-only search; searched everywhere")
        return LeafPlan(node, True)
    if isinstance(node, FlagIs):
        if node.flag in _FLAGS:
            return LeafPlan(node, True)
        return LeafPlan(None, False, f"Gmail cannot search the {node.flag.value} flag")
    if isinstance(node, HasAttachment | SizeRange | DateRange):
        return LeafPlan(node, True)
    reasons = {"PriorityIs": "Gmail has no priority search (is:important is Gmail's guess)",
               "Field": "Gmail holds e-mail only; the channel is checked locally"}
    what = type(node).__name__
    return LeafPlan(None, False, reasons.get(what, f"Gmail cannot express {what}"))


def _value(term: Term) -> str:
    if term.phrase:
        return '"' + " ".join(term.value.replace('"', " ").split()) + '"'
    if _SAFE.fullmatch(term.value):
        return term.value
    words = _WORD.findall(term.value)
    if not words:
        return '"' + term.value.replace('"', " ").strip() + '"'
    return words[0] if len(words) == 1 else "(" + " ".join(words) + ")"


def _term(term: Term) -> str:
    if term.field is TextField.FOLDER:
        return gmail_label(term.value)
    value = _value(term)
    if term.field in _MULTI:
        return "{" + " ".join(op + value for op in _MULTI[term.field]) + "}"
    return _OPS[term.field] + value


def _both(parts: list[str]) -> str:
    return f"({' '.join(parts)})" if len(parts) > 1 else "".join(parts)


def _leaf(node: Node) -> str:
    match node:
        case Term():
            return _term(node)
        case FlagIs(flag=f, value=v):
            return _FLAGS[f][0 if v else 1]
        case HasAttachment():
            return "has:attachment"
        case SizeRange(larger=lo, smaller=hi):
            parts = ([f"larger:{lo}"] if lo is not None else []) + (
                [f"smaller:{hi}"] if hi is not None else [])
            return _both(parts)
        case DateRange(after=a, before=b):
            parts = ([f"after:{int(a.timestamp())}"] if a is not None else []) + (
                [f"before:{int(b.timestamp())}"] if b is not None else [])
            return _both(parts)
    raise TypeError(f"Gmail cannot render {node!r}")


def render(node: Node) -> str:
    """Gmail ``q`` text for a tree of Gmail-expressible nodes (``""`` = everything)."""
    match node:
        case All():
            return ""
        case And(children=cs):
            return " ".join(_grouped(c) for c in cs)
        case Or(children=cs):
            return " OR ".join(_grouped(c) for c in cs)
        case Not(child=c):
            if isinstance(c, All):
                return "-in:anywhere"
            inner = _grouped(c)
            return "-" + (f"({inner})" if inner.startswith("-") else inner)
    return _leaf(node)


def _grouped(node: Node) -> str:
    text = render(node)
    return f"({text})" if isinstance(node, And | Or) else text


def to_gmail(node: Node) -> Compiled[str]:
    """Compile ``node`` to a Gmail ``q`` string (``""`` matches everything)."""
    s = split(node, _rule)
    return Compiled(render(s.server), s.residual, s.unsupported, s.server)
