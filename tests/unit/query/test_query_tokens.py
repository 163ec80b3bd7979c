"""Local word matching == the store's FTS5 rule.

* :func:`services.query.tokens.tokens` cuts text exactly as SQLite FTS5's
  ``unicode61 remove_diacritics 2`` tokenizer (checked against SQLite itself);
* :func:`services.query.matches` agrees on random text terms with the store's
  independent brute-force evaluator (``tests/unit/store/brute.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.models import Address, Attachment, Message
from services.query import matches
from services.query.ast import Node, Not, TextField, and_, or_
from services.query.tokens import tokens
from services.query.values import make_term
from tests.unit.store import brute

#: Ranges SQLite's (older) Unicode tables classify like Python's: Latin, Greek,
#: Cyrillic, combining marks, general punctuation, CJK, full-width forms.
_RANGES = [(0x80, 0x37F), (0x384, 0x528), (0x1E00, 0x2066), (0x206A, 0x2070),
           (0x3000, 0x3040), (0x4E00, 0x4F00), (0xFF00, 0xFF60)]  # fmt: skip


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    yield db
    db.close()


def _fts_tokens(db: sqlite3.Connection, text: str) -> list[str]:
    db.execute("DELETE FROM t")
    db.execute("INSERT INTO t(rowid, a) VALUES (1, ?)", (text,))
    return [r[0] for r in db.execute("SELECT term FROM v ORDER BY offset")]


def test_every_character_in_the_common_ranges_tokenises_like_fts5(
        fts: sqlite3.Connection) -> None:
    codes = [c for lo, hi in _RANGES for c in range(lo, hi)]
    fts.execute("DELETE FROM t")
    fts.executemany("INSERT INTO t(rowid, a) VALUES (?, ?)",
                    [(c, f"a{chr(c)}b") for c in codes])
    got: dict[int, list[str]] = {}
    for doc, term in fts.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
        got.setdefault(doc, []).append(term)
    wrong = [(hex(c), tokens(f"a{chr(c)}b"), got.get(c)) for c in codes
             if tokens(f"a{chr(c)}b") != got.get(c)]
    assert wrong == []


_ALPHABET = ("aAzZ09 .-_@'*\"\t\néÉèüÜñçøØæßẞİıσςΣάйЁ中文ﬁ½²\u0301\u0308\u0345\u00ad\u200b"
             "\ue000\u1ec7")


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=_ALPHABET, max_size=30))
def test_random_text_tokenises_like_fts5(fts: sqlite3.Connection, text: str) -> None:
    assert tokens(text) == _fts_tokens(fts, text)


@pytest.mark.parametrize(("text", "expected"), [
    ("alice@example.com", ["alice", "example", "com"]),
    ("Q1-report.pdf", ["q1", "report", "pdf"]),
    ("x_y", ["x", "y"]),
    ("Straße CAFÉ cafe\u0301s", ["straße", "cafe", "cafes"]),
    ("ΣΑΣ σας İstanbul", ["σασ", "σασ", "istanbul"]),
    ("!!", []),
])
def test_tokens_examples(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


# -- matches() against the brute-force evaluator of the store tests ------------------
# brute.py folds with casefold + NFKD, which is FTS5's rule except for ß, ligatures,
# super/subscripts and accented non-Latin letters: those stay out of this alphabet.
_TEXT = "abcABC019 .-@'éÉüñçøæİσς"
_WORDS = ["alice", "Alice", "bob", "smith", "report", "café", "cafe", "x", "42", "pdf"]
_text = st.lists(st.sampled_from(_WORDS) | st.text(alphabet=_TEXT, max_size=6),
                 max_size=5).map(" ".join)
_value = (st.lists(st.sampled_from(_WORDS) | st.text(alphabet=_TEXT + "*", min_size=1,
                                                      max_size=5), min_size=1, max_size=3)
          .map(" ".join).filter(str.strip))
_FIELDS = [f for f in TextField if f not in (TextField.FOLDER, TextField.ACCOUNT,
                                             TextField.MESSAGE_ID)]
_address = st.builds(lambda local, domain, name: Address(f"{local}@{domain}", name),
                     st.sampled_from(["alice", "bob", "b.ob", "x"]),
                     st.sampled_from(["example.com", "x.org", "com.example"]), _text)


@st.composite
def _messages(draw: st.DrawFn) -> Message:
    return Message(
        subject=draw(_text), body_text=draw(_text),
        sender=draw(st.none() | _address),
        to=tuple(draw(st.lists(_address, max_size=2))),
        cc=tuple(draw(st.lists(_address, max_size=2))),
        bcc=tuple(draw(st.lists(_address, max_size=1))),
        attachments=draw(st.lists(st.builds(Attachment, filename=_text), max_size=2)),
    )


_terms = st.builds(lambda f, v, q: make_term(f, v, quoted=q),
                   st.sampled_from(_FIELDS), _value, st.booleans())
_trees: st.SearchStrategy[Node] = st.recursive(
    _terms, lambda kids: st.one_of(
        st.lists(kids, min_size=2, max_size=3).map(lambda cs: and_(*cs)),
        st.lists(kids, min_size=2, max_size=3).map(lambda cs: or_(*cs)),
        kids.map(Not)), max_leaves=4)


@settings(max_examples=1500, deadline=None, database=None)
@given(_trees, _messages())
def test_matches_agrees_with_the_store_brute_force(node: Node, m: Message) -> None:
    assert matches(node, m) == brute.matches(node, brute.make_doc(m, m.body_text))


@settings(max_examples=500, deadline=None, database=None)
@given(_text)
def test_brute_tokens_agree_on_this_alphabet(text: str) -> None:
    assert tokens(text) == brute.tokens(text)
