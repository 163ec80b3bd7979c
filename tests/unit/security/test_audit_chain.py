"""Property tests of the HMAC chain: any single edit, deletion or insertion is found, and
named with the right kind at the right entry."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.security.audit_chain import (
    GENESIS,
    AuditEntry,
    Head,
    entry_mac,
    head_mac,
    verify_chain,
)

KEY = b"k" * 32


def build(n: int) -> tuple[list[AuditEntry], Head]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        draft = AuditEntry(i, datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
                           ("sent", "read", "deleted")[i % 3], f"u{i % 4}", "email", f"m{i}",
                           {"account": "work"}, prev)
        entry = dataclasses.replace(draft, mac=entry_mac(KEY, draft))
        entries.append(entry)
        prev = entry.mac
    last = entries[-1]
    return entries, Head(last.seq, last.mac, head_mac(KEY, last.seq, last.mac))


@given(st.integers(1, 30))
def test_untouched_chains_verify(n: int) -> None:
    entries, head = build(n)
    assert verify_chain(KEY, entries, head).ok


@given(st.integers(1, 30), st.data(),
       st.sampled_from(["event", "user", "channel", "object_id", "details", "time", "prev_mac"]))
def test_any_edit_is_found_at_its_entry(n: int, data: st.DataObject, field: str) -> None:
    entries, head = build(n)
    i = data.draw(st.integers(0, n - 1))
    changes: dict[str, object] = {
        "event": "erased", "user": "mallory", "channel": "sms", "object_id": "other",
        "details": {"account": "home"}, "time": entries[i].time + timedelta(seconds=1),
        "prev_mac": "0" * 64,
    }
    entries[i] = dataclasses.replace(entries[i], **{field: changes[field]})  # type: ignore[arg-type]
    problems = verify_chain(KEY, entries, head).problems
    assert problems and problems[0].seq == entries[i].seq
    assert problems[0].kind in ({"edited"} if field != "prev_mac" else {"edited", "inserted"})


@given(st.integers(2, 30), st.data())
def test_any_deletion_is_found(n: int, data: st.DataObject) -> None:
    entries, head = build(n)
    start = data.draw(st.integers(0, n - 1))
    stop = data.draw(st.integers(start + 1, min(n, start + 5)))
    if stop - start == n:
        stop -= 1  # keep at least one entry
    kept = entries[:start] + entries[stop:]
    problems = verify_chain(KEY, kept, head).problems
    assert [p.kind for p in problems] == ["deleted"]


@given(st.integers(1, 30), st.data())
def test_any_insertion_is_found_as_insertion(n: int, data: st.DataObject) -> None:
    entries, head = build(n)
    at = data.draw(st.integers(0, n))
    prev = entries[at - 1].mac if at else GENESIS
    forged = AuditEntry(99, datetime(2024, 6, 1, tzinfo=UTC), "sign-in", "intruder", None,
                        None, {}, prev, "ab" * 32)
    problems = verify_chain(KEY, [*entries[:at], forged, *entries[at:]], head).problems
    assert [(p.seq, p.kind) for p in problems] == [(99, "inserted")]
