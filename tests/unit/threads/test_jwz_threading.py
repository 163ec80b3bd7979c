"""JWZ threading: the classic cases, cycle safety and a property test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.models import Message
from services.threads.jwz import (
    ThreadNode,
    is_reply_subject,
    normalize_subject,
    reference_chain,
    thread_key_for,
    thread_messages,
)

BASE = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Item:
    message_id: str | None
    references: tuple[str, ...] = ()
    in_reply_to: str | None = None
    subject: str = "topic"
    date: datetime | None = None


def item(mid: str | None, *refs: str, irt: str | None = None, subject: str = "t", day: int = 0):
    return Item(mid, tuple(refs), irt, subject, BASE + timedelta(days=day))


def shape(nodes: list[ThreadNode[Item]]) -> list[object]:
    """Nested (id, [children]) tuples; placeholders are marked with '*'."""
    return [
        (n.message_id if n.message is not None else "*" + n.message_id, shape(n.children))
        if n.children
        else (n.message_id if n.message is not None else "*" + n.message_id)
        for n in nodes
    ]


def all_messages(nodes: list[ThreadNode[Item]]) -> list[Item]:
    return [m for n in nodes for m in n.messages()]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Hello", "hello"),
        ("RE[2]: Hello", "hello"),
        ("Re(3): hello", "hello"),
        ("Fwd: Fw: AW: SV: VS: Antw: Hello   World", "hello world"),
        ("[list-tag] Re: [other] re: Hello", "hello"),
        ("Hello (fwd)", "hello"),
        ("Réponse: HÉLLO", "réponse: héllo"),
        ("", ""),
        ("Re:", ""),
        ("Regarding things", "regarding things"),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_is_reply_subject() -> None:
    assert is_reply_subject("Re: x")
    assert is_reply_subject("[list] AW: x")
    assert is_reply_subject("Fwd: Re: x")
    assert not is_reply_subject("Fwd: x")
    assert not is_reply_subject("Regarding x")
    assert not is_reply_subject("")


def test_reference_chain_and_key() -> None:
    assert reference_chain("c", ("a", "b"), "b") == ["a", "b"]
    assert reference_chain("c", ("a",), "b") == ["a", "b"]
    assert reference_chain("c", ("b", "a"), "b") == ["a", "b"]
    assert reference_chain("c", ("c", "a"), None) == ["a"]
    assert thread_key_for("c", ("a",), "b") == ["a", "b", "c"]
    assert thread_key_for(None, (), None) == []


def test_simple_chain_and_reply_before_parent() -> None:
    # the reply arrives before its parent: still threaded under it
    items = [item("c", "a", "b", day=2), item("a", day=0), item("b", "a", day=1)]
    assert shape(thread_messages(items)) == [("a", [("b", ["c"])])]


def test_missing_parent_gives_placeholder_for_siblings() -> None:
    items = [item("b", "a", day=1), item("c", "a", day=2)]
    roots = thread_messages(items)
    assert shape(roots) == [("*a", ["b", "c"])]
    assert roots[0].message is None


def test_single_child_of_missing_parent_is_promoted() -> None:
    assert shape(thread_messages([item("b", "a")])) == ["b"]


def test_missing_middle_is_pruned() -> None:
    items = [item("a", day=0), item("c", "a", "b", day=2)]
    assert shape(thread_messages(items)) == [("a", ["c"])]


def test_in_reply_to_only() -> None:
    items = [item("a"), item("b", irt="a", day=1)]
    assert shape(thread_messages(items)) == [("a", ["b"])]


def test_cycles_in_references_do_not_loop() -> None:
    items = [item("a", "b", day=0), item("b", "a", day=1), item("c", "c", "a", day=2)]
    roots = thread_messages(items)
    assert sorted(m.message_id or "" for m in all_messages(roots)) == ["a", "b", "c"]
    for root in roots:
        seen = [id(n) for n in root.walk()]
        assert len(seen) == len(set(seen))


def test_subject_grouping_only_without_reply_headers() -> None:
    items = [
        item("a", subject="Lunch", day=0),
        item("b", subject="Re: Lunch", day=1),  # no reply headers: grouped under a
        item("c", "zzz", subject="Re: Lunch", day=2),  # has References: stays apart
    ]
    assert shape(thread_messages(items)) == [("a", ["b"]), "c"]


def test_subject_grouping_of_equals_uses_placeholder() -> None:
    items = [item("a", subject="Weekly", day=0), item("b", subject="weekly", day=3)]
    roots = thread_messages(items)
    assert len(roots) == 1 and roots[0].message is None
    assert [c.message_id for c in roots[0].children] == ["a", "b"]


def test_siblings_sorted_by_date_and_roots_too() -> None:
    items = [
        item("r", day=0),
        item("z", "r", day=5),
        item("y", "r", day=1),
        item("x", "r", day=3),
        Item("nodate", ("r",), None, "t", None),
        item("other", subject="other", day=-1),
    ]
    roots = thread_messages(items)
    assert [r.message_id for r in roots] == ["other", "r"]
    assert [c.message_id for c in roots[1].children] == ["y", "x", "z", "nodate"]


def test_missing_and_duplicate_message_ids_get_synthetic_ids() -> None:
    items = [item(None, subject="a"), item(None, subject="b"), item("d"), item("d", day=1)]
    roots = thread_messages(items)
    ids = [n.message_id for r in roots for n in r.walk()]
    assert len(ids) == len(set(ids))
    assert len(all_messages(roots)) == 4


def test_works_with_real_messages() -> None:
    a = Message(message_id="a", subject="Hi", date=BASE)
    b = Message(message_id="b", in_reply_to="a", references=("a",), subject="Re: Hi")
    roots = thread_messages([b, a])
    assert roots[0].message is a and roots[0].children[0].message is b


def test_very_long_chain_does_not_recurse() -> None:
    n = 5000
    items = [item(f"m{i}", *(f"m{j}" for j in range(max(0, i - 3), i)), day=i) for i in range(n)]
    items[3:] = [item(f"m{i}", f"m{i - 1}", day=i) for i in range(3, n)]
    roots = thread_messages(items)
    assert len(all_messages(roots)) == n


ids = st.sampled_from([f"id{i}" for i in range(12)])


@st.composite
def random_items(draw: st.DrawFn) -> list[Item]:
    count = draw(st.integers(0, 25))
    out: list[Item] = []
    for index in range(count):
        out.append(
            Item(
                message_id=draw(st.one_of(st.none(), ids)),
                references=tuple(draw(st.lists(ids, max_size=6))),
                in_reply_to=draw(st.one_of(st.none(), ids)),
                subject=draw(st.sampled_from(["a", "Re: a", "b", "Fwd: b", ""])),
                date=draw(st.one_of(st.none(), st.just(BASE + timedelta(hours=index)))),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(random_items())
def test_random_graphs_never_loop_and_keep_every_message(items: list[Item]) -> None:
    roots = thread_messages(items)
    seen_nodes: set[int] = set()
    found: list[int] = []
    for root in roots:
        assert root.parent is None
        for node in root.walk():
            assert id(node) not in seen_nodes, "node reached twice: a loop or a shared child"
            seen_nodes.add(id(node))
            for child in node.children:
                assert child.parent is node
            if node.message is not None:
                found.append(id(node.message))
            else:
                assert node.children, "empty placeholder left in the tree"
    assert sorted(found) == sorted(id(i) for i in items)
