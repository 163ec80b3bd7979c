"""The ``fields`` FTS column: prefixed tokens cut exactly like FTS5 cuts the field
columns, field terms compiled to it match exactly what the column filters match, and
contentless deletes remove every token they inserted."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.models import Address, Attachment, Message
from services.query.ast import And, Node, Not, Or, Term, TextField
from services.store import Store, search
from services.store.fieldterms import PREFIX_CHARS, SENDER, SUBJECT, fields_text, mark
from services.store.partial import replace_body
from services.store.prepare import _party_fields, _party_texts, fts_values, prepare

from .helpers import Q

# Pieces of header text: ASCII, case, Latin diacritics (precomposed and combining),
# ß/İ/ς folding, other scripts, private use (the prefixes themselves too), emoji,
# punctuation and a few characters SQLite and Python classify differently.
PIECES = ["bob", "Bob", "BOB", "alice", "ali", "smith", "o'neil", "x", "café", "cafe", "Café",
          "e\u0301cole", "école", "\u0301lead", "Straße", "strasse", "İx", "ix", "ΣΑΣ", "σας",
          "日本", "日本語", "\ue001bob", "\ue002x", "\ue005", "\uf8ffq", "🙂", "a🙂b", "\u058dz",
          "\u0888y", "\u08a0", "-", "@", ".", "report-final", "n1", "n12", "\u200bzw",
          "dan.smith@corp.example", "bob@example.org", "ali_baba"]
FIELDS = [TextField.ANY, TextField.FROM, TextField.TO, TextField.CC, TextField.BCC,
          TextField.SUBJECT, TextField.ATTACHMENT, TextField.CONTACT, TextField.BODY]


def _vocab(conn: sqlite3.Connection, text: str) -> list[str]:
    conn.execute("DELETE FROM t")
    conn.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", (text,))
    return [str(r[0]) for r in conn.execute("SELECT term FROM v ORDER BY offset")]


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize = 'unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    yield conn
    conn.close()


@settings(max_examples=400, deadline=None)
@given(text=st.text(st.characters(exclude_categories=("Cs",))) | st.lists(
    st.sampled_from([*PIECES, " ", "  ", "\u0301", "\u0300", "\u0489"])).map("".join))
def test_mark_prefixes_exactly_the_fts5_tokens(fts5: sqlite3.Connection, text: str) -> None:
    for prefix in (SENDER, SUBJECT):
        assert _vocab(fts5, mark(text, prefix)) == [prefix + t for t in _vocab(fts5, text)]


def test_fields_text_keeps_each_field_contiguous(fts5: sqlite3.Connection) -> None:
    text = fields_text("Budget x", "Bob <bob@x.org>", "", "Al <al@y>", "", "a.pdf")
    assert _vocab(fts5, text) == [
        "\ue001bob", "\ue001bob", "\ue001x", "\ue001org", "\ue003al", "\ue003al", "\ue003y",
        "\ue005budget", "\ue005x", "\ue006a", "\ue006pdf"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(PIECES) for _ in range(rng.randrange(n + 1)))


def _address(rng: random.Random) -> Address:
    return Address(rng.choice(["bob@example.org", "ali@x.example", "dan.smith@corp.example",
                               "\ue001bob@y.example", "café@ü.example"]), _text(rng, 3))


def _message(rng: random.Random, i: int) -> tuple[Message, bytes]:
    raw = f"m{i}".encode()
    return Message(
        account="acct", folder="INBOX", remote_id=f"r{i}", message_id=f"m{i}@t",
        sender=_address(rng) if rng.random() < 0.9 else None,
        to=tuple(_address(rng) for _ in range(rng.randrange(3))),
        cc=tuple(_address(rng) for _ in range(rng.randrange(2))),
        bcc=tuple(_address(rng) for _ in range(rng.randrange(2))),
        subject=_text(rng, 4), body_text=_text(rng, 6),
        attachments=[Attachment(f"{_text(rng, 2)}.pdf", part_id=f"p{k}")
                     for k in range(rng.randrange(2))],
        date=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i), size=len(raw),
    ), raw


def _term(rng: random.Random) -> Term:
    words = [rng.choice([*PIECES, "bo", "ca", "\ue001", "日"]) for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.4:
        words[-1] += "*"
    return Term(rng.choice(FIELDS), " ".join(words), phrase=rng.random() < 0.5)


def _tree(rng: random.Random, depth: int = 0) -> Node:
    if depth > 1 or rng.random() < 0.5:
        return _term(rng)
    kind = rng.randrange(3)
    if kind == 2:
        return And((_term(rng), Not(_tree(rng, depth + 1))))
    children = tuple(_tree(rng, depth + 1) for _ in range(rng.randrange(2, 4)))
    return And(children) if kind == 0 else Or(children)


@pytest.fixture(scope="module")
def random_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(tmp_path_factory.mktemp("fields") / "db.sqlite3")
    rng = random.Random(5)
    store.ingest([_message(rng, i) for i in range(300)])
    yield store
    store.close()


def _both(store: Store, node: Node, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    got = (sorted(store.search_ids(Q(node))), store.count(Q(node)),
           store.search_ids(Q(node, max_results=7)))
    with monkeypatch.context() as m:
        m.setattr(search, "USE_FIELDS_COLUMN", False)
        old = (sorted(store.search_ids(Q(node))), store.count(Q(node)),
               store.search_ids(Q(node, max_results=7)))
    return got, old


def test_field_terms_match_the_column_filters(random_store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(17)
    nonempty = 0
    for _ in range(1500):
        node = _tree(rng)
        got, old = _both(random_store, node, monkeypatch)
        assert got == old, node
        nonempty += bool(old[1])  # type: ignore[index]
    assert nonempty > 300


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
       | st.lists(st.sampled_from([*PIECES, " ", "*", '"'])).map("".join),
       field=st.sampled_from(FIELDS), phrase=st.booleans())
def test_random_field_values_match_the_column_filters(
    random_store: Store, monkeypatch: pytest.MonkeyPatch, value: str, field: TextField,
    phrase: bool,
) -> None:
    node = Term(field, value, phrase)
    got, old = _both(random_store, node, monkeypatch)
    assert got == old


def test_field_term_reads_the_fields_column_and_prefix_chars_stay_out_of_any() -> None:
    expr = search.fts_expression(Term(TextField.FROM, "bob"))
    assert expr == 'fields : ("\ue001bob")'
    expr = search.fts_expression(Term(TextField.ANY, "\ue001bob"))
    assert expr is not None and expr.startswith("{subject ") and "fields" not in expr
    assert search.fts_expression(Term(TextField.ANY, "bob")) == '"bob"'
    assert len(PREFIX_CHARS) == 6


def _vocabulary_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, fts, 'row')")
        return int(conn.execute("SELECT count(*) FROM temp.v").fetchone()[0])
    finally:
        conn.close()


def test_deletes_and_body_replacement_remove_every_token(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = Store.open(path)
    rng = random.Random(3)
    items = [_message(rng, i) for i in range(60)]
    store.ingest(items)
    ids = store.search_ids(Q())
    message, _ = items[0]
    full = prepare(message.with_changes(body_text="replaced body words"), b"full m0",
                   store.codec)
    replace_body(store, ids[-1], full)
    assert store.count(Q(Term(TextField.BODY, "replaced"))) == 1
    store.delete(ids)
    store.close()
    assert _vocabulary_size(path) == 0


_party = st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from(
    ["", "bob@x.org", "ève@exämple.fr"]), st.sampled_from(["", "Bob", "Zoë O'Brien"]))


@settings(max_examples=200, deadline=None)
@given(subject=st.sampled_from(["", "Re: plan", "Ünïcode ✓"]),
       parties=st.lists(_party, max_size=5),
       names=st.lists(st.sampled_from(["a.pdf", "b c.txt"]), max_size=2))
def test_the_memoised_party_marks_give_the_fields_column_of_every_field(
    subject: str, parties: list[tuple[int, int, str, str]], names: list[str]
) -> None:
    """fts_values reuses the marked party texts of a participants tuple it has seen."""
    participants = tuple(sorted(set(parties)))
    for _ in range(2):  # computed, then from the cache
        row = fts_values(subject, participants, "body", names)
        assert row[8] == fields_text(subject, *_party_texts(participants), " ".join(names))


_any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["", " ", "\u0301e", "e\u0301", "Zoë", "a.b@c", "\ue001x", "日本 語"])


@settings(max_examples=400, deadline=None)
@given(parties=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), _any_text, _any_text),
                        max_size=6))
def test_party_marks_joined_are_the_marks_of_the_joined_texts(
    parties: list[tuple[int, int, str, str]],
) -> None:
    """_party_fields marks each party's text on its own (memoised per party) and joins the
    marks: the same as marking the joined column texts, whatever the characters (a
    combining mark after the joining space, private-use characters, empty texts)."""
    participants = tuple(sorted(set(parties)))
    texts = _party_texts(participants)
    for _ in range(2):  # computed, then from the cache
        assert _party_fields(participants) == (*texts, fields_text("", *texts, ""))
