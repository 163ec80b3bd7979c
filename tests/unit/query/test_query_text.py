"""to_text: canonical output that parses back to an equal tree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from services.query import EmailQuery, parse_query, to_text
from services.query.ast import DateRange, Not, Term, TextField, and_
from tests.unit.query.query_strategies import trees


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (Term(TextField.ANY, "a b"), "text:(a b)"),
        (Term(TextField.ANY, "OR"), "text:(OR)"),
        (Term(TextField.ANY, "-x"), "text:(-x)"),
        (Term(TextField.ANY, "a:b"), "text:(a:b)"),
        (Term(TextField.SUBJECT, 'say "hi" now', phrase=True), r'subject:"say \"hi\" now"'),
        (Term(TextField.FROM, "a)b c"), r"from:(a\)b c)"),
        (Term(TextField.FOLDER, "My (old) Folder"), 'folder:"My (old) Folder"'),
        (DateRange(datetime(2024, 1, 1, 8, 30, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
         "date:2024-01-01T08:30:00Z..2024-01-31"),
        (Not(and_(Term(TextField.ANY, "a"), Term(TextField.ANY, "b"))), "-(a b)"),
    ],
)
def test_awkward_values_are_written_so_they_parse_back(node: object, text: str) -> None:
    assert to_text(node) == text  # type: ignore[arg-type]
    assert parse_query(text) == node


def test_not_of_everything_cannot_be_written() -> None:
    from services.query.ast import All

    with pytest.raises(ValueError, match="cannot be written"):
        to_text(Not(All()))


@settings(max_examples=400, deadline=None, database=None)
@given(trees())
def test_to_text_round_trips_every_canonical_tree(node: object) -> None:
    text = to_text(node)  # type: ignore[arg-type]
    assert parse_query(text) == node
    assert EmailQuery.parse(text).to_text() == text
