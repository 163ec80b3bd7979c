"""A brute-force evaluator of query trees, written independently of the SQL compiler.

Text semantics mirror FTS5's unicode61 tokenizer (remove_diacritics 2): text is
case-folded, accents stripped, split on every non-alphanumeric character.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from services.models import Flag, Message
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


def tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    out: list[str] = []
    cur = ""
    for ch in folded:
        if unicodedata.combining(ch):
            continue
        if ch.isalnum() or unicodedata.category(ch) == "Co":  # unicode61: private use = token
            cur += ch
        elif cur:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def _phrase_in(phrase: list[str], toks: list[str], prefix: bool) -> bool:
    n = len(phrase)
    for i in range(len(toks) - n + 1):
        window = toks[i : i + n]
        if window[:-1] != phrase[:-1]:
            continue
        last_ok = window[-1].startswith(phrase[-1]) if prefix else window[-1] == phrase[-1]
        if last_ok:
            return True
    return False


@dataclass
class Doc:
    message: Message
    columns: dict[str, list[str]]


def _party(addresses: tuple[object, ...]) -> str:
    return " ".join(f"{a.name} {a.address}" for a in addresses)  # type: ignore[attr-defined]


def make_doc(message: Message, body: str) -> Doc:
    m = message
    cols = {
        "subject": m.subject,
        "sender": _party((m.sender,) if m.sender else ()),
        "to": _party(m.to),
        "cc": _party(m.cc),
        "bcc": _party(m.bcc),
        "body": body,
        "att": " ".join(a.filename for a in m.attachments),
    }
    return Doc(m, {k: tokens(v) for k, v in cols.items()})


_COLS = {
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


def _term(term: Term, doc: Doc) -> bool:
    m = doc.message
    value = term.value.strip()
    if term.field == TextField.FOLDER:
        return m.folder.casefold() == value.casefold()
    if term.field == TextField.ACCOUNT:
        return m.account.casefold() == value.casefold()
    if term.field == TextField.MESSAGE_ID:
        return m.message_id == value.strip("<>").strip()
    cols = [doc.columns[c] for c in _COLS[term.field]]
    if term.phrase:
        prefix = value.endswith("*")
        phrases = [(tokens(value.rstrip("*")), prefix)]
    else:
        words = value.split()
        phrases = []
        for i, w in enumerate(words):
            prefix = i == len(words) - 1 and w.endswith("*")
            phrases.append((tokens(w.rstrip("*") if prefix else w), prefix))
    phrases = [(p, pre) for p, pre in phrases if p]
    if not phrases:
        return False
    return all(any(_phrase_in(p, col, pre) for col in cols) for p, pre in phrases)


def _ts(d: datetime | None) -> float | None:
    return d.timestamp() if d else None


def matches(node: Node, doc: Doc) -> bool:
    m = doc.message
    if isinstance(node, All):
        return True
    if isinstance(node, And):
        return all(matches(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(matches(c, doc) for c in node.children)
    if isinstance(node, Not):
        return not matches(node.child, doc)
    if isinstance(node, Term):
        return _term(node, doc)
    if isinstance(node, Field):
        return m.channel == node.channel
    if isinstance(node, HasAttachment):
        return any(not a.inline for a in m.attachments)
    if isinstance(node, FlagIs):
        return (node.flag in m.flags) == node.value
    if isinstance(node, PriorityIs):
        return m.priority == node.priority
    if isinstance(node, DateRange):
        t = _ts(m.date)
        if t is None:
            return False
        if node.after is not None and t < node.after.timestamp():
            return False
        return not (node.before is not None and t >= node.before.timestamp())
    if isinstance(node, SizeRange):
        if node.larger is not None and not m.size > node.larger:
            return False
        return not (node.smaller is not None and not m.size < node.smaller)
    raise TypeError(node)


__all__ = ["Doc", "Flag", "make_doc", "matches", "tokens"]
