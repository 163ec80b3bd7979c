"""Property tests: every compiler splits a tree exactly, and the server part is a superset.

For every random tree and message:

* ``matches(tree) == matches(expressed_node) and matches(residual)`` — the server
  part and the residual together are exactly the query (so filtering the
  server's answer with the residual gives the true result, and the server part
  alone never excludes a true match);
* the residual is ``None`` exactly when nothing was reported unsupported;
* the IMAP criteria *as rendered* accept every true match, checked with a small
  model of RFC 3501 SEARCH (case-insensitive substrings, day-granular dates in
  the Date header's own timezone), i.e. the rendered text really is a superset.
  The model server ignores diacritics, as the local semantics do: RFC 3501 leaves
  non-ASCII comparison to the server, and one that compares accents can miss
  "Café" for ``cafe`` (documented in docs/query-language.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.models import Address, Flag, Message
from services.query import matches, parse_query, to_gmail, to_graph, to_imap
from services.query.ast import DateRange, Node
from services.query.imap import ImapSearch, imap_date
from tests.unit.query.query_strategies import messages, near_instants, trees

_FLAGS = {"SEEN": Flag.SEEN, "FLAGGED": Flag.FLAGGED, "ANSWERED": Flag.ANSWERED,
          "DELETED": Flag.DELETED, "DRAFT": Flag.DRAFT}


def _unquote(tok: str) -> str:
    assert tok.startswith('"') and tok.endswith('"'), tok
    out, i, body = [], 0, tok[1:-1]
    while i < len(body):
        if body[i] == "\\":
            i += 1
        out.append(body[i])
        i += 1
    return "".join(out)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form a diacritic-ignoring server compares."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _header(parties: tuple[Address, ...]) -> str:
    return ", ".join(f"{p.name} <{p.address}>" for p in parties)


def _day(m: Message) -> datetime | None:
    return m.date or m.received_at


class ImapModel:
    """Evaluates SEARCH criteria tokens against a message the way a server would."""

    def __init__(self, m: Message) -> None:
        self.m = m
        sender = (m.sender,) if m.sender else ()
        self.fields = {
            "FROM": _header(sender), "TO": _header(m.to), "CC": _header(m.cc),
            "BCC": _header(m.bcc), "SUBJECT": m.subject, "BODY": m.body_text,
        }
        self.fields["TEXT"] = "\n".join([*self.fields.values(),
                                         *(a.filename for a in m.attachments)])

    def all(self, criteria: list[str]) -> bool:
        it = iter(criteria)
        return all(self.key(tok, it) for tok in it)

    def key(self, tok: str, it: Iterator[str]) -> bool:
        m = self.m
        if tok == "(":
            results = []
            for t in it:
                if t == ")":
                    return all(results)
                results.append(self.key(t, it))
            raise AssertionError("unclosed (")
        if tok == "ALL":
            return True
        if tok == "NOT":
            return not self.key(next(it), it)
        if tok == "OR":
            a = self.key(next(it), it)
            b = self.key(next(it), it)
            return a or b
        if tok in _FLAGS or (tok.startswith("UN") and tok[2:] in _FLAGS):
            return (_FLAGS[tok.removeprefix("UN")] in m.flags) == (tok in _FLAGS)
        if tok in ("LARGER", "SMALLER"):
            n = int(next(it))
            return m.size > n if tok == "LARGER" else m.size < n
        if tok in ("SENTSINCE", "SENTBEFORE"):
            bound, when = next(it), _day(m)
            if when is None:
                return False
            key = (when.year, when.month, when.day)
            b = datetime.strptime(bound, "%d-%b-%Y")
            return key >= (b.year, b.month, b.day) if tok == "SENTSINCE" else key < (
                b.year, b.month, b.day)
        if tok == "HEADER":
            assert next(it) == "Message-ID"
            return _unquote(next(it)).casefold() in f"<{m.message_id}>".casefold()
        return _fold(_unquote(next(it))) in _fold(self.fields[tok])


def _imap_accepts(search: ImapSearch, m: Message) -> bool:
    if search.folders is not None and m.folder.casefold() not in {
        f.casefold() for f in search.folders
    }:
        return False
    return ImapModel(m).all(search.criteria)


@settings(max_examples=600, deadline=None, database=None)
@given(trees(), messages())
def test_every_compiler_splits_exactly(node: Node, m: Message) -> None:
    truth = matches(node, m)
    for compiled in (to_imap(node), to_gmail(node), to_graph(node), to_imap(node, gmail=True)):
        server = matches(compiled.expressed_node, m)
        local = compiled.residual is None or matches(compiled.residual, m)
        assert truth == (server and local), compiled
        assert (compiled.residual is None) == (not compiled.unsupported)


@settings(max_examples=600, deadline=None, database=None)
@given(trees(), messages())
def test_rendered_imap_search_is_a_superset(node: Node, m: Message) -> None:
    compiled = to_imap(node)
    if matches(node, m):
        assert _imap_accepts(compiled.expressed, m), compiled.expressed.text


_minutes = st.integers(min_value=-30 * 60, max_value=30 * 60)


@settings(max_examples=1000, deadline=None, database=None)
@given(near_instants, st.none() | _minutes, st.none() | _minutes, _minutes,
       st.integers(min_value=-12 * 4, max_value=14 * 4))
def test_imap_day_granular_dates_are_widened_to_a_superset(
    anchor: datetime, after: int | None, before: int | None, at: int, quarter_hours: int
) -> None:
    def shift(minutes: int | None) -> datetime | None:
        return None if minutes is None else anchor + timedelta(minutes=minutes)

    node = DateRange(shift(after), shift(before))
    when = anchor + timedelta(minutes=at)
    m = Message(date=when.astimezone(timezone(timedelta(minutes=15 * quarter_hours))))
    compiled = to_imap(node)
    if matches(node, m):
        assert _imap_accepts(compiled.expressed, m), compiled.expressed.text
    assert compiled.residual in (None, node)


@pytest.mark.parametrize("query", ["subject:unicode", "cafe", "café", "CAFE\u0301",
                                   "subject:\"unicode cafe\"", "from:bob@x.org"])
def test_imap_superset_with_accents_and_addresses(query: str) -> None:
    m = Message(subject="Ünïcode Café", sender=Address("bob@x.org", "Bob"))
    node = parse_query(query)
    assert matches(node, m)
    assert _imap_accepts(to_imap(node).expressed, m)


def test_imap_model_sanity() -> None:
    m = Message(subject="Hello World", size=10, flags=frozenset({Flag.SEEN}),
                date=datetime(2024, 1, 2, 23, 0))
    model = ImapModel(m)
    assert model.all(["SUBJECT", '"o w"', "SEEN", "LARGER", "9"])
    assert not model.all(["OR", "UNSEEN", "(", "SMALLER", "5", ")"])
    assert model.all(["SENTSINCE", imap_date(datetime(2024, 1, 2)), "NOT", "FLAGGED"])
