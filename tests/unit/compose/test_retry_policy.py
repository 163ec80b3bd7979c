"""RetryPolicy: full-jitter schedule (seeded), retry_after floor, what is never retried."""

from __future__ import annotations

import random

import pytest

from services.email.smtp import DeliveryUncertain, response_error
from services.errors import (
    AuthenticationError,
    ConnectionFailed,
    MessageError,
    OperationTimedOut,
    ProviderError,
)
from services.outbox import Action, ErrorKind, RetryPolicy, classify


def test_full_jitter_schedule_is_seeded_and_bounded() -> None:
    a = RetryPolicy(base=10, cap=100, max_attempts=8, rng=random.Random(7))
    b = RetryPolicy(base=10, cap=100, max_attempts=8, rng=random.Random(7))
    schedule = [a.backoff(n) for n in range(1, 9)]
    assert schedule == [b.backoff(n) for n in range(1, 9)]  # reproducible
    ceilings = [10, 20, 40, 80, 100, 100, 100, 100]
    assert all(0 <= d <= c for d, c in zip(schedule, ceilings, strict=True))
    expected = random.Random(7)
    assert schedule == pytest.approx([expected.uniform(0, c) for c in ceilings])
    assert len(set(schedule)) == len(schedule)  # jittered, not a fixed ladder


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base=1, cap=2, rng=random.Random(1))
    err = MessageError("slow down", error_type="RATE_LIMITED", retry_after=90)
    decision = policy.decide(err, 1, can_failover=False)
    assert decision.action is Action.RETRY and decision.delay == 90


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AuthenticationError("535 bad password"), ErrorKind.AUTH),
        (MessageError("550 no such user", error_type="REJECTED"), ErrorKind.FATAL),
        (MessageError("552 too big", error_type="TOO_LARGE"), ErrorKind.FATAL),
        (ValueError("bug"), ErrorKind.FATAL),
        (MessageError("451 later", error_type="TEMPORARY"), ErrorKind.TEMPORARY),
        (ProviderError("quota", provider="gmail", error_code="QUOTA_EXCEEDED"),
         ErrorKind.QUOTA),
        (ConnectionFailed("refused"), ErrorKind.CONNECTION),
        (OperationTimedOut("slow"), ErrorKind.CONNECTION),
        (DeliveryUncertain("lost after DATA"), ErrorKind.UNCERTAIN),
    ],
)
def test_classify(error: BaseException, kind: ErrorKind) -> None:
    assert classify(error) is kind


def test_decisions_per_kind() -> None:
    p = RetryPolicy(base=1, cap=4, max_attempts=3, rng=random.Random(3))
    assert p.decide(AuthenticationError("x"), 1, can_failover=True).action is Action.FAIL
    rejected = MessageError("x", error_type="REJECTED")
    assert p.decide(rejected, 1, can_failover=True).action is Action.FAIL
    quota = ProviderError("x", provider="gmail", error_code="QUOTA_EXCEEDED")
    assert p.decide(quota, 1, can_failover=True).action is Action.FAILOVER
    assert p.decide(quota, 1, can_failover=False).action is Action.RETRY
    down = ConnectionFailed("x")
    assert p.decide(down, 2, can_failover=True).action is Action.RETRY
    assert p.decide(down, 3, can_failover=True).action is Action.FAILOVER
    assert p.decide(down, 3, can_failover=False).action is Action.FAIL
    temp = MessageError("x", error_type="TEMPORARY")
    assert p.decide(temp, 3, can_failover=True).action is Action.FAIL


def test_smtp_reply_codes_map_to_error_types() -> None:
    temp = response_error(451, "4.3.0 try again in 2 minutes", "RCPT")
    assert isinstance(temp, MessageError)
    assert (temp.error_type, temp.retry_after) == ("TEMPORARY", 120.0)
    rate = response_error(421, "4.7.0 Too many messages, slow down", "MAIL")
    assert isinstance(rate, MessageError) and rate.error_type == "RATE_LIMITED"
    assert isinstance(response_error(535, "bad credentials", "AUTH"), AuthenticationError)
    gone = response_error(550, "5.1.1 no such user", "RCPT")
    assert isinstance(gone, MessageError) and gone.error_type == "REJECTED"
    big = response_error(552, "5.3.4 too big", "DATA")
    assert isinstance(big, MessageError) and big.error_type == "TOO_LARGE"
