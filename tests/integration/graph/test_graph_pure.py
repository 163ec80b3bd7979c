"""The pure protocol pieces of the Graph service (no server needed)."""

from __future__ import annotations

import random
from email import message_from_bytes

import pytest

from services.email.graph.delta import LocalEntry, parse_delta, plan_delta, stale_ids
from services.email.graph.errors import GraphError, error_for_response, is_delta_expired
from services.email.graph.mapping import flag_patch, folder_from_json
from services.email.graph.outgoing import (
    MAX_MIME_REQUEST,
    add_missing_bcc,
    b64_len,
    plan_outgoing,
)
from services.email.graph.retry import RetryPolicy
from services.email.graph.send import byte_ranges
from services.errors import AuthenticationError, MessageError, ProviderError
from services.models import Flag
from tests.fakes.graph import build_mime


def test_delta_plan_adds_updates_removes_and_last_item_wins() -> None:
    local = {"a": LocalEntry(1, frozenset({Flag.SEEN})), "b": LocalEntry(2, frozenset()),
             "c": LocalEntry(3, frozenset())}
    items = parse_delta([
        {"id": "a", "isRead": False, "flag": {"flagStatus": "flagged"}},
        {"id": "b", "@removed": {"reason": "deleted"}},
        {"id": "n", "isRead": True},
        {"id": "c", "isRead": True},
        {"id": "c", "isRead": False},  # repeated: the later state wins
    ])
    plan = plan_delta(items, local)
    assert plan.fetch == {"n": frozenset({Flag.SEEN})}
    assert plan.update == {1: (frozenset({Flag.FLAGGED}), frozenset({Flag.SEEN}))}
    assert plan.remove == [2]
    assert stale_ids({"a"}, local) == [2, 3]


def test_error_mapping() -> None:
    throttled = error_for_response(429, b'{"error":{"code":"TooManyRequests"}}',
                                   {"retry-after": "12"}, "GET /me")
    assert isinstance(throttled, MessageError) and throttled.retry_after == 12.0
    assert isinstance(error_for_response(401, b"", {}, "GET /me"), AuthenticationError)
    quota = error_for_response(403, b'{"error":{"code":"ErrorQuotaExceeded"}}', {}, "x")
    assert isinstance(quota, ProviderError) and quota.error_code == "QUOTA_EXCEEDED"
    gone = error_for_response(410, b'{"error":{"code":"SyncStateNotFound"}}', {}, "x")
    assert isinstance(gone, GraphError) and is_delta_expired(gone)
    other = error_for_response(404, b'{"error":{"code":"ErrorItemNotFound"}}', {}, "x")
    assert isinstance(other, GraphError) and other.error_code == "ErrorItemNotFound"
    assert not is_delta_expired(other)


def test_retry_policy_respects_retry_after_cap_and_idempotence() -> None:
    policy = RetryPolicy(attempts=3, base=1.0, cap=10.0, jitter=0.0)
    assert policy.delay(1, None) == 1.0 and policy.delay(3, None) == 4.0
    assert policy.delay(1, 5.0) == 5.0 and policy.delay(1, 99.0) == 10.0
    assert 1.0 <= RetryPolicy(jitter=0.5, base=1.0).delay(1, None, random.Random(1)) <= 1.5
    limited = MessageError("slow down", error_type="RATE_LIMITED")
    assert policy.should_retry(limited, 1, idempotent=True)
    assert not policy.should_retry(limited, 1, idempotent=False)
    assert not policy.should_retry(limited, 3, idempotent=True)


def test_flag_patch_and_folder_names() -> None:
    assert flag_patch([Flag.SEEN], [Flag.FLAGGED]) == {
        "isRead": True, "flag": {"flagStatus": "notFlagged"}}
    assert flag_patch([Flag.ANSWERED], []) == {}
    parent = folder_from_json({"id": "1", "displayName": "Inbox"})
    child = folder_from_json({"id": "2", "displayName": "a/b"}, parent)
    assert (parent.role, child.name, child.role) == ("inbox", "Inbox/a∕b", None)


def test_bcc_added_only_for_missing_recipients() -> None:
    raw = build_mime(to="bob@example.com", cc="carol@example.com")
    assert add_missing_bcc(raw, ["Bob@example.com", "carol@example.com"]) == raw
    out = add_missing_bcc(raw, ["bob@example.com", "dave@example.com"])
    assert out == b"Bcc: dave@example.com\r\n" + raw


def test_outgoing_plan_splits_big_attachments() -> None:
    small = build_mime(attachments=[("a.txt", b"a" * 1000)])
    assert plan_outgoing(small).direct
    big = build_mime(body="text", attachments=[("big.bin", b"\x00" * (3 * 1024 * 1024)),
                                               ("mid.bin", b"\x01" * (2 * 1024 * 1024)),
                                               ("tiny.txt", b"tiny")])
    plan = plan_outgoing(big)
    assert [a.name for a in plan.attachments] == ["big.bin", "mid.bin"]
    assert plan.attachments[0].needs_session and not plan.attachments[1].needs_session
    assert b64_len(len(plan.mime)) <= MAX_MIME_REQUEST
    rest = message_from_bytes(plan.mime)
    assert [p.get_filename() for p in rest.walk() if p.get_filename()] == ["tiny.txt"]


@pytest.mark.parametrize(("total", "chunk", "expected"), [
    (10, 4, [(0, 3), (4, 7), (8, 9)]), (8, 4, [(0, 3), (4, 7)]), (1, 4, [(0, 0)])])
def test_byte_ranges(total: int, chunk: int, expected: list[tuple[int, int]]) -> None:
    assert byte_ranges(total, chunk) == expected
