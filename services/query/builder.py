"""``EmailQuery``: the fluent query builder (spec "Advanced Email Query System").

Every method adds a condition (AND) and returns ``self``, so both chaining and
``q.is_unread()`` work::

    q = (EmailQuery().from_sender("boss@company.com").subject_contains("urgent")
         .has_attachment().date_range("2024-01-01", "2024-12-31").is_unread()
         .priority("high").limit(50).sort_by("date", SortOrder.DESC))

``EmailQuery.parse(text)`` builds the same tree from the text syntax, and
``to_text()`` writes it back.  Bad arguments raise :class:`ValidationError`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NoReturn, TypeVar

from services.errors import ValidationError
from services.models import ChannelKind, Contact, Flag, Priority, SortOrder
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
from services.query.parser import parse_query
from services.query.text import to_text

__all__ = ["EmailQuery", "SortField", "SortOrder"]

E = TypeVar("E", bound=enum.StrEnum)


class SortField(enum.StrEnum):
    DATE = "date"
    FROM = "from"
    SUBJECT = "subject"
    SIZE = "size"


def _invalid(message: str, exc: Exception | None = None) -> NoReturn:
    raise ValidationError(message) from exc


def _enum_value(kind: type[E], value: object, what: str) -> E:
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip().lower())
        except ValueError:
            pass
    _invalid(f"unknown {what} {value!r}: use one of {', '.join(m.value for m in kind)}")


class EmailQuery:
    """A condition tree plus paging and sorting, built fluently or parsed from text."""

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, node: Node | None = None) -> None:
        self._parts: list[Node] = [] if node is None or isinstance(node, All) else [node]
        self.max_results: int | None = None
        self.offset_value: int = 0
        self._sort: list[tuple[SortField, SortOrder]] = []

    # -- reading --------------------------------------------------------------------
    @property
    def node(self) -> Node:
        """The whole condition tree (``All()`` when nothing was added)."""
        return and_(*self._parts)

    @property
    def sort_keys(self) -> tuple[tuple[SortField, SortOrder], ...]:
        """Sort keys in order; ``((DATE, DESC),)`` unless ``sort_by`` was called."""
        return tuple(self._sort) or ((SortField.DATE, SortOrder.DESC),)

    @sort_keys.setter
    def sort_keys(self, keys: Iterable[tuple[str | SortField, str | SortOrder]]) -> None:
        self._sort = []
        for key, order in keys:
            self.sort_by(key, order)

    @classmethod
    def from_node(cls, node: Node) -> EmailQuery:
        """A query whose condition is ``node`` (no limit, default sort)."""
        return cls(node)

    def copy(self) -> EmailQuery:
        """An independent copy (same condition, paging and sorting)."""
        other = EmailQuery(self.node)
        other.max_results, other.offset_value = self.max_results, self.offset_value
        other._sort = list(self._sort)
        return other

    def to_text(self) -> str:
        """The condition in the text syntax; ``EmailQuery.parse`` reads it back."""
        return to_text(self.node)

    @classmethod
    def parse(cls, text: str) -> EmailQuery:
        return cls(parse_query(text))

    @classmethod
    def any_of(cls, *queries: EmailQuery | Node | str) -> EmailQuery:
        """Messages matching at least one of ``queries``."""
        if not queries:
            _invalid("any_of() needs at least one query")
        return cls(or_(*(_as_node(q) for q in queries)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmailQuery):
            return NotImplemented
        return (self.node, self.max_results, self.offset_value, self.sort_keys) == (
            other.node, other.max_results, other.offset_value, other.sort_keys)

    def __repr__(self) -> str:
        extra = "" if self.max_results is None else f", limit={self.max_results}"
        extra += f", offset={self.offset_value}" if self.offset_value else ""
        keys = ", ".join(f"{f.value} {o.value}" for f, o in self.sort_keys)
        return f"EmailQuery({self.to_text()!r}{extra}, sort=[{keys}])"

    # -- combining ------------------------------------------------------------------
    def where(self, condition: EmailQuery | Node | str) -> EmailQuery:
        """AND an arbitrary tree, another query's condition or a text query."""
        return self._add(_as_node(condition))

    def exclude(self, other: EmailQuery | Node | str) -> EmailQuery:
        """Messages NOT matching ``other``."""
        node = _as_node(other)
        if isinstance(node, All):
            _invalid("exclude() needs a non-empty query (excluding everything leaves nothing)")
        return self._add(Not(node))

    def _add(self, node: Node) -> EmailQuery:
        if not isinstance(node, All):
            self._parts.append(node)
        return self

    def _text(self, field: TextField, value: object) -> EmailQuery:
        """Several (space-separated) words are a phrase, as if typed in quotes."""
        if not isinstance(value, str):
            _invalid(f"{field.value} expects text, not {type(value).__name__}")
        try:
            return self._add(values.make_term(field, value, quoted=len(value.split()) > 1))
        except ValueError as exc:
            _invalid(f"{field.value}: {exc}", exc)

    # -- text conditions --------------------------------------------------------------
    def from_sender(self, sender: str) -> EmailQuery:
        return self._text(TextField.FROM, sender)

    def to_recipient(self, recipient: str) -> EmailQuery:
        """In To, Cc or Bcc."""
        return self._text(TextField.TO, recipient)

    def cc(self, recipient: str) -> EmailQuery:
        return self._text(TextField.CC, recipient)

    def bcc(self, recipient: str) -> EmailQuery:
        return self._text(TextField.BCC, recipient)

    def subject_contains(self, text: str) -> EmailQuery:
        """Several words are a phrase (adjacent, in order)."""
        return self._text(TextField.SUBJECT, text)

    def body_contains(self, text: str) -> EmailQuery:
        return self._text(TextField.BODY, text)

    def contains(self, text: str) -> EmailQuery:
        """Anywhere: subject, addresses, body, attachment names."""
        return self._text(TextField.ANY, text)

    def attachment_named(self, name: str) -> EmailQuery:
        return self._text(TextField.ATTACHMENT, name)

    def in_folder(self, name: str) -> EmailQuery:
        return self._text(TextField.FOLDER, name)

    label = in_folder

    def account(self, name: str) -> EmailQuery:
        return self._text(TextField.ACCOUNT, name)

    def message_id(self, message_id: str) -> EmailQuery:
        return self._text(TextField.MESSAGE_ID, message_id)

    def contact(self, contact: Contact | str) -> EmailQuery:
        """Messages from or to any identity of ``contact``."""
        if isinstance(contact, str):
            return self._text(TextField.CONTACT, contact)
        if not isinstance(contact, Contact):
            _invalid(f"contact() expects a Contact or text, not {type(contact).__name__}")
        ids = [i for i in contact.identities() if i.strip()]
        if not ids:
            _invalid(f"contact {contact.name or contact!r} has no address, phone or handle")
        terms = [values.make_term(TextField.CONTACT, i, quoted=len(i.split()) > 1) for i in ids]
        return self._add(or_(*dict.fromkeys(terms)))

    # -- state ---------------------------------------------------------------------
    def has_attachment(self) -> EmailQuery:
        return self._add(HasAttachment())

    def is_unread(self) -> EmailQuery:
        return self._add(FlagIs(Flag.SEEN, False))

    def is_read(self) -> EmailQuery:
        return self._add(FlagIs(Flag.SEEN, True))

    def is_flagged(self) -> EmailQuery:
        return self._add(FlagIs(Flag.FLAGGED, True))

    def priority(self, level: str | int | Priority) -> EmailQuery:
        if isinstance(level, bool) or not isinstance(level, str | int):
            _invalid(f"unknown priority {level!r}: use low, normal or high")
        try:
            return self._add(PriorityIs(Priority.parse(level)))
        except ValueError as exc:
            _invalid(str(exc), exc)

    def channel(self, kind: str | ChannelKind) -> EmailQuery:
        return self._add(Field(_enum_value(ChannelKind, kind, "channel")))

    # -- dates and sizes -------------------------------------------------------------
    def date_range(self, start: values.DateInput, end: values.DateInput) -> EmailQuery:
        """From ``start`` through ``end``: a day ``end`` is included whole."""
        try:
            after = values.to_start(start)
            before = values.to_end(end, inclusive_day=True)
        except ValueError as exc:
            _invalid(f"date_range: {exc}", exc)
        if before <= after:
            _invalid(f"date_range: end {end!r} is before start {start!r}")
        return self._add(DateRange(after=after, before=before))

    def after(self, start: values.DateInput) -> EmailQuery:
        """On or after ``start`` (a day means from its 00:00 UTC)."""
        try:
            return self._add(DateRange(after=values.to_start(start)))
        except ValueError as exc:
            _invalid(f"after: {exc}", exc)

    def before(self, end: values.DateInput) -> EmailQuery:
        """Strictly before ``end`` (a day means before its 00:00 UTC, as Gmail's before:)."""
        try:
            return self._add(DateRange(before=values.to_end(end, inclusive_day=False)))
        except ValueError as exc:
            _invalid(f"before: {exc}", exc)

    def larger_than(self, size: int | str) -> EmailQuery:
        """Strictly larger than ``size`` bytes (``"10M"`` accepted)."""
        return self._add(SizeRange(larger=_size(size)))

    def smaller_than(self, size: int | str) -> EmailQuery:
        return self._add(SizeRange(smaller=_size(size)))

    # -- paging and sorting ----------------------------------------------------------
    def limit(self, n: int | None) -> EmailQuery:
        """At most ``n`` results (``None``: no limit)."""
        self.max_results = None if n is None else _count(n, "limit")
        return self

    def offset(self, n: int) -> EmailQuery:
        self.offset_value = _count(n, "offset")
        return self

    def sort_by(
        self, field: str | SortField, order: str | SortOrder = SortOrder.DESC
    ) -> EmailQuery:
        """Add a sort key; sorting again by the same field replaces its order."""
        key = _enum_value(SortField, field, "sort field")
        direction = _enum_value(SortOrder, order, "sort order")
        self._sort = [(f, o) for f, o in self._sort if f is not key]
        self._sort.append((key, direction))
        return self


def _as_node(value: EmailQuery | Node | str) -> Node:
    if isinstance(value, EmailQuery):
        return value.node
    if isinstance(value, str):
        return parse_query(value)
    return value


def _size(size: object) -> int:
    try:
        return values.parse_size(size)  # type: ignore[arg-type]  # checked inside
    except ValueError as exc:
        _invalid(str(exc), exc)


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        _invalid(f"{what} must be a whole number >= 0, not {n!r}")
    return n
