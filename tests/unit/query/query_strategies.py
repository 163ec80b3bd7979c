"""Hypothesis strategies shared by the query tests: canonical trees and messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from services.models import Address, Attachment, ChannelKind, Flag, Message, Priority
from services.query.ast import (
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
from services.query.values import make_term

WORDS = ["alice", "ali", "smith", "bob", "urgent", "report", "quarterly", "inbox",
         "work", "example", "Ünïcode", "unicode", "straße", "STRASSE", "Café", "cafe\u0301",
         "x", "42", "pdf"]  # fmt: skip
ADDRESSES = [
    Address("alice@example.com", "Alice Smith"),
    Address("bob@x.org", "Bob"),
    Address("+15551234567"),
    Address("smith.j@work.example", "J. Smith"),
]
FOLDERS = ["INBOX", "Work", "Archive/2024", "My Folder"]
ACCOUNTS = ["personal", "work"]
DAYS = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=h)
        for h in (0, 5, 30, 24 * 40, 24 * 365)]


def _instant() -> st.SearchStrategy[datetime]:
    return st.sampled_from(DAYS) | st.datetimes(
        min_value=datetime(2023, 6, 1), max_value=datetime(2025, 6, 1), timezones=st.just(UTC)
    )


#: Instants close to the DAYS boundaries, where day-granular servers go wrong.
near_instants = st.sampled_from(DAYS).flatmap(
    lambda d: st.integers(-36 * 60, 36 * 60).map(lambda mins: d + timedelta(minutes=mins)))

word_like = st.sampled_from(WORDS) | st.text(
    alphabet="abzAÉé19-.'@*:()\"\\<> ", min_size=1, max_size=8
)
value_text = st.lists(word_like, min_size=1, max_size=3).map(" ".join).filter(str.strip)


@st.composite
def terms(draw: st.DrawFn, values: st.SearchStrategy[str] = value_text) -> Node:
    field = draw(st.sampled_from(list(TextField)))
    if field is TextField.FOLDER:
        value = draw(st.sampled_from(FOLDERS) | values)
    elif field is TextField.ACCOUNT:
        value = draw(st.sampled_from(ACCOUNTS) | values)
    elif field in (TextField.FROM, TextField.TO, TextField.CC, TextField.CONTACT):
        value = draw(st.sampled_from([a.address for a in ADDRESSES] + ["@example.com"]) | values)
    else:
        value = draw(values)
    return make_term(field, value, quoted=draw(st.booleans()))


sizes = st.integers(min_value=0, max_value=10_000)
leaves = st.one_of(
    terms(),
    st.sampled_from(list(ChannelKind)).map(Field),
    st.just(HasAttachment()),
    st.builds(FlagIs, st.sampled_from(list(Flag)), st.booleans()),
    st.sampled_from(list(Priority)).map(PriorityIs),
    st.builds(DateRange, st.none() | _instant(), st.none() | _instant()),
    st.builds(SizeRange, st.none() | sizes, st.none() | sizes.map(lambda n: n + 1)),
)


def trees(leaf: st.SearchStrategy[Node] = leaves) -> st.SearchStrategy[Node]:
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, min_size=2, max_size=3).map(lambda cs: and_(*cs)),
            st.lists(kids, min_size=2, max_size=3).map(lambda cs: or_(*cs)),
            kids.map(Not),
        ),
        max_leaves=8,
    )


@st.composite
def messages(draw: st.DrawFn) -> Message:
    text = st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join)
    offset = timezone(timedelta(hours=draw(st.integers(min_value=-12, max_value=14))))
    date = draw(st.none() | (near_instants | _instant()).map(lambda d: d.astimezone(offset)))
    attachments = draw(st.lists(st.builds(
        Attachment, filename=st.sampled_from(["report.pdf", "Ünïcode straße.txt", "x.png"]),
        inline=st.booleans()), max_size=2))
    return Message(
        channel=draw(st.sampled_from(list(ChannelKind))),
        account=draw(st.sampled_from(ACCOUNTS)),
        folder=draw(st.sampled_from(FOLDERS)),
        message_id=draw(st.none() | st.sampled_from(["a@b", "x.y@example.com"])),
        sender=draw(st.none() | st.sampled_from(ADDRESSES)),
        to=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=2))),
        cc=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=1))),
        bcc=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=1))),
        subject=draw(text),
        body_text=draw(text),
        date=date,
        received_at=None if date else draw(st.none() | _instant()),
        flags=frozenset(draw(st.sets(st.sampled_from(list(Flag))))),
        priority=draw(st.sampled_from(list(Priority))),
        attachments=attachments,
        size=draw(sizes),
    )
