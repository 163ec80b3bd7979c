"""Query plans: the newest-first page plans (date-index walk vs. hit lookup) give the same
rows; the server-ingest orphan probes read indexes; the partial indexes serve their
lookups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import services.store.store as store_module
from services.mime.parse import parse_message
from services.models import ChannelKind, Flag
from services.query.ast import And, Field, FlagIs, HasAttachment, Not, Term, TextField
from services.store import Store
from services.store.partial import HAS_ORPHANS, claim_probes
from services.store.prepare import prepare
from services.store.search import channel_sql, compile_node
from tests.unit.store.helpers import Q, item, make_raw

BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("factor", [0, 10**9])  # 0: always walk the date index; huge: never
def test_page_plans_agree_with_a_full_sort(
    store: Store, monkeypatch: pytest.MonkeyPatch, factor: int
) -> None:
    raws = [make_raw(i, body=f"common word{i % 3}", date=BASE + timedelta(hours=(i * 7) % 40))
            for i in range(40)]
    ids = store.ingest([item(r) for r in raws]).ids
    for mid in ids[::4]:
        store.set_flags(mid, add=[Flag.SEEN])
    monkeypatch.setattr(store_module, "_SCAN_FACTOR", factor)
    for node in (Term(TextField.BODY, "common"),
                 And((Term(TextField.BODY, "common"), Not(FlagIs(Flag.SEEN)))),
                 And((Term(TextField.BODY, "word1"), FlagIs(Flag.SEEN, False)))):
        expected = store.search_ids(Q(node))  # no limit: the plain plan, full sort
        assert expected and len(expected) == store.count(Q(node))
        assert store.search_ids(Q(node, max_results=7)) == expected[:7]
        assert store.search_ids(Q(node, max_results=5, offset_value=3)) == expected[3:8]
        first = store.page_after(Q(node), None, None, 6)
        assert [m.id for m in first] == expected[:6]
        last = first[-1]
        assert last.date is not None and last.id is not None
        after = store.page_after(Q(node), int(last.date.timestamp()), last.id, 6)
        assert [m.id for m in after] == expected[6:12]


def _plan(store: Store, sql: str, params: tuple[object, ...]) -> str:
    return " ".join(str(r[3]) for r in store.read_rows(f"EXPLAIN QUERY PLAN {sql}", params))


def test_the_orphan_check_of_every_server_batch_reads_an_index_not_the_folder(
    store: Store,
) -> None:
    """Asked once per folder per ingested batch: a folder scan made big syncs quadratic."""
    assert "USING INDEX messages_orphan" in _plan(store, HAS_ORPHANS, (1,))


def test_orphan_claims_probe_by_the_message_s_own_keys(store: Store) -> None:
    """After a UIDVALIDITY change messages_orphan holds the whole folder: a claim walking it
    would be linear per message, so each probe must use the message-id / sha index."""
    raw = make_raw(1)
    p = prepare(parse_message(raw, account="a", folder="F", remote_id="1"), raw, store.codec)
    assert p.message_id
    probes = claim_probes(1, 2, p)
    assert "USING INDEX messages_msgid" in _plan(store, *probes[0])
    assert "USING INDEX messages_sha" in _plan(store, *probes[1])
    no_id = p._replace(message_id=None)
    plans = [_plan(store, *q) for q in claim_probes(1, 2, no_id)]
    assert len(plans) == 2 and all("messages_orphan" not in plan for plan in plans)


@pytest.mark.parametrize(("node", "index"), [(HasAttachment(), "messages_attach"),
                                             (Field(ChannelKind.SMS), "messages_channel")])
def test_attachment_and_channel_searches_use_their_partial_indexes(
    store: Store, node: HasAttachment | Field, index: str
) -> None:
    """messages_attach and messages_channel hold only the rows these searches want
    (schema version 7); the compiled SQL states each index's condition."""
    compiled = compile_node(node)
    sql = f"SELECT m.id FROM messages m WHERE {compiled.where} ORDER BY m.date DESC"
    plan = _plan(store, sql, compiled.params)
    assert f"INDEX {index}" in plan and "TEMP B-TREE" not in plan  # in date order, too


def test_channel_sql_states_the_index_condition_for_every_channel_but_email(
    store: Store,
) -> None:
    assert channel_sql(ChannelKind.EMAIL) == "m.channel = ?"
    for kind in ChannelKind:
        if kind != ChannelKind.EMAIL:
            plan = _plan(store, f"SELECT m.id FROM messages m WHERE {channel_sql(kind)}",
                         (str(kind),))
            assert "INDEX messages_channel" in plan, kind
