from __future__ import annotations

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
