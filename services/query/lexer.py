"""Tokenizer for the query text syntax (see ``docs/query-language.md``).

Produces a flat list of :class:`Token`; the recursive-descent parser in
:mod:`services.query.parser` gives them meaning.  A *term* token carries an
optional field name (``from`` in ``from:alice``) and its value, which is bare
(``alice``), quoted (``"two words"``, backslash escapes) or a group
(``subject:(two words)``, read up to the closing parenthesis).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from services.errors import QuerySyntaxError

__all__ = ["Kind", "Token", "tokenize"]

OPERATORS = frozenset({"AND", "OR", "NOT"})
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(.*)", re.DOTALL)
_BARE_STOP = frozenset('()"')


class Kind(enum.Enum):
    LPAREN = "("
    RPAREN = ")"
    MINUS = "-"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    TERM = "term"


class Style(enum.StrEnum):
    BARE = "bare"
    QUOTED = "quoted"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    pos: int
    value: str = ""
    field: str = ""  # lower-cased field name of a term, "" for a plain word
    style: Style = Style.BARE
    value_pos: int = 0


def _read_delimited(text: str, start: int, close: str, what: str) -> tuple[str, int]:
    """Read from ``text[start]`` (the opening char) to the unescaped ``close``."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == close:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise QuerySyntaxError(
        f"unterminated {what}: expected a closing {close} (at position {start})",
        query=text,
        position=start,
    )


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c.isspace():
                self.i += 1
            elif c in "()":
                self.tokens.append(Token(Kind.LPAREN if c == "(" else Kind.RPAREN, self.i))
                self.i += 1
            elif c == "-":
                self.tokens.append(Token(Kind.MINUS, self.i))
                self.i += 1
            elif c == '"':
                start = self.i
                value, self.i = _read_delimited(text, start, '"', "quote")
                self.tokens.append(Token(Kind.TERM, start, value, "", Style.QUOTED, start))
            else:
                self._bare()
        return self.tokens

    def _bare(self) -> None:
        text, start = self.text, self.i
        end = start
        while end < len(text) and not text[end].isspace() and text[end] not in _BARE_STOP:
            end += 1
        run = text[start:end]
        self.i = end
        if run in OPERATORS:
            self.tokens.append(Token(Kind[run], start, run))
            return
        m = _FIELD.fullmatch(run)
        if not m:
            self.tokens.append(Token(Kind.TERM, start, run, "", Style.BARE, start))
            return
        field, value = m[1].lower(), m[2]
        value_pos = start + len(m[1]) + 1
        style = Style.BARE
        if not value and end < len(text) and text[end] in '"(':
            close, what = ('"', "quote") if text[end] == '"' else (")", "group")
            value, self.i = _read_delimited(text, end, close, what)
            style = Style.QUOTED if close == '"' else Style.GROUP
        self.tokens.append(Token(Kind.TERM, start, value, field, style, value_pos))


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`QuerySyntaxError` on unclosed quotes."""
    return _Lexer(text).run()
