"""services.store.outbox: idempotent enqueue, drafts, due order, claim, retry/fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.errors import NotFound, StoreError, ValidationError
from services.store import Store, outbox


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "commhub.sqlite3")
    try:
        yield s
    finally:
        s.close()


def test_enqueue_is_idempotent_and_raw_goes_through_the_blob_codec(store: Store) -> None:
    a = outbox.enqueue(store, "acc", b"raw one", "me@x", ["a@x", "a@x", "b@x"], "<m1@x>", now=5)
    assert (a.message_id, a.status, a.recipients, a.next_attempt) == (
        "m1@x", "queued", ("a@x", "b@x"), 5.0)
    assert outbox.enqueue(store, "acc", b"raw two", "me@x", ["c@x"], "m1@x") == a
    assert outbox.load_raw(store, a) == b"raw one"
    assert a.raw_key.startswith("outbox-")
    with pytest.raises(ValidationError):
        outbox.enqueue(store, "acc", b"x", "me@x", [], "m2@x")
    with pytest.raises(NotFound):
        outbox.get(store, "nope@x")


def test_draft_is_replaced_when_queued(store: Store) -> None:
    d = outbox.save_draft(store, "acc", b"draft", "me@x", [], "d@x")
    assert d.status == "draft" and outbox.due(store, 1e12) == []
    q = outbox.enqueue(store, "acc", b"final", "me@x", ["a@x"], "d@x", now=1)
    assert (q.id, q.status) == (d.id, "queued") and outbox.load_raw(store, q) == b"final"
    assert [i.message_id for i in outbox.list_items(store, "queued")] == ["d@x"]


def test_due_claim_retry_sent_failed(store: Store) -> None:
    for n, when in (("late@x", 50), ("early@x", 10)):
        outbox.enqueue(store, "acc", n.encode(), "me@x", ["a@x"], n, now=when)
    assert [i.message_id for i in outbox.due(store, 60)] == ["early@x", "late@x"]
    assert outbox.due(store, 20, account="other") == []
    item = outbox.claim(store, "early@x", now=11)
    assert item is not None and (item.status, item.attempts) == ("sending", 1)
    assert outbox.claim(store, "early@x") is None  # a second sender cannot take it
    retry = outbox.mark_retry(store, "early@x", "451 busy", 99.5, error_type="TEMPORARY")
    assert (retry.status, retry.next_attempt, retry.last_error) == ("queued", 99.5, "451 busy")
    assert outbox.next_due(store) == 50.0
    outbox.mark_sending(store, "early@x")
    sent = outbox.mark_sent(store, "early@x", "smtp", now=100)
    assert (sent.status, sent.provider, sent.sent_at, sent.attempts) == ("sent", "smtp", 100, 2)
    with pytest.raises(StoreError, match="is sent"):
        outbox.mark_failed(store, "early@x", "too late")
    failed = outbox.mark_failed(store, "late@x", "550 rejected", error_type="FATAL")
    assert failed.status == "failed" and outbox.list_items(store, "failed") == [failed]
