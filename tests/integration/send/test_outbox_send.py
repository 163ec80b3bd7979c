"""The outbox end to end: persisted before I/O, retries, failover, kill -9 mid-send."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from services.errors import AuthenticationError, ProviderError
from services.models import SendResult
from services.outbox import OutboxSender, RetryPolicy, Route
from services.store import Store, outbox
from tests.integration.send.conftest import ALICE, BOB, compose, smtp_sender
from tests.integration.send.support import DovecotSent, SendServer, StallingServer, count_in
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer

FAST = RetryPolicy(base=0.05, cap=0.2, max_attempts=4, rng=random.Random(5))
CRASH_SCRIPT = Path(__file__).with_name("crash_sender.py")


def queue(store: Store, subject: str, *to: str) -> outbox.OutboxItem:
    out = compose(subject, *to).outgoing()
    return outbox.enqueue(store, "alice", out.raw, out.sender, out.recipients, out.message_id)


async def wait_status(store: Store, mid: str, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while outbox.get(store, mid).status != status:
        assert time.monotonic() < deadline, outbox.get(store, mid)
        await asyncio.sleep(0.02)


async def test_queued_before_io_and_delivered_once_by_a_new_sender(
    tmp_path: Path, clean_smtp: SmtpServer, clean_mailbox: DovecotServer
) -> None:
    db = tmp_path / "commhub.sqlite3"
    with Store.open(db) as first:  # "the app stops before sending"
        item = queue(first, "persisted")
        assert queue(first, "persisted").id != item.id  # another builder: another Message-ID
        again = outbox.enqueue(first, "alice", b"other bytes", ALICE, [ALICE], item.message_id)
        assert again == item  # idempotent by Message-ID
    assert clean_smtp.messages == []
    with Store.open(db) as store:
        assert outbox.get(store, item.message_id).status == "queued"
        sender = smtp_sender(clean_smtp)
        worker = OutboxSender(store, "alice", [Route("smtp", sender)], policy=FAST)
        task = asyncio.create_task(worker.run())
        try:
            await wait_status(store, item.message_id, "sent")
            await asyncio.sleep(0.2)  # a second pass must not send it again
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await sender.aclose()
        assert outbox.get(store, item.message_id).provider == "smtp"
    assert len(clean_smtp.wait_for(2)) == 2  # both queued rows, each once
    assert count_in(clean_mailbox, "alice", "INBOX", item.message_id) == 1


async def test_temporary_451_is_retried_only_for_that_recipient(
    recording: SendServer, store: Store
) -> None:
    recording.tempfail[ALICE] = 1
    item = queue(store, "tempfail", ALICE, BOB)
    sender = smtp_sender(recording)
    worker = OutboxSender(store, "alice", [Route("smtp", sender)], policy=FAST)
    try:
        first = await worker.send_now(item)
        assert not first.success and "451" in (first.error or "")
        row = outbox.get(store, item.message_id)
        assert (row.status, row.error_type, row.recipients) == ("queued", "PARTIAL", (ALICE,))
        await asyncio.sleep(max(0.0, row.next_attempt - time.time()))
        (due,) = outbox.due(store, time.time(), account="alice")
        assert (await worker.send_now(due)).success
    finally:
        await sender.aclose()
    assert recording.tempfailed == [ALICE]
    assert [m.rcpt_tos for m in recording.wait_for(2)] == [[BOB], [ALICE]]
    assert outbox.get(store, item.message_id).status == "sent"
    for user in ("alice", "bob"):
        assert count_in(recording.dovecot, user, "INBOX", item.message_id) == 1  # type: ignore[arg-type]


async def test_wrong_password_fails_after_one_attempt(
    clean_smtp: SmtpServer, store: Store
) -> None:
    item = queue(store, "bad password")
    sender = smtp_sender(clean_smtp, password="wrong")
    worker = OutboxSender(store, "alice", [Route("smtp", sender)], policy=FAST)
    with pytest.raises(AuthenticationError):
        await worker.send_now(item, raise_fatal=True)
    row = outbox.get(store, item.message_id)
    assert (row.status, row.attempts, row.error_type) == ("failed", 1, "AUTH")
    assert outbox.due(store, time.time() + 3600) == []  # never retried
    assert clean_smtp.auth_failures == 1 and clean_smtp.messages == []


class QuotaTransport:
    """Stands in for the Gmail API route when its daily sending quota is used up."""

    def __init__(self) -> None:
        self.calls = 0

    async def send_raw(self, raw: bytes, *, sender: str, recipients: Iterable[str]) -> SendResult:
        self.calls += 1
        raise ProviderError("daily sending quota exceeded", provider="gmail",
                            error_code="QUOTA_EXCEEDED")


async def test_quota_exceeded_fails_over_to_smtp(
    clean_smtp: SmtpServer, clean_mailbox: DovecotServer, store: Store
) -> None:
    item = queue(store, "failover")
    gmail, sender = QuotaTransport(), smtp_sender(clean_smtp)
    worker = OutboxSender(
        store, "alice", [Route("gmail", gmail, saves_sent=True), Route("smtp", sender)],
        sent_folder=DovecotSent(clean_mailbox), policy=FAST,
    )
    try:
        result = await worker.send_now(item)
    finally:
        await sender.aclose()
    assert result.success and result.provider == "smtp" and gmail.calls == 1
    row = outbox.get(store, item.message_id)
    assert (row.status, row.provider) == ("sent", "smtp")
    assert len(clean_smtp.wait_for(1)) == 1
    assert count_in(clean_mailbox, "alice", "INBOX", item.message_id) == 1
    assert count_in(clean_mailbox, "alice", "Sent", item.message_id) == 1  # filed by us


def start_crashing_sender(tmp_path: Path, stall: StallingServer) -> tuple[
    subprocess.Popen[str], str
]:
    out = compose("crash").outgoing()
    raw_file = tmp_path / "message.eml"
    raw_file.write_bytes(out.raw)
    proc = subprocess.Popen(
        [sys.executable, str(CRASH_SCRIPT), str(tmp_path / "commhub.sqlite3"), str(raw_file),
         stall.host, str(stall.port), ALICE, ALICE],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["QUEUED", out.message_id]
    assert stall.in_data.wait(15), "the child never reached DATA"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    proc.stdout.close()
    return proc, out.message_id


@pytest.mark.parametrize("server_committed", [False, True], ids=["mid-data", "after-commit"])
async def test_kill_9_mid_send_then_delivered_exactly_once(
    tmp_path: Path, clean_smtp: SmtpServer, clean_mailbox: DovecotServer,
    server_committed: bool,
) -> None:
    with StallingServer(clean_mailbox, commit=server_committed) as stall:
        _, mid = await asyncio.to_thread(start_crashing_sender, tmp_path, stall)
        deadline = time.monotonic() + 5
        while stall.dropped == 0 and time.monotonic() < deadline:  # server saw the client go
            await asyncio.sleep(0.02)
    assert stall.dropped == 1 and stall.committed == int(server_committed)
    with Store.open(tmp_path / "commhub.sqlite3") as store:
        assert outbox.get(store, mid).status == "sending"  # what the killed process left
        sender = smtp_sender(clean_smtp)
        worker = OutboxSender(store, "alice", [Route("smtp", sender)],
                              sent_folder=DovecotSent(clean_mailbox), policy=FAST)
        try:
            assert await worker.recover() == 1
            for due in outbox.due(store, time.time(), account="alice"):
                assert (await worker.send_now(due)).success
        finally:
            await sender.aclose()
        row = outbox.get(store, mid)
        assert row.status == "sent"
    assert count_in(clean_mailbox, "alice", "INBOX", mid) == 1  # exactly once
    assert count_in(clean_mailbox, "alice", "Sent", mid) == 1
    assert len(clean_smtp.messages) == (0 if server_committed else 1)
    if server_committed:
        assert "found in the Sent folder" in (row.last_error or "")
