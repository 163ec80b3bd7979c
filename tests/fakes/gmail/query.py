"""The ``q`` search language of the Gmail fake: :func:`compile_q` turns a query into a predicate."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

# --------------------------------------------------------------------------- the q language
# Supported: from: to: cc: bcc: subject: filename: rfc822msgid: label: in: is: has:attachment
# after: before: larger: smaller:, plain words (whole-word, case-insensitive), "phrases", OR,
# -/NOT, ( ) and { } (any of).  Dates: epoch seconds or YYYY/MM/DD (UTC).

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(\{)|(\})|(-)(?=\S)|("[^"]*")|([^\s(){}"]+(?:"[^"]*")?))')
_WORD = re.compile(r"[^\W_]+")


class Searchable(Protocol):
    def header_text(self, name: str) -> str: ...
    def all_text(self) -> str: ...
    def label_names(self) -> set[str]: ...
    def label_ids(self) -> set[str]: ...
    def message_id(self) -> str: ...
    def has_attachment(self) -> bool: ...
    def filenames(self) -> list[str]: ...
    def epoch(self) -> float: ...
    def size(self) -> int: ...


Pred = Callable[[Searchable], bool]


@dataclass
class _Tok:
    kind: str  # ( ) { } - phrase term
    text: str


def _tokens(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(q):
        if q[pos:].strip() == "":
            break
        m = _TOKEN.match(q, pos)
        if m is None:
            raise ValueError(f"cannot read q at {pos}: {q!r}")
        pos = m.end()
        kinds = ("(", ")", "{", "}", "-", "phrase", "term")
        for kind, group in zip(kinds, m.groups(), strict=True):
            if group is not None:
                out.append(_Tok(kind, group))
                break
    return out


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _has_words(haystack: str, needle: str) -> bool:
    want = _words(needle)
    if not want:
        return needle.casefold() in haystack.casefold()
    have = _words(haystack)
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


def _label_key(name: str) -> str:
    return re.sub(r"[\s/]+", "-", name.strip()).casefold()


def _when(value: str) -> float:
    if value.isdigit():
        return float(value)
    y, m, d = (int(x) for x in value.replace("-", "/").split("/"))
    return datetime(y, m, d, tzinfo=UTC).timestamp()


_IN = {
    "inbox": "INBOX", "sent": "SENT", "drafts": "DRAFT", "draft": "DRAFT", "spam": "SPAM",
    "trash": "TRASH", "starred": "STARRED", "important": "IMPORTANT", "unread": "UNREAD",
}  # fmt: skip


def _field(op: str, value: str) -> Pred:
    value = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    low = value.casefold()
    if op in ("from", "to", "cc", "bcc"):
        return lambda m: _has_words(m.header_text(op), value) or low in m.header_text(op).casefold()
    if op == "subject":
        return lambda m: _has_words(m.header_text("subject"), value)
    if op == "filename":
        return lambda m: any(low in f.casefold() for f in m.filenames())
    if op == "rfc822msgid":
        bare = value.strip("<>")
        return lambda m: m.message_id() == bare
    if op == "label":
        return lambda m: _label_key(value) in {_label_key(n) for n in m.label_names()}
    if op == "in":
        if low == "anywhere":
            return lambda m: True
        label = _IN.get(low)
        return lambda m: label is not None and label in m.label_ids()
    if op == "is":
        if low == "read":
            return lambda m: "UNREAD" not in m.label_ids()
        label = _IN.get(low)
        return lambda m: label is not None and label in m.label_ids()
    if op == "has":
        return lambda m: low == "attachment" and m.has_attachment()
    if op == "after":
        t = _when(value)
        return lambda m: m.epoch() >= t
    if op == "before":
        t = _when(value)
        return lambda m: m.epoch() < t
    if op == "larger":
        n = int(value)
        return lambda m: m.size() > n
    if op == "smaller":
        n = int(value)
        return lambda m: m.size() < n
    raise ValueError(f"the Gmail fake does not understand {op}:")


class _Parser:
    def __init__(self, q: str) -> None:
        self.toks = _tokens(q)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expr(self, closer: str | None = None) -> Pred:
        alternatives = [self.conj(closer)]
        while (t := self.peek()) is not None and t.kind == "term" and t.text == "OR":
            self.take()
            alternatives.append(self.conj(closer))
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda m: any(p(m) for p in alternatives)

    def conj(self, closer: str | None) -> Pred:
        parts: list[Pred] = []
        while (t := self.peek()) is not None and t.kind != closer:
            if t.kind == "term" and t.text == "OR":
                break
            parts.append(self.unary())
        return lambda m: all(p(m) for p in parts)

    def unary(self) -> Pred:
        t = self.take()
        if t.kind == "-" or (t.kind == "term" and t.text == "NOT"):
            inner = self.unary()
            return lambda m: not inner(m)
        if t.kind == "(":
            inner = self.expr(")")
            self.take()
            return inner
        if t.kind == "{":
            items: list[Pred] = []
            while (nxt := self.peek()) is not None and nxt.kind != "}":
                items.append(self.unary())
            self.take()
            return lambda m: any(p(m) for p in items)
        if t.kind == "phrase":
            text = t.text[1:-1]
            return lambda m: _has_words(m.all_text(), text)
        if ":" in t.text:
            op, value = t.text.split(":", 1)
            return _field(op.casefold(), value)
        word = t.text
        return lambda m: _has_words(m.all_text(), word)


def compile_q(q: str) -> Pred:
    """A predicate for ``q`` (``""`` matches everything)."""
    parser = _Parser(q)
    pred = parser.expr()
    if parser.peek() is not None:
        raise ValueError(f"unbalanced q: {q!r}")
    return pred
