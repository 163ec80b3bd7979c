"""Compile the query tree (``services.query.ast``) to SQL over the store's schema.

Text terms become FTS5 ``MATCH`` expressions in which every user string is an
FTS5 string literal (``"..."`` with ``"`` doubled, NUL removed), so operators
such as ``NEAR(``, ``*``, ``-``, ``:`` or stray quotes in user input are just
text: hostile input can neither raise an SQLite error nor inject syntax.  A word
with no token characters (``"-"``, ``"@@"``) is dropped; a term left with no
words matches nothing.

Field terms (from, to, cc, bcc, subject, attachment, contact) read the ``fields``
column, where each field's tokens carry their own prefix character
(``services.store.fieldterms``): ``from:bob`` is ``fields : ("\ue001bob")``, which
reads only the doclist of bob-as-sender, instead of a column filter over every
column's "bob" (``USE_FIELDS_COLUMN = False`` compiles the column filters; the
matches are the same).  A term with no field still searches the other columns
only: one holding a prefix character names them.

Structure: an ``And``/``Or`` whose children are all text terms (``Not`` allowed
under ``And`` next to a positive term) becomes *one* ``MATCH``; anything else
becomes SQL, with FTS parts as ``m.id IN (SELECT rowid FROM fts WHERE fts MATCH
?)`` subqueries.  Everything is bound as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.models import ChannelKind, SortOrder
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
from services.store import fieldterms
from services.store.fieldterms import (
    ANY_COLUMNS,
    ATT_NAMES,
    FIELDS_COLUMN,
    PREFIX_CHARS,
    RCPT_BCC,
    RCPT_CC,
    RCPT_TO,
    SENDER,
    SUBJECT,
)
from services.store.prepare import FLAG_BITS, to_epoch

__all__ = ["FTS_IN", "Compiled", "QueryLike", "channel_sql", "compile_node", "fts_expression",
           "fts_literal", "order_by"]

FTS_COLUMNS: dict[TextField, tuple[str, ...]] = {
    TextField.ANY: (),
    TextField.FROM: ("sender",),
    TextField.TO: ("rcpt_to", "rcpt_cc", "rcpt_bcc"),
    TextField.CC: ("rcpt_cc",),
    TextField.BCC: ("rcpt_bcc",),
    TextField.SUBJECT: ("subject",),
    TextField.BODY: ("body",),
    TextField.ATTACHMENT: ("att_names",),
    TextField.CONTACT: ("sender", "rcpt_to", "rcpt_cc", "rcpt_bcc"),
}

#: Prefixes of a field's tokens in the ``fields`` column (``services.store.fieldterms``):
#: a field term reads only its own field's doclists instead of filtering the term's
#: hits in every column by column.
FIELD_PREFIXES: dict[TextField, tuple[str, ...]] = {
    TextField.FROM: (SENDER,),
    TextField.TO: (RCPT_TO, RCPT_CC, RCPT_BCC),
    TextField.CC: (RCPT_CC,),
    TextField.BCC: (RCPT_BCC,),
    TextField.SUBJECT: (SUBJECT,),
    TextField.ATTACHMENT: (ATT_NAMES,),
    TextField.CONTACT: (SENDER, RCPT_TO, RCPT_CC, RCPT_BCC),
}
#: False compiles field terms to column filters over the field columns (the same
#: matches; tests compare the two).
USE_FIELDS_COLUMN = True
#: FTS5 cuts tokens at 32768 bytes; a prefixed token is 3 bytes longer, so values that
#: could hold such a token use the column filter.
_LONGEST_PREFIXED = 8000

FTS_IN = "m.id IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
_FTS_IN = FTS_IN

_SORT_SQL = {
    "date": "m.date",
    "from": "coalesce(nullif(m.sender_name, ''), m.sender_addr) COLLATE NOCASE",
    "subject": "m.subject COLLATE NOCASE",
    "size": "m.size",
}


class QueryLike(Protocol):
    """What the store reads from ``services.query.builder.EmailQuery``."""

    @property
    def node(self) -> Node: ...

    @property
    def max_results(self) -> int | None: ...

    @property
    def offset_value(self) -> int: ...

    @property
    def sort_keys(self) -> Sequence[tuple[str, SortOrder]]: ...


@dataclass(frozen=True, slots=True)
class Compiled:
    """A WHERE clause over ``messages m`` and its parameters.  ``fts_only`` is the
    single MATCH expression when the whole query is one (fast counting)."""

    where: str
    params: tuple[object, ...]
    fts_only: str | None = None
    fts_driver: str | None = None  # MATCH that every hit must satisfy (``where`` is
    # ``m.id IN (... MATCH ?) [AND ...]`` and this is its first parameter)
    rest_indexed: bool = False  # the part after the driver is one conjunct an index of
    # ``messages`` serves (flags, attachments, folder, channel, account, Message-ID,
    # date range): the column-driven plans of ``Store`` may read that index alone and
    # filter by the full-text hits
    rest_dated: bool = False  # ... and it is a date range (the date-index walk is bounded)

    @property
    def rest(self) -> tuple[str, tuple[object, ...]] | None:
        """``(where, params)`` of the part after the driver, None without one."""
        if self.fts_driver is None or not self.where.startswith(FTS_IN + " AND "):
            return None
        return self.where[len(FTS_IN) + 5:], self.params[1:]


def fts_literal(text: str) -> str:
    """``text`` as an FTS5 string literal."""
    return '"' + text.replace("\x00", " ").replace('"', '""') + '"'


def _has_token(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _phrases(term: Term) -> list[tuple[str, bool]]:
    """The term's phrases (text, prefix query) that have a token: one for a quoted
    term, one per word otherwise (all must match)."""
    value = term.value.strip()
    if term.phrase:
        text = value.rstrip("*")
        return [(text, value.endswith("*"))] if _has_token(text) else []
    words = value.split()
    out: list[tuple[str, bool]] = []
    for i, word in enumerate(words):
        prefix = i == len(words) - 1 and word.endswith("*")
        text = word.rstrip("*") if prefix else word
        if _has_token(text):
            out.append((text, prefix))
    return out


def _field_expression(phrases: list[tuple[str, bool]], prefixes: tuple[str, ...]) -> str:
    """``phrases`` over the field(s) whose tokens carry ``prefixes`` in ``fields``: each
    phrase with its tokens prefixed, in any one of the fields."""
    parts: list[str] = []
    for text, prefix in phrases:
        star = "*" if prefix else ""
        alts = [fts_literal(fieldterms.mark(text, p)) + star for p in prefixes]
        parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    return FIELDS_COLUMN + " : (" + " AND ".join(parts) + ")"


def _term_expression(term: Term) -> str | None:
    """The MATCH expression of one text term, None when it has no token at all."""
    phrases = _phrases(term)
    if not phrases:
        return None
    prefixes = FIELD_PREFIXES.get(term.field)
    if (prefixes is not None and USE_FIELDS_COLUMN
            and len(term.value) <= _LONGEST_PREFIXED):
        return _field_expression(phrases, prefixes)
    expr = " AND ".join(fts_literal(text) + ("*" if prefix else "") for text, prefix in phrases)
    columns = FTS_COLUMNS[term.field]
    if not columns and any(ch in PREFIX_CHARS for ch in term.value):
        columns = ANY_COLUMNS  # could match a prefixed token of ``fields``
    if columns:
        return "{" + " ".join(columns) + "} : (" + expr + ")"
    return expr


def fts_expression(node: Node) -> str | None:
    """One MATCH expression for ``node`` if it can be expressed in FTS5 alone."""
    if isinstance(node, Term):
        if node.field not in FTS_COLUMNS:
            return None
        return _term_expression(node)
    if isinstance(node, Or):
        parts = [fts_expression(c) for c in node.children]
        if not parts or any(p is None for p in parts):
            return None
        return " OR ".join(f"({p})" for p in parts)
    if isinstance(node, And):
        positive: list[str] = []
        negative: list[str] = []
        for child in node.children:
            if isinstance(child, Not):
                expr = fts_expression(child.child)
                if expr is None:
                    return None
                negative.append(expr)
            else:
                expr = fts_expression(child)
                if expr is None:
                    return None
                positive.append(expr)
        if not positive:
            return None
        out = " AND ".join(f"({p})" for p in positive)
        for neg in negative:
            out = f"({out}) NOT ({neg})"
        return out
    return None


_ALL_FLAGS = sum(FLAG_BITS.values())


def _flag_sql(bit: int, value: bool) -> str:
    """``flags`` has ``bit`` set (or clear) as an ``IN`` list over every possible bitmask
    (flags only ever hold FLAG_BITS), so the ``messages_flags`` index serves it: a
    count reads only the matching index entries instead of testing every row."""
    values = ",".join(str(v) for v in range(_ALL_FLAGS + 1) if bool(v & bit) == value)
    return f"m.flags IN ({values})"


class _Compiler:
    def __init__(self) -> None:
        self.params: list[object] = []

    def sql(self, node: Node) -> str:
        expr = fts_expression(node)
        if expr is not None:
            self.params.append(expr)
            return _FTS_IN
        if isinstance(node, All):
            return "1"
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, And):
            return self._junction(node.children, "AND")
        if isinstance(node, Or):
            return self._junction(node.children, "OR")
        if isinstance(node, Not):
            if isinstance(node.child, FlagIs):  # flags is NOT NULL: the index serves it
                return _flag_sql(FLAG_BITS[node.child.flag], not node.child.value)
            # NULL (an unknown column) must count as false before negating
            return f"NOT coalesce(({self.sql(node.child)}), 0)"
        if isinstance(node, Field):
            self.params.append(str(node.channel))
            return channel_sql(str(node.channel))
        if isinstance(node, HasAttachment):
            return "m.has_attachments = 1"
        if isinstance(node, FlagIs):
            return _flag_sql(FLAG_BITS[node.flag], node.value)
        if isinstance(node, PriorityIs):
            self.params.append(int(node.priority))
            return "m.priority = ?"
        if isinstance(node, DateRange):
            return self._range("m.date", ">=", to_epoch(node.after), "<", to_epoch(node.before))
        if isinstance(node, SizeRange):
            return self._range("m.size", ">", node.larger, "<", node.smaller)
        raise TypeError(f"unknown query node {node!r}")

    def _range(self, col: str, lo_op: str, lo: int | None, hi_op: str, hi: int | None) -> str:
        terms: list[str] = []
        if lo is not None:
            terms.append(f"{col} {lo_op} ?")
            self.params.append(lo)
        if hi is not None:
            terms.append(f"{col} {hi_op} ?")
            self.params.append(hi)
        if not terms:
            return f"{col} IS NOT NULL"
        return "(" + " AND ".join([f"{col} IS NOT NULL", *terms]) + ")"

    def _term(self, term: Term) -> str:
        value = term.value.strip()
        if term.field == TextField.FOLDER:
            key = value.casefold()
            self.params.extend([key, key])
            return ("(m.folder_id IN (SELECT id FROM folders WHERE name_key = ?) OR "
                    "m.id IN (SELECT message_id FROM labels WHERE label_key = ?))")
        if term.field == TextField.ACCOUNT:
            self.params.append(value)
            return "m.account_id IN (SELECT id FROM accounts WHERE name = ? COLLATE NOCASE)"
        if term.field == TextField.MESSAGE_ID:
            self.params.append(value.strip("<>").strip())
            return "m.message_id = ?"
        return "0"  # a text term with no searchable word matches nothing

    def _junction(self, children: Sequence[Node], op: str) -> str:
        merged: list[str] = []
        parts: list[str] = []
        rest: list[Node] = []
        for child in children:
            expr = fts_expression(child)
            if expr is not None:
                merged.append(expr)
            else:
                rest.append(child)
        if op == "AND" and merged:  # fold negated text terms into the one MATCH
            keep: list[Node] = []
            for child in rest:
                neg = fts_expression(child.child) if isinstance(child, Not) else None
                if neg is not None:
                    merged[-1] = f"({merged[-1]}) NOT ({neg})"
                else:
                    keep.append(child)
            rest = keep
        if merged:
            self.params.append(f" {op} ".join(f"({m})" for m in merged))
            parts.append(_FTS_IN)
        parts.extend(f"({self.sql(child)})" for child in rest)
        if not parts:
            return "1" if op == "AND" else "0"
        return f" {op} ".join(parts)


def channel_sql(channel: str) -> str:
    """``m.channel = ?`` (the parameter: ``channel``), with the condition of the partial
    index ``messages_channel`` for any channel but e-mail, so that the index serves it."""
    if channel == ChannelKind.EMAIL:
        return "m.channel = ?"
    return "m.channel = ? AND m.channel <> 'email'"


_INDEXED_FIELDS = (TextField.FOLDER, TextField.ACCOUNT, TextField.MESSAGE_ID)


def _indexed(node: Node) -> bool:
    """Whether ``node``'s SQL is one an index of ``messages`` serves (a conjunct of it
    narrows the rows the planner reads)."""
    if isinstance(node, Field):
        return node.channel != ChannelKind.EMAIL  # e-mail: the rows the index leaves out
    if isinstance(node, FlagIs | HasAttachment):
        return True
    if isinstance(node, Not):
        return isinstance(node.child, FlagIs)
    if isinstance(node, Term):
        return node.field in _INDEXED_FIELDS
    return False


def compile_node(node: Node) -> Compiled:
    """The WHERE clause (over ``messages m``) for ``node``."""
    compiler = _Compiler()
    where = compiler.sql(node)
    fts_only = fts_expression(node)
    driver: str | None = None
    indexed = dated = False
    if where == _FTS_IN or where.startswith(_FTS_IN + " AND "):
        driver = str(compiler.params[0])
        if isinstance(node, And) and where != _FTS_IN:
            rest = [c for c in node.children if fts_expression(c) is None and not (
                isinstance(c, Not) and fts_expression(c.child) is not None)]
            # one range of one index (more: the planner reads one index, looks rows up)
            dated = bool(rest) and all(isinstance(c, DateRange) for c in rest)
            indexed = dated or (len(rest) == 1 and _indexed(rest[0]))
    return Compiled(where, tuple(compiler.params), fts_only, driver, indexed, dated)


def order_by(sort_keys: Sequence[tuple[str, SortOrder]], *, sort_hits: bool = False) -> str:
    """ORDER BY clause for the query's sort keys (ties broken by id).  ``sort_hits``:
    the date key as ``+m.date`` so that no index serves the order (the planner then
    reads the index that narrows the rows and sorts the hits)."""
    items: list[str] = []
    first_desc = True
    for i, (key, order) in enumerate(sort_keys or (("date", SortOrder.DESC),)):
        column = _SORT_SQL.get(str(key))
        if column == "m.date" and sort_hits:
            column = "+m.date"
        if column is None:
            raise ValueError(f"unknown sort key {key!r}")
        desc = SortOrder(order) == SortOrder.DESC
        if i == 0:
            first_desc = desc
        items.append(f"{column} {'DESC' if desc else 'ASC'}")
    items.append(f"m.id {'DESC' if first_desc else 'ASC'}")
    return "ORDER BY " + ", ".join(items)
