from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.store import Store, StoreEvent

from .helpers import item, make_raw


def _tid(store: Store, mid: int) -> int | None:
    return store.get(mid).thread_id


def test_reply_before_parent_joins_through_a_placeholder(store: Store) -> None:
    reply = make_raw(2, msgid="b@x", in_reply_to="a@x", references="a@x", subject="Re: plan")
    [rid] = store.ingest([item(reply)]).ids
    [pid] = store.ingest([item(make_raw(1, msgid="a@x", subject="plan"))]).ids
    assert _tid(store, rid) == _tid(store, pid)
    assert [m.id for m in store.thread(rid)] == [pid, rid]  # date order


def test_a_message_linking_two_threads_merges_them(store: Store) -> None:
    events: list[StoreEvent] = []
    store.subscribe(events.append)
    [a] = store.ingest([item(make_raw(1, msgid="a@x", subject="one"))]).ids
    [c] = store.ingest([item(make_raw(3, msgid="c@x", references="b@x", subject="Re: one"))]).ids
    assert _tid(store, a) != _tid(store, c)
    [b] = store.ingest([item(make_raw(2, msgid="b@x", references="a@x",
                                     in_reply_to="a@x", subject="Re: one"))]).ids
    assert _tid(store, a) == _tid(store, b) == _tid(store, c)
    assert {m.id for m in store.thread(a)} == {a, b, c}
    assert any(e.kind == "updated" and set(e.message_ids) & {a, c} for e in events)


def test_subject_fallback_only_without_reply_headers(store: Store) -> None:
    [root] = store.ingest([item(make_raw(1, msgid="r@x", subject="Lunch plans"))]).ids
    [fallback] = store.ingest([item(make_raw(2, msgid="f@x", subject="Re: Lunch plans"))]).ids
    assert _tid(store, fallback) == _tid(store, root)
    # a reply subject but with reply headers pointing elsewhere: follows the headers
    [headed] = store.ingest([item(make_raw(3, msgid="h@x", in_reply_to="elsewhere@x",
                                          subject="Re: Lunch plans"))]).ids
    assert _tid(store, headed) != _tid(store, root)
    # same subject but not a reply subject: a new thread
    [plain] = store.ingest([item(make_raw(4, msgid="p@x", subject="Lunch plans"))]).ids
    assert _tid(store, plain) != _tid(store, root)


def test_subject_fallback_picks_the_most_recent_thread(store: Store) -> None:
    from datetime import UTC, datetime

    old = make_raw(1, msgid="o@x", subject="Status", date=datetime(2023, 1, 1, tzinfo=UTC))
    new = make_raw(2, msgid="n@x", subject="Status", date=datetime(2024, 1, 1, tzinfo=UTC))
    o, n = store.ingest([item(old), item(new)]).ids
    [r] = store.ingest([item(make_raw(3, msgid="re@x", subject="RE: status"))]).ids
    assert _tid(store, r) == _tid(store, n) != _tid(store, o)


def test_threads_cross_folders_and_accounts(store: Store) -> None:
    [p] = store.ingest([item(make_raw(1, msgid="p@x"), account="work", folder="INBOX")]).ids
    [r] = store.ingest([item(make_raw(2, msgid="r@x", in_reply_to="p@x"),
                             account="home", folder="Sent")]).ids
    [copy] = store.ingest([item(make_raw(1, msgid="p@x", body="other copy"),
                                account="home", folder="Archive")]).ids
    assert _tid(store, p) == _tid(store, r) == _tid(store, copy)


def test_messages_without_ids_get_their_own_thread(store: Store) -> None:
    ids = store.ingest([item(make_raw(i, msgid="", subject="same")) for i in range(3)]).ids
    assert len({_tid(store, i) for i in ids}) == 3


def _partition(store: Store, ids: list[int]) -> set[frozenset[str]]:
    groups: dict[int | None, set[str]] = {}
    for mid in ids:
        message = store.get(mid)
        groups.setdefault(message.thread_id, set()).add(str(message.message_id))
    return {frozenset(g) for g in groups.values()}


