"""Text query syntax → :mod:`services.query.ast` tree.

A small recursive-descent parser over :func:`services.query.lexer.tokenize`.
Grammar (precedence NOT > AND > OR; juxtaposition is AND)::

    query   := or_expr?
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | "(" or_expr ")" | term

The full syntax reference is ``docs/query-language.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime

from services.errors import QuerySyntaxError
from services.models import ChannelKind, Flag, Priority
from services.query import values
from services.query.ast import (
    All,
    DateRange,
    Field,
    FlagIs,
    HasAttachment,
    Node,
    Not,
    PriorityIs,
    SizeRange,
    TextField,
    and_,
    or_,
)
from services.query.lexer import Kind, Style, Token, tokenize

__all__ = ["FLAG_WORDS", "TEXT_FIELDS", "parse_query"]

TEXT_FIELDS: dict[str, TextField] = {
    "text": TextField.ANY,
    "from": TextField.FROM,
    "to": TextField.TO,
    "cc": TextField.CC,
    "bcc": TextField.BCC,
    "subject": TextField.SUBJECT,
    "body": TextField.BODY,
    "attachment": TextField.ATTACHMENT,
    "filename": TextField.ATTACHMENT,
    "folder": TextField.FOLDER,
    "in": TextField.FOLDER,
    "label": TextField.FOLDER,
    "account": TextField.ACCOUNT,
    "contact": TextField.CONTACT,
    "id": TextField.MESSAGE_ID,
    "rfc822msgid": TextField.MESSAGE_ID,
}

#: ``is:<word>`` → flag state.
FLAG_WORDS: dict[str, FlagIs] = {
    "unread": FlagIs(Flag.SEEN, False),
    "read": FlagIs(Flag.SEEN, True),
    "seen": FlagIs(Flag.SEEN, True),
    "unseen": FlagIs(Flag.SEEN, False),
    "flagged": FlagIs(Flag.FLAGGED, True),
    "starred": FlagIs(Flag.FLAGGED, True),
    "unflagged": FlagIs(Flag.FLAGGED, False),
    "unstarred": FlagIs(Flag.FLAGGED, False),
    "answered": FlagIs(Flag.ANSWERED, True),
    "replied": FlagIs(Flag.ANSWERED, True),
    "unanswered": FlagIs(Flag.ANSWERED, False),
    "draft": FlagIs(Flag.DRAFT, True),
    "undraft": FlagIs(Flag.DRAFT, False),
    "deleted": FlagIs(Flag.DELETED, True),
    "undeleted": FlagIs(Flag.DELETED, False),
}

_OTHER_FIELDS = (
    "has", "is", "after", "before", "date", "newer_than", "older_than",
    "channel", "larger", "smaller", "size", "priority",
)  # fmt: skip
KNOWN_FIELDS = tuple(TEXT_FIELDS) + _OTHER_FIELDS


def _days(value: str) -> tuple[datetime | None, datetime | None]:
    lo, sep, hi = value.partition("..")
    if not sep:
        return values.to_start(value), values.to_end(value, inclusive_day=True)
    return (
        values.to_start(lo) if lo.strip() else None,
        values.to_end(hi, inclusive_day=True) if hi.strip() else None,
    )


def _sizes(value: str) -> SizeRange:
    v = value.strip()
    if v.startswith(">"):
        return SizeRange(larger=values.parse_size(v[1:]))
    if v.startswith("<"):
        return SizeRange(smaller=values.parse_size(v[1:]))
    lo, sep, hi = v.partition("..")
    if not sep:
        lo = hi = v
    low = values.parse_size(lo) if lo.strip() else 0
    return SizeRange(
        larger=low - 1 if low > 0 else None,
        smaller=values.parse_size(hi) + 1 if hi.strip() else None,
    )


def _choice(value: str, options: dict[str, Node], what: str) -> Node:
    node = options.get(value.strip().lower())
    if node is None:
        raise ValueError(f"unknown {what} {value!r}: use one of {', '.join(options)}")
    return node


class _Parser:
    def __init__(self, text: str, now: datetime) -> None:
        self.text = text
        self.now = now
        self.tokens = tokenize(text)
        self.i = 0

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(f"{message} (at position {position})", query=self.text,
                                position=position)

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            return All()
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop or_expr early
            raise self.error("unbalanced parentheses: ')' without a matching '('", tok.pos)
        return node

    def or_expr(self) -> Node:
        parts = [self.unary_seq(None)]
        while (tok := self.peek()) is not None and tok.kind is Kind.OR:
            self.take()
            parts.append(self.unary_seq("OR"))
        return or_(*parts)

    def unary_seq(self, after: str | None) -> Node:
        parts = [self.unary(after)]
        while (tok := self.peek()) is not None and tok.kind not in (Kind.OR, Kind.RPAREN):
            if tok.kind is Kind.AND:
                self.take()
                parts.append(self.unary("AND"))
            else:
                parts.append(self.unary(None))
        return and_(*parts)

    def unary(self, after: str | None) -> Node:
        tok = self.peek()
        where = f" after {after}" if after else ""
        if tok is None:
            raise self.error(f"expected a search term{where} at the end of the query",
                             len(self.text))
        if tok.kind in (Kind.AND, Kind.OR):
            raise self.error(f"expected a search term{where or ' before ' + tok.kind.value}"
                             f"{', found ' + tok.kind.value if after else ''}", tok.pos)
        if tok.kind is Kind.RPAREN:
            raise self.error(f"expected a search term{where}, found ')'", tok.pos)
        self.take()
        if tok.kind in (Kind.NOT, Kind.MINUS):
            return Not(self.unary(tok.kind.value))
        if tok.kind is Kind.LPAREN:
            nxt = self.peek()
            if nxt is not None and nxt.kind is Kind.RPAREN:
                raise self.error("empty parentheses: expected a search term inside", tok.pos)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind is not Kind.RPAREN:
                raise self.error(
                    "unbalanced parentheses: '(' is never closed",
                    tok.pos,
                )
            self.take()
            return node
        return self.term(tok)

    def term(self, tok: Token) -> Node:
        quoted = tok.style is Style.QUOTED
        if not tok.field and not quoted and tok.value == "*":
            return All()  # notmuch's "match everything"
        if not tok.field:
            return self.value(tok, lambda v: values.make_term(TextField.ANY, v, quoted=quoted))
        if tok.field not in KNOWN_FIELDS:
            near = difflib.get_close_matches(tok.field, KNOWN_FIELDS, n=1, cutoff=0.6)
            hint = (f"did you mean '{near[0]}:'?" if near
                    else "put the word in quotes to search for it as text")
            raise self.error(f"unknown field '{tok.field}:'; {hint}", tok.pos)
        if not tok.value.strip():
            raise self.error(f"expected a value after '{tok.field}:'", tok.value_pos)
        text_field = TEXT_FIELDS.get(tok.field)
        if text_field is not None:
            return self.value(tok, lambda v: values.make_term(text_field, v, quoted=quoted))
        return self.value(tok, getattr(self, "_f_" + tok.field))

    def value(self, tok: Token, build: Callable[[str], Node]) -> Node:
        try:
            return build(tok.value)
        except ValueError as exc:
            label = f"{tok.field}:" if tok.field else "search term:"
            raise self.error(f"{label} {exc}", tok.value_pos) from exc

    # -- one method per non-text field ------------------------------------------------
    def _f_has(self, v: str) -> Node:
        return _choice(v, {"attachment": HasAttachment(), "attachments": HasAttachment()},
                       "has: value")

    def _f_is(self, v: str) -> Node:
        return _choice(v, dict(FLAG_WORDS), "is: value")

    def _f_after(self, v: str) -> Node:
        return DateRange(after=values.to_start(v))

    def _f_before(self, v: str) -> Node:
        return DateRange(before=values.to_end(v, inclusive_day=False))

    def _f_date(self, v: str) -> Node:
        after, before = _days(v)
        return DateRange(after=after, before=before)

    def _f_newer_than(self, v: str) -> Node:
        return DateRange(after=self.now - values.parse_duration(v))

    def _f_older_than(self, v: str) -> Node:
        return DateRange(before=self.now - values.parse_duration(v))

    def _f_channel(self, v: str) -> Node:
        return _choice(v, {c.value: Field(c) for c in ChannelKind}, "channel")

    def _f_larger(self, v: str) -> Node:
        return SizeRange(larger=values.parse_size(v))

    def _f_smaller(self, v: str) -> Node:
        return SizeRange(smaller=values.parse_size(v))

    def _f_size(self, v: str) -> Node:
        return _sizes(v)

    def _f_priority(self, v: str) -> Node:
        return PriorityIs(Priority.parse(v))


def parse_query(text: str, *, now: datetime | None = None) -> Node:
    """Parse the text syntax into a tree (``All()`` for an empty query).

    ``now`` anchors ``newer_than:``/``older_than:`` (default: the current time).
    Raises :class:`QuerySyntaxError` with ``position`` set on any mistake.
    """
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query must be text, not {type(text).__name__}")
    return _Parser(text, now or datetime.now(UTC)).parse()
