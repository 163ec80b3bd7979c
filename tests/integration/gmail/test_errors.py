"""Rate limits, quota, server errors, network failures and the never-retried send."""

from __future__ import annotations

import pytest

from services.email.gmail import GmailService
from services.errors import ConnectionFailed, MessageError, ProviderError
from tests.fakes.gmail import GmailFake
from tests.support.mail import make_message


async def test_429_is_retried_after_retry_after(
    service: GmailService, gmail_fake: GmailFake, sleeps: list[float]
) -> None:
    gmail_fake.add_message(make_message("x"))
    gmail_fake.fail_next(2, "429", methods=("messages.list",), retry_after="1")
    report = await service.sync()
    assert report.added == 1
    assert gmail_fake.calls.count("messages.list") == 3
    assert sleeps == [1.0, 1.0]  # the server's Retry-After, not a guess


async def test_rate_limit_inside_a_batch_retries_only_those(
    service: GmailService, gmail_fake: GmailFake, sleeps: list[float]
) -> None:
    for i in range(6):
        gmail_fake.add_message(make_message(f"m{i}"))
    gmail_fake.fail_next(2, "rate403", methods=("messages.get",))
    report = await service.sync()
    assert report.added == 6
    assert gmail_fake.calls.count("messages.get") == 8  # 6 + the 2 refused, once more
    assert gmail_fake.batches == [6, 2] and len(sleeps) == 1


async def test_rate_limit_gives_up_with_retry_after(
    service: GmailService, gmail_fake: GmailFake, sleeps: list[float]
) -> None:
    gmail_fake.fail_next(10, "429", methods=("labels.list",), retry_after=None)
    with pytest.raises(MessageError) as info:
        await service.list_folders()
    assert info.value.error_type == "RATE_LIMITED"
    assert info.value.retry_after is not None and info.value.retry_after > 0
    assert gmail_fake.calls.count("labels.list") == 4 and len(sleeps) == 3


async def test_quota_is_not_retried(
    service: GmailService, gmail_fake: GmailFake, sleeps: list[float]
) -> None:
    gmail_fake.fail_next(1, "quota", methods=("labels.list",))
    with pytest.raises(ProviderError) as info:
        await service.list_folders()
    assert info.value.error_code == "QUOTA_EXCEEDED" and info.value.provider == "gmail"
    assert gmail_fake.calls.count("labels.list") == 1 and sleeps == []


async def test_server_errors_retried_then_reported(
    service: GmailService, gmail_fake: GmailFake, sleeps: list[float]
) -> None:
    gmail_fake.fail_next(1, "500", methods=("labels.list",))
    assert await service.list_folders()  # one 500, then fine
    gmail_fake.fail_next(9, "500", methods=("labels.list",))
    with pytest.raises(ProviderError) as info:
        await service.list_folders()
    assert info.value.error_code == "SERVER_ERROR"
    assert len(sleeps) == 1 + 3


async def test_send_is_never_retried(service: GmailService, gmail_fake: GmailFake,
                                     sleeps: list[float]) -> None:
    raw = make_message("once", message_id="<once@example.test>")
    gmail_fake.fail_next(1, "429", methods=("messages.send",))
    with pytest.raises(MessageError) as info:
        await service.send_raw(raw, sender="alice@example.test", recipients=["b@example.test"])
    assert info.value.error_type == "RATE_LIMITED"
    assert gmail_fake.calls.count("messages.send") == 1 and gmail_fake.sent == []
    # ambiguous: Gmail sent it, then answered 500 — raise, do not send twice
    gmail_fake.fail_next(1, "500-after", methods=("messages.send",))
    with pytest.raises(ProviderError) as err:
        await service.send_raw(raw, sender="alice@example.test", recipients=["b@example.test"])
    assert err.value.error_code == "SERVER_ERROR"
    assert gmail_fake.calls.count("messages.send") == 2 and gmail_fake.sent == [raw]
    assert sleeps == []
    assert await service.has_message_id("once@example.test")  # what the outbox checks


async def test_network_failure_is_connection_failed(
    service: GmailService, gmail_fake: GmailFake
) -> None:
    gmail_fake.stop()
    with pytest.raises(ConnectionFailed):
        await service.list_folders()
    with pytest.raises(ConnectionFailed):
        await service.send_raw(make_message("x"), sender="a@example.test",
                               recipients=["b@example.test"])
