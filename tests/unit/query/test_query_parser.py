"""The text syntax: every element, precedence, and errors with positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.errors import QuerySyntaxError, ValidationError
from services.models import ChannelKind, Flag, Priority
from services.query import parse_query
from services.query.ast import (
    All,
    And,
    DateRange,
    Field,
    FlagIs,
    HasAttachment,
    Not,
    Or,
    PriorityIs,
    SizeRange,
    Term,
    TextField,
)

A, B, C = (Term(TextField.ANY, w) for w in "abc")
NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("", All()),
        ("   ", All()),
        ("from:alice", Term(TextField.FROM, "alice")),
        ("FROM:Alice", Term(TextField.FROM, "Alice")),
        ("to:bob", Term(TextField.TO, "bob")),
        ("cc:carol", Term(TextField.CC, "carol")),
        ("bcc:dave", Term(TextField.BCC, "dave")),
        ("subject:urgent", Term(TextField.SUBJECT, "urgent")),
        ('subject:"two words"', Term(TextField.SUBJECT, "two words", phrase=True)),
        ('subject:"one"', Term(TextField.SUBJECT, "one")),
        ("subject:(two words)", Term(TextField.SUBJECT, "two words")),
        ("body:hello", Term(TextField.BODY, "hello")),
        ("attachment:report.pdf", Term(TextField.ATTACHMENT, "report.pdf")),
        ("filename:report.pdf", Term(TextField.ATTACHMENT, "report.pdf")),
        ("folder:INBOX", Term(TextField.FOLDER, "INBOX")),
        ("in:inbox", Term(TextField.FOLDER, "inbox")),
        ('label:"My Folder"', Term(TextField.FOLDER, "My Folder")),
        ("account:work", Term(TextField.ACCOUNT, "work")),
        ("contact:+15551234567", Term(TextField.CONTACT, "+15551234567")),
        ("id:<abc@example.com>", Term(TextField.MESSAGE_ID, "abc@example.com")),
        ("rfc822msgid:abc@x", Term(TextField.MESSAGE_ID, "abc@x")),
        ('"exact phrase"', Term(TextField.ANY, "exact phrase", phrase=True)),
        ('"OR"', Term(TextField.ANY, "OR")),
        ("text:(a b)", Term(TextField.ANY, "a b")),
        ("repo*", Term(TextField.ANY, "repo*")),
        ("e-mail", Term(TextField.ANY, "e-mail")),
        ("has:attachment", HasAttachment()),
        ("is:unread", FlagIs(Flag.SEEN, False)),
        ("is:read", FlagIs(Flag.SEEN, True)),
        ("is:flagged", FlagIs(Flag.FLAGGED, True)),
        ("is:starred", FlagIs(Flag.FLAGGED, True)),
        ("is:answered", FlagIs(Flag.ANSWERED, True)),
        ("after:2024-01-01", DateRange(after=day(2024, 1, 1))),
        ("after:2024/1/2", DateRange(after=day(2024, 1, 2))),
        ("before:2024-12-31", DateRange(before=day(2024, 12, 31))),
        ("date:2024-01-01..2024-12-31", DateRange(day(2024, 1, 1), day(2025, 1, 1))),
        ("date:2024-03-05", DateRange(day(2024, 3, 5), day(2024, 3, 6))),
        ("date:..2024-03-05", DateRange(None, day(2024, 3, 6))),
        ("after:2024-01-01T10:30:00Z", DateRange(after=datetime(2024, 1, 1, 10, 30, tzinfo=UTC))),
        ("after:2024-01-01T10:30:00+02:00",
         DateRange(after=datetime(2024, 1, 1, 8, 30, tzinfo=UTC))),
        ("newer_than:7d", DateRange(after=NOW - timedelta(days=7))),
        ("older_than:1y", DateRange(before=NOW - timedelta(days=365))),
        ("channel:sms", Field(ChannelKind.SMS)),
        ("larger:10M", SizeRange(larger=10 * 1024 * 1024)),
        ("smaller:100K", SizeRange(smaller=100 * 1024)),
        ("size:1000..2000", SizeRange(larger=999, smaller=2001)),
        ("size:>5", SizeRange(larger=5)),
        ("priority:high", PriorityIs(Priority.HIGH)),
        ("priority:urgent", PriorityIs(Priority.HIGH)),
        ("-word", Not(Term(TextField.ANY, "word"))),
        ("-from:alice", Not(Term(TextField.FROM, "alice"))),
        ("NOT a", Not(A)),
        ("--a", Not(Not(A))),
        ("a b", And((A, B))),
        ("a AND b", And((A, B))),
        ("a OR b", Or((A, B))),
        ("(a)", A),
        ("and or not", And(tuple(Term(TextField.ANY, w) for w in ("and", "or", "not")))),
    ],
)
def test_each_syntax_element(text: str, node: object) -> None:
    assert parse_query(text, now=NOW) == node


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("a b OR c", Or((And((A, B)), C))),
        ("a OR b c", Or((A, And((B, C))))),
        ("a AND b OR c", Or((And((A, B)), C))),
        ("NOT a b", And((Not(A), B))),
        ("-a OR b", Or((Not(A), B))),
        ("NOT (a OR b) c", And((Not(Or((A, B))), C))),
        ("a (b OR c)", And((A, Or((B, C))))),
        ("(a b) c", And((A, B, C))),
        ("a OR (b OR c)", Or((A, B, C))),
    ],
)
def test_precedence_not_over_and_over_or(text: str, node: object) -> None:
    assert parse_query(text) == node


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("(a b", 0, "'(' is never closed"),
        ("a (b (c)", 2, "'(' is never closed"),
        ("a b)", 3, "')' without a matching '('"),
        ("frm:alice", 0, "did you mean 'from:'"),
        ("subjct:x", 0, "did you mean 'subject:'"),
        ("zzzz:x", 0, "put the word in quotes"),
        ("after:2024-13-01", 6, "not a date"),
        ("before:yesterday", 7, "use YYYY-MM-DD"),
        ("a OR", 4, "expected a search term after OR"),
        ("OR a", 0, "expected a search term before OR"),
        ("a AND AND b", 6, "after AND, found AND"),
        ("a ()", 2, "empty parentheses"),
        ("from: alice", 5, "expected a value after 'from:'"),
        ('subject:"open', 8, "unterminated quote"),
        ("subject:(open", 8, "unterminated group"),
        ("is:sleepy", 3, "use one of unread, read"),
        ("has:kids", 4, "unknown has: value"),
        ("channel:fax", 8, "use one of email, sms"),
        ("larger:big", 7, "not a size"),
        ("newer_than:7x", 11, "not a duration"),
        ("priority:meh", 9, "unknown priority"),
        ("a -", 3, "expected a search term after -"),
        ("NOT", 3, "after NOT"),
    ],
)
def test_errors_say_what_was_expected_and_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    err = info.value
    assert fragment in str(err)
    assert err.position == position
    assert err.query == text
    assert "\n" not in str(err)
    assert f"(at position {position})" in str(err)
    assert isinstance(err, ValidationError) and isinstance(err, ValueError)


def test_newer_than_uses_the_current_time_by_default() -> None:
    node = parse_query("newer_than:1d")
    assert isinstance(node, DateRange) and node.after is not None
    assert abs((datetime.now(UTC) - timedelta(days=1) - node.after).total_seconds()) < 60


def test_non_text_input_is_rejected_readably() -> None:
    with pytest.raises(QuerySyntaxError, match="must be text"):
        parse_query(42)  # type: ignore[arg-type]