def _tangle() -> list[bytes]:
    """Replies before parents, a message merging two threads, repeated placeholders, a
    subject fallback: everything the batch's msgid cache has to get right."""
    return [
        make_raw(1, msgid="c@x", references="b@x", subject="Re: one"),
        make_raw(2, msgid="a@x", subject="one"),
        make_raw(3, msgid="d@x", references="z@x", subject="Re: two"),
        make_raw(4, msgid="b@x", references="a@x", in_reply_to="a@x", subject="Re: one"),
        make_raw(5, msgid="e@x", references="z@x d@x", subject="Re: two"),
        make_raw(6, msgid="z@x", subject="two"),
        make_raw(7, msgid="f@x", references="c@x e@x", subject="Re: both"),
        make_raw(8, msgid="g@x", subject="Lonely"),
        make_raw(9, msgid="h@x", subject="Re: lonely"),
    ]


def test_one_batch_threads_exactly_as_one_message_at_a_time(tmp_path: Path) -> None:
    singles = Store.open(tmp_path / "singles.sqlite3")
    batched = Store.open(tmp_path / "batched.sqlite3")
    try:
        one_by_one = [mid for raw in _tangle() for mid in singles.ingest([item(raw)]).ids]
        at_once = list(batched.ingest([item(raw) for raw in _tangle()]).ids)
        expected = {frozenset({"a@x", "b@x", "c@x", "d@x", "e@x", "z@x", "f@x"}),
                    frozenset({"g@x", "h@x"})}
        assert _partition(singles, one_by_one) == expected
        assert _partition(batched, at_once) == expected
        # the msgids table agrees too: every id known, each pointing at its message
        for s in (singles, batched):
            rows = s.read_rows("SELECT msgid, message_id IS NOT NULL FROM msgids ORDER BY 1")
            assert [(str(r[0]), bool(r[1])) for r in rows] == [
                (k, True) for k in ("a@x", "b@x", "c@x", "d@x", "e@x", "f@x", "g@x",
                                    "h@x", "z@x")]
            tids = s.read_rows("SELECT DISTINCT thread_id FROM msgids")
            assert len(tids) == 2
    finally:
        singles.close()
        batched.close()


_WHEN = [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC),
         datetime(2023, 7, 1, tzinfo=UTC), datetime(1965, 1, 1, tzinfo=UTC)]
_message = st.tuples(
    st.sampled_from(["a@x", "b@x", "c@x", "d@x", ""]),  # Message-ID ("" none; ids repeat)
    st.lists(st.sampled_from(["a@x", "b@x", "c@x", "d@x"]), max_size=3),  # References
    st.sampled_from(["one", "Re: one", "two", "RE: two", "Re: one"]),
    st.sampled_from(_WHEN),
)


def _threads(store: Store, ids: list[int]) -> set[tuple[frozenset[int], int | None]]:
    """Each thread as (the positions of its messages in ``ids``, its last_date)."""
    members: dict[int, set[int]] = {}
    for n, mid in enumerate(ids):
        members.setdefault(_tid(store, mid) or 0, set()).add(n)
    dates = dict(store.read_rows("SELECT id, last_date FROM threads"))
    return {(frozenset(ns), dates.get(tid)) for tid, ns in members.items()}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(_message, min_size=1, max_size=9), cut=st.integers(0, 9))
def test_batches_thread_and_date_threads_as_single_messages_do(
    tmp_path_factory: pytest.TempPathFactory, messages: list[tuple[str, list[str], str, datetime]],
    cut: int,
) -> None:
    """New threads and later dates are written at a batch's end: replies before parents,
    merges, repeated ids, subject fallbacks and dates before 1970 give the same threads,
    with the same last dates, in one batch, in two, or one message at a time."""
    raws = [make_raw(n, msgid=msgid, references=" ".join(refs) or None, subject=subject,
                     date=when, body=f"message {n}")
            for n, (msgid, refs, subject, when) in enumerate(messages)]
    folder = tmp_path_factory.mktemp("threads")
    results = []
    for name, batches in (("singles", [[r] for r in raws]), ("one", [raws]),
                          ("two", [raws[:cut], raws[cut:]])):
        store = Store.open(folder / f"{name}.sqlite3")
        try:
            ids = [mid for batch in batches if batch
                   for mid in store.ingest([item(r) for r in batch]).ids]
            assert len(ids) == len(raws)
            results.append(_threads(store, ids))
        finally:
            store.close()
    assert results[0] == results[1] == results[2]
