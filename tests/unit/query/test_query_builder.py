"""EmailQuery: builder methods, equality with the text syntax, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.errors import ValidationError
from services.models import ChannelKind, Contact, Flag, Priority
from services.query import EmailQuery, SortField, SortOrder, parse_query
from services.query.ast import (
    All,
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


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_spec_example_builds_the_same_tree_as_its_text_form() -> None:
    q = (EmailQuery()
         .from_sender("boss@company.com")
         .to_recipient("team@company.com")
         .subject_contains("urgent")
         .has_attachment()
         .date_range("2024-01-01", "2024-12-31")
         .is_unread()
         .priority("high")
         .limit(50)
         .sort_by("date", SortOrder.DESC))  # fmt: skip
    text = ("from:boss@company.com to:team@company.com subject:urgent has:attachment "
            "date:2024-01-01..2024-12-31 is:unread priority:high")
    assert q.node == parse_query(text)
    assert q.to_text() == text
    parsed = EmailQuery.parse(text).limit(50).sort_by(SortField.DATE)
    assert parsed == q
    assert q.max_results == 50 and q.offset_value == 0
    assert q.sort_keys == ((SortField.DATE, SortOrder.DESC),)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda q: q.from_sender("Alice Smith"), 'from:"Alice Smith"'),
        (lambda q: q.cc("carol"), "cc:carol"),
        (lambda q: q.bcc("dave"), "bcc:dave"),
        (lambda q: q.body_contains("hello  world"), 'body:"hello world"'),
        (lambda q: q.contains("invoice"), "invoice"),
        (lambda q: q.contains("exact phrase"), '"exact phrase"'),
        (lambda q: q.attachment_named("report.pdf"), "attachment:report.pdf"),
        (lambda q: q.after("2024-01-01").before(date(2024, 2, 1)),
         "after:2024-01-01 before:2024-02-01"),
        (lambda q: q.is_read().is_flagged(), "is:read is:flagged"),
        (lambda q: q.priority(Priority.LOW), "priority:low"),
        (lambda q: q.in_folder("INBOX"), "folder:INBOX"),
        (lambda q: q.label("My Folder"), 'label:"My Folder"'),
        (lambda q: q.channel("SMS"), "channel:sms"),
        (lambda q: q.channel(ChannelKind.CHAT), "channel:chat"),
        (lambda q: q.account("work"), "account:work"),
        (lambda q: q.contact("+15551234567"), "contact:+15551234567"),
        (lambda q: q.larger_than("10M").smaller_than(20_000_000), "larger:10M smaller:20000000"),
        (lambda q: q.message_id("<a@b>"), "id:a@b"),
        (lambda q: q.from_sender("alice").exclude(EmailQuery().subject_contains("spam")),
         "from:alice -subject:spam"),
        (lambda q: q.where("a OR b").is_unread(), "(a OR b) is:unread"),
    ],
)
def test_builder_and_text_build_equal_trees(build: object, text: str) -> None:
    assert build(EmailQuery()).node == parse_query(text)  # type: ignore[operator]


def test_each_method_mutates_and_returns_self() -> None:
    q = EmailQuery()
    assert q.is_unread() is q
    assert q.node == FlagIs(Flag.SEEN, False)
    q.has_attachment()
    assert q.node == parse_query("is:unread has:attachment")


def test_empty_query_is_all_and_equal_to_empty_text() -> None:
    assert EmailQuery().node == All()
    assert EmailQuery() == EmailQuery.parse("")
    assert EmailQuery().to_text() == ""


def test_date_range_end_day_is_inclusive_and_datetime_end_exact() -> None:
    q = EmailQuery().date_range(date(2024, 1, 1), "2024/01/31")
    assert q.node == DateRange(day(2024, 1, 1), day(2024, 2, 1))
    exact = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
    assert EmailQuery().date_range("2024-01-01", exact).node == DateRange(day(2024, 1, 1), exact)
    naive = datetime(2024, 1, 31, 12, 0)
    assert EmailQuery().before(naive).node == DateRange(before=exact)


def test_contact_matches_any_identity() -> None:
    c = Contact("John@Example.com", "+1234567890", "john_ws_id")
    node = EmailQuery().contact(c).node
    assert node == Or(tuple(Term(TextField.CONTACT, v) for v in
                            ("john@example.com", "+1234567890", "john_ws_id")))


def test_any_of_and_exclude() -> None:
    q = EmailQuery.any_of(EmailQuery().from_sender("a"), "subject:b", HasAttachment())
    assert q.node == parse_query("from:a OR subject:b OR has:attachment")
    assert EmailQuery().exclude("is:read").node == Not(FlagIs(Flag.SEEN, True))


def test_sort_by_adds_keys_and_replaces_a_repeated_field() -> None:
    q = EmailQuery().sort_by("from", "asc").sort_by(SortField.SIZE).sort_by("from")
    assert q.sort_keys == ((SortField.SIZE, SortOrder.DESC), (SortField.FROM, SortOrder.DESC))
    q.sort_keys = [("subject", SortOrder.ASC)]
    assert q.sort_keys == ((SortField.SUBJECT, SortOrder.ASC),)


def test_equality_repr_copy_and_from_node() -> None:
    q = EmailQuery().from_sender("alice").limit(10).offset(20).sort_by("size", "asc")
    assert repr(q) == "EmailQuery('from:alice', limit=10, offset=20, sort=[size asc])"
    assert q.copy() == q and q.copy() is not q
    assert q != EmailQuery().from_sender("alice")
    assert EmailQuery.from_node(q.node).node == q.node
    assert q != "from:alice"
    assert EmailQuery().limit(3).limit(None).max_results is None


def test_sizes_and_priorities_accept_friendly_values() -> None:
    assert EmailQuery().larger_than("1.5K").node == SizeRange(larger=1536)
    assert EmailQuery().priority(5).node == PriorityIs(Priority.HIGH)
    assert EmailQuery().channel("email").node == Field(ChannelKind.EMAIL)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda q: q.limit(-1), "limit must be a whole number >= 0"),
        (lambda q: q.limit(2.5), "limit must be"),
        (lambda q: q.offset(True), "offset must be"),
        (lambda q: q.sort_by("colour"), "unknown sort field 'colour': use one of date, from"),
        (lambda q: q.sort_by("date", "sideways"), "unknown sort order"),
        (lambda q: q.date_range("2024-01-01", "soon"), "not a date: 'soon'"),
        (lambda q: q.date_range("2024-02-01", "2024-01-01"), "is before start"),
        (lambda q: q.after(12), "not a date: 12"),
        (lambda q: q.before("2024-02-30"), "not a date"),
        (lambda q: q.priority("meh"), "unknown priority 'meh'"),
        (lambda q: q.priority(None), "unknown priority"),
        (lambda q: q.channel("fax"), "unknown channel 'fax'"),
        (lambda q: q.larger_than(-5), "must not be negative"),
        (lambda q: q.smaller_than("lots"), "not a size"),
        (lambda q: q.from_sender("   "), "empty value"),
        (lambda q: q.subject_contains(None), "subject expects text"),
        (lambda q: q.contact(Contact()), "has no address"),
        (lambda q: q.contact(3), "expects a Contact"),
        (lambda q: q.exclude(EmailQuery()), "non-empty query"),
        (lambda q: EmailQuery.any_of(), "at least one"),
    ],
)
def test_bad_arguments_raise_validation_error(call: object, fragment: str) -> None:
    q = EmailQuery().from_sender("x")
    before = q.node
    with pytest.raises(ValidationError) as info:
        call(q)  # type: ignore[operator]
    assert fragment in str(info.value)
    assert q.node == before  # nothing half-applied
