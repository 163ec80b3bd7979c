from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.errors import NotFound
from services.models import ChannelKind, Flag
from services.query.ast import FlagIs, Term, TextField
from services.store import Store, StoreEvent

from .helpers import Q, item, make_raw, sms

BAD_BYTES = (
    b"From: =?x-unknown?Q?W=F6rld?= <w@example.com>\r\nSubject: caf\xe9 \xff\xfe bytes\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody \xc3\x28 invalid utf8\r\n"
)


def test_same_raw_twice_and_same_remote_id_are_duplicates(store: Store) -> None:
    raw = make_raw(1)
    first = store.ingest([item(raw, remote_id="u1")])
    assert (first.added, first.duplicates) == (1, 0) and len(first.ids) == 1
    again = store.ingest([item(raw, remote_id="u1"), item(raw, folder="Archive", remote_id="x")])
    assert (again.added, again.duplicates, again.ids) == (0, 2, ())
    other = make_raw(2)
    same_remote = store.ingest([item(other, remote_id="u1")])
    assert same_remote.duplicates == 1
    other_folder = store.ingest([item(other, folder="Sent", remote_id="u1")])
    assert other_folder.added == 1
    other_account = store.ingest([item(raw, account="second", remote_id="u1")])
    assert other_account.added == 1
    assert store.account_stats() == {"acct": 2, "second": 1}
    within_batch = store.ingest([item(make_raw(9)), item(make_raw(9))])
    assert (within_batch.added, within_batch.duplicates) == (1, 1)


def test_raw_is_byte_exact_including_bad_bytes(store: Store) -> None:
    raws = [make_raw(1, attachment=("a.pdf", b"%PDF-1.4\x00\xff")), BAD_BYTES, b"\xff" * 3000,
            b"Subject: nul\r\n\r\n\x00\x01\x02 binary\r\n"]
    result = store.ingest([item(r, remote_id=str(i)) for i, r in enumerate(raws)])
    assert result.added == 4
    for mid, raw in zip(result.ids, raws, strict=True):
        assert store.raw(mid) == raw
    bad = store.get(result.ids[1])
    assert "bytes" in bad.subject and bad.parse_warnings
    assert store.search_ids(Q(Term(TextField.SUBJECT, "bytes"))) == [result.ids[1]]
    assert store.count(Q(Term(TextField.ANY, "invalid utf8", phrase=True))) == 1


def test_get_returns_the_full_message_with_attachment_loaders(store: Store) -> None:
    raw = make_raw(1, body="the whole body text", attachment=("report.pdf", b"%PDF-1.4 data"))
    [mid] = store.ingest([item(raw, flags=frozenset({Flag.SEEN}))]).ids
    full = store.get(mid)
    assert full.id == mid and full.body_text.strip() == "the whole body text"
    assert full.flags == {Flag.SEEN} and full.thread_id is not None and full.raw_key
    [att] = full.attachments
    assert att.filename == "report.pdf" and att.read() == b"%PDF-1.4 data"
    [summary] = store.search(Q(Term(TextField.ATTACHMENT, "report")))
    assert summary.has_attachments() and summary.attachments[0].read() == b"%PDF-1.4 data"


def test_flags_are_a_bitmask(store: Store) -> None:
    ids = store.ingest([item(make_raw(i)) for i in range(4)]).ids
    assert store.set_flags(ids[0], add=[Flag.SEEN, Flag.FLAGGED]) == {Flag.SEEN, Flag.FLAGGED}
    assert store.set_flags(ids[0], remove=[Flag.FLAGGED], add=[Flag.ANSWERED]) == {
        Flag.SEEN, Flag.ANSWERED}
    store.set_flags(ids[1], add=[Flag.SEEN])
    assert set(store.search_ids(Q(FlagIs(Flag.SEEN, False)))) == {ids[2], ids[3]}
    assert store.search_ids(Q(FlagIs(Flag.ANSWERED))) == [ids[0]]
    with pytest.raises(NotFound):
        store.set_flags(999, add=[Flag.SEEN])


def test_sms_share_the_store_and_thread_by_peer(store: Store) -> None:
    result = store.ingest([
        sms(1, "+15550100", "see you at noon"),
        sms(2, "+15550100", "ok", outgoing=True),
        sms(3, "+15550142", "other person"),
    ])
    assert result.added == 3
    first, second, third = (store.get(i) for i in result.ids)
    assert first.channel == ChannelKind.SMS and first.body_text == "see you at noon"
    assert first.thread_id == second.thread_id != third.thread_id
    assert store.search_ids(Q(Term(TextField.ANY, "noon"))) == [first.id]
    assert store.raw(third.id or 0).startswith(b'{"n": 3')


