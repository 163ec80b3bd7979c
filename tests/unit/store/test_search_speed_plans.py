"""The column-driven count and page plans (``Store._column_side``) return exactly what
the plain SQL of the compiled query returns, whichever plan the size probes pick."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import services.store.store as store_module
from services.models import ChannelKind, Flag, Priority
from services.query.ast import (
    And,
    DateRange,
    Field,
    FlagIs,
    HasAttachment,
    Node,
    Not,
    Or,
    PriorityIs,
    Term,
    TextField,
)
from services.store import Store
from services.store.search import compile_node

from .helpers import Q, item, make_raw

BASE = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = ["budget", "lunch", "report", "party", "invoice", "review"]
PEOPLE = ["Alice Example <alice@example.com>", "Bob Stone <bob@example.org>",
          "Carol Johnson <carol@corp.example>"]
FOLDERS = ["INBOX", "Sent", "Archive"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    rng = random.Random(11)
    store = Store.open(tmp_path_factory.mktemp("plans") / "db.sqlite3")
    items = []
    for i in range(300):
        att = ("report.pdf", b"%PDF-1.4 x") if rng.random() < 0.25 else None
        raw = make_raw(
            i, sender=rng.choice(PEOPLE), subject=" ".join(rng.sample(WORDS, 2)),
            body=" ".join(rng.sample(WORDS, 3)), attachment=att,
            # few distinct dates: many ties, so the id tie-break is exercised
            date=BASE + timedelta(days=rng.randrange(40)),
        )
        flags = frozenset(f for f in (Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED)
                          if rng.random() < (0.7 if f is Flag.SEEN else 0.2))
        items.append(item(raw, folder=rng.choice(FOLDERS), remote_id=f"r{i}", flags=flags))
    store.ingest(items)
    yield store
    store.close()


def _text(rng: random.Random) -> Node:
    choices: list[Node] = [
        Term(TextField.ANY, rng.choice(WORDS)), Term(TextField.FROM, "bob"),
        Term(TextField.SUBJECT, rng.choice(WORDS)),
        And((Term(TextField.SUBJECT, rng.choice(WORDS)), Term(TextField.FROM, "alice"))),
        And((Term(TextField.ANY, rng.choice(WORDS)),
             Not(Term(TextField.BODY, rng.choice(WORDS))))),
    ]
    return rng.choice(choices)


def _column(rng: random.Random) -> list[Node]:
    day = BASE + timedelta(days=rng.randrange(40))
    return rng.choice([
        [FlagIs(Flag.SEEN, False)], [FlagIs(Flag.SEEN)], [FlagIs(Flag.FLAGGED)],
        [Not(FlagIs(Flag.FLAGGED))], [Not(FlagIs(Flag.SEEN, False))], [HasAttachment()],
        [Term(TextField.FOLDER, rng.choice(["sent", "INBOX", "nope"]))],
        [DateRange(day, None), DateRange(None, day + timedelta(days=rng.randrange(1, 20)))],
        [DateRange(day, day + timedelta(days=5))], [Field(ChannelKind.EMAIL)],
        # not column-driven: more than one indexed conjunct, or no index at all
        [FlagIs(Flag.SEEN, False), HasAttachment()], [PriorityIs(rng.choice(list(Priority)))],
        [Or((FlagIs(Flag.FLAGGED), HasAttachment()))],
    ])


def _queries() -> list[Node]:
    rng = random.Random(5)
    return [And((_text(rng), *_column(rng))) for _ in range(60)]


def _plain(store: Store, node: Node) -> list[int]:
    compiled = compile_node(node)
    return [int(r[0]) for r in store.read_rows(
        f"SELECT m.id FROM messages m WHERE {compiled.where} ORDER BY m.date DESC, m.id DESC",
        compiled.params,
    )]


SETTINGS = {
    # every size probe says "the column side wins"
    "column": {"_FTS_PROBE": 1, "_COUNT_CAP": 10**9, "_PAGE_CAP": 10**9,
               "_COLUMN_RATIO": 10**9, "_SCAN_FACTOR": 0},
    # ... says "the full-text side wins" (date-index walk for pages)
    "fts": {"_COUNT_CAP": 1, "_PAGE_CAP": 1, "_SCAN_FACTOR": 0},
    # the ratio decides, with a second full-text probe
    "ratio": {"_FTS_PROBE": 1, "_COLUMN_RATIO": 3, "_SCAN_FACTOR": 0},
    "default": {},
}


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_plans_agree_with_the_plain_sql(
    corpus: Store, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    for name, value in SETTINGS[setting].items():
        monkeypatch.setattr(store_module, name, value)
    for node in _queries():
        expected = _plain(corpus, node)
        assert corpus.count(Q(node)) == len(expected), node
        assert corpus.search_ids(Q(node, max_results=7)) == expected[:7], node
        assert corpus.search_ids(Q(node, max_results=5, offset_value=4)) == expected[4:9], node
        first = corpus.page_after(Q(node), None, None, 6)
        assert [m.id for m in first] == expected[:6], node
        if len(first) == 6:
            last = first[-1]
            assert last.date is not None and last.id is not None
            after = corpus.page_after(Q(node), int(last.date.timestamp()), last.id, 6)
            assert [m.id for m in after] == expected[6:12], node


def test_the_column_plans_are_used_when_the_probes_say_so(
    corpus: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SETTINGS["column"].items():
        monkeypatch.setattr(store_module, name, value)
    seen: list[str] = []
    read = corpus._read

    def spy(sql: str, params: object = ()) -> list[object]:
        seen.append(sql)
        return read(sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus, "_read", spy)
    node = And((Term(TextField.FROM, "bob"), FlagIs(Flag.SEEN, False)))
    expected = _plain(corpus, node)
    assert expected
    assert corpus.count(Q(node)) == len(expected)
    assert any("+m.id IN" in s and s.startswith("SELECT count(*)") for s in seen)
    seen.clear()
    assert corpus.search_ids(Q(node, max_results=3)) == expected[:3]
    assert any("+m.id IN" in s and "ORDER BY +m.date" in s for s in seen)


@pytest.mark.parametrize(("node", "indexed", "dated"), [
    (And((Term(TextField.FROM, "bob"), FlagIs(Flag.SEEN, False))), True, False),
    (And((Term(TextField.FROM, "bob"), Not(FlagIs(Flag.FLAGGED)))), True, False),
    (And((Term(TextField.FROM, "bob"), Term(TextField.FOLDER, "Sent"))), True, False),
    (And((Term(TextField.FROM, "bob"), DateRange(BASE, None), DateRange(None, BASE))),
     True, True),
    (And((Term(TextField.FROM, "bob"), HasAttachment(), FlagIs(Flag.SEEN))), False, False),
    (And((Term(TextField.FROM, "bob"), PriorityIs(Priority.HIGH))), False, False),
    (And((Term(TextField.FROM, "bob"), Term(TextField.SUBJECT, "x"))), False, False),
    (Or((Term(TextField.FROM, "bob"), FlagIs(Flag.SEEN))), False, False),
])
def test_which_queries_may_use_the_column_plans(node: Node, indexed: bool, dated: bool) -> None:
    compiled = compile_node(node)
    assert (compiled.rest_indexed, compiled.rest_dated) == (indexed, dated)


def test_a_negated_flag_test_is_the_flags_index_test() -> None:
    negated = compile_node(Not(FlagIs(Flag.FLAGGED)))
    assert negated.where == compile_node(FlagIs(Flag.FLAGGED, False)).where
    assert negated.where.startswith("m.flags IN (")


def test_empty_store_pages(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        node = And((Term(TextField.FROM, "bob"), FlagIs(Flag.SEEN, False)))
        assert store.search_ids(Q(node, max_results=5)) == []
        assert store.count(Q(node)) == 0
        assert store.page_after(Q(node), None, None, 5) == []