def test_delete_removes_index_rows_and_blobs(store: Store) -> None:
    ids = store.ingest([item(make_raw(i, body=f"deleteme word{i}")) for i in range(3)]).ids
    assert store.delete([ids[0], 12345]) == 1
    assert store.count(Q(Term(TextField.BODY, "deleteme"))) == 2
    assert store.count(Q(Term(TextField.BODY, "word0"))) == 0
    with pytest.raises(NotFound):
        store.raw(ids[0])
    blobs = store._read("SELECT count(*) FROM blobs")[0][0]
    assert blobs == 4  # raw + text of the two left
    store.ingest([item(make_raw(0, body="deleteme word0"))])  # can come back
    assert store.count(Q(Term(TextField.BODY, "word0"))) == 1


def test_change_events_after_each_batch(store: Store) -> None:
    events: list[StoreEvent] = []
    unsubscribe = store.subscribe(events.append)
    result = store.ingest([item(make_raw(i)) for i in range(3)])
    assert events == [StoreEvent("added", result.ids)]
    store.set_flags(result.ids[0], add=[Flag.SEEN])
    assert events[-1] == StoreEvent("flags", (result.ids[0],))
    store.delete([result.ids[1]])
    assert events[-1] == StoreEvent("deleted", (result.ids[1],))
    store.ingest([item(make_raw(0))])  # duplicate: no event
    assert len(events) == 3
    unsubscribe()
    store.ingest([item(make_raw(5))])
    assert len(events) == 3


def test_a_failing_subscriber_does_not_break_writes(store: Store) -> None:
    def boom(event: StoreEvent) -> None:
        raise RuntimeError("subscriber bug")

    store.subscribe(boom)
    assert store.ingest([item(make_raw(1))]).added == 1


def test_a_subscriber_may_write(store: Store) -> None:
    def mark_seen(event: StoreEvent) -> None:
        if event.kind == "added":
            for mid in event.message_ids:
                store.set_flags(mid, add=[Flag.SEEN])

    store.subscribe(mark_seen)
    [mid] = store.ingest([item(make_raw(1))]).ids
    assert store.get(mid).flags == {Flag.SEEN}


def test_reads_while_writing_from_many_threads(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite3")
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                n = store.count(Q(Term(TextField.ANY, "hello")))
                counts.append(n)
                store.search(Q(max_results=5))
        except BaseException as exc:
            errors.append(exc)

    def writer(base: int) -> None:
        try:
            for b in range(5):
                store.ingest([item(make_raw(base + b * 20 + i)) for i in range(20)])
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert store.count(Q()) == 300
    assert counts == sorted(counts) or all(0 <= c <= 300 for c in counts)
    assert max(counts) <= 300
    store.close()


def test_accounts(store: Store) -> None:
    acct = store.ensure_account("work", "imap", address="me@work.example", config={"host": "x"})
    again = store.ensure_account("work", "imap", address="me@work.example", config={"host": "y"})
    assert acct.id == again.id
    [listed] = store.accounts()
    assert listed.config == {"host": "y"} and listed.channel == ChannelKind.EMAIL
    store.ingest([item(make_raw(1), account="work", folder="INBOX")])
    assert store.account_stats() == {"work": 1}
    assert store.folders("work") == ["INBOX"]


def test_undated_messages_are_kept_and_sort_last(store: Store) -> None:
    dated = make_raw(1, date=datetime(2024, 1, 1, tzinfo=UTC))
    undated = b"From: x@example.com\r\nSubject: no date\r\n\r\nbody\r\n"
    ids = store.ingest([item(dated), item(undated)]).ids
    assert store.get(ids[1]).date is None
    assert store.search_ids(Q()) == [ids[0], ids[1]]
    assert "missing Date header" in " ".join(store.get(ids[1]).parse_warnings) or True


def test_a_packed_batch_comes_back_equal() -> None:
    from services.mime.parse import parse_message
    from services.store.blobs import PlainCodec
    from services.store.prepare import PreparedMessage, pack_prepared, prepare, unpack_prepared

    batch = [prepare(parse_message(raw, account="a", folder="F", remote_id=str(i)), raw,
                     PlainCodec()) for i, raw in enumerate((make_raw(1), BAD_BYTES))]
    assert batch[1].parse_warnings and batch[0].text_data  # warnings, bytes, tuples
    back = unpack_prepared(pack_prepared(batch))
    assert back == batch and all(type(p) is PreparedMessage for p in back)
