"""Deliver what the outbox holds: retries, failover between routes, crash recovery.

A send goes ``queued`` (persisted by :func:`services.store.outbox.enqueue` before any
network I/O) → ``sending`` (committed before the first byte goes out) →
``transport.send_raw`` → ``sent`` (then a copy is filed in Sent through the
:class:`SentFolder` unless the route's provider files it itself) — or back to ``queued``
with a backoff, or ``failed``.  Routes are tried in order: ``QUOTA_EXCEEDED`` moves to the
next route at once, connection failures after ``max_attempts`` tries on a route too.

Crash windows (process killed; the store is SQLite WAL, a committed row survives a kill)
--------------------------------------------------------------------------------------

1. Before ``enqueue`` commits: nothing is stored and nothing was sent; the caller never
   got a result.  Not lost silently, not duplicated.
2. ``queued``, not yet claimed: sent once after restart.
3. ``sending``, the server has not received the end of DATA (connecting, MAIL/RCPT, DATA
   in flight): an SMTP server must not deliver a transaction without its final ``.``
   (RFC 5321 4.1.1.4), so nothing was delivered.  On restart :meth:`OutboxSender.recover`
   asks ``SentFolder.was_sent`` (no), requeues, and the message goes out once.
   *Covered* (integration test ``kill -9`` mid-DATA).
4. ``sending``, the server got the whole message and committed it, but we died before its
   250 reached us or before ``mark_sent`` committed.  This is the window SMTP cannot close
   (no idempotency key; RFC 1047).  On restart ``was_sent`` decides:

   * the provider files a copy in Sent when it accepts (Gmail, Exchange/Graph, most
     hosted submission servers; ``Route.saves_sent=True``): the copy is found → marked
     sent, *no duplicate* (integration test: the server commits, then stalls, we kill).
     Residual risk: providers file that copy asynchronously (Gmail: usually < 1 s); a
     restart inside that gap still resends.
   * a plain SMTP relay where *we* file the Sent copy after the 250: the copy is not
     there yet → the message is resent → **duplicate**.  Not covered.
   * no :class:`SentFolder` configured, or it cannot be reached (error → we resend,
     preferring delivery over de-duplication): **duplicate possible**.
5. After ``mark_sent`` commits, before our APPEND to Sent finished: sent once, but the
   Sent copy is missing (not re-filed on restart).  No duplicate; a missing copy.
6. No crash, but the connection broke after the message was transmitted
   (``DeliveryUncertain``): retried later, and the retry asks ``was_sent`` first, with
   the same coverage as window 4.

``synchronous=NORMAL`` (the store's setting) keeps commits across a process kill, not
across power loss: after an OS crash a ``sent`` row may come back as ``sending`` and go
through window 4.  Recovery assumes no other live sender works on the same account and
store; ``stale_after`` leaves fresh ``sending`` rows alone for cross-process safety.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.email.protocols import SupportsSend
from services.email.smtp import PartialDelivery
from services.errors import (
    AuthenticationError,
    CommError,
    ConfigurationError,
    MessageError,
)
from services.models import SendResult
from services.outbox.retry import Action, ErrorKind, RetryPolicy, classify
from services.outbox.sentfolder import SentFolder
from services.store import outbox
from services.store.outbox import OutboxItem
from services.store.store import Store

__all__ = ["OutboxSender", "Route"]

_log = logging.getLogger(__name__)
T = TypeVar("T")
_MAYBE_DELIVERED = {str(ErrorKind.UNCERTAIN), "INTERRUPTED"}


@dataclass(frozen=True, slots=True)
class Route:
    """One way out: a transport and its name (recorded as the row's ``provider``).

    ``saves_sent``: the provider files a copy in Sent itself (Gmail, Graph...), so the
    sender does not APPEND one."""

    name: str
    transport: SupportsSend
    saves_sent: bool = False


class OutboxSender:
    """Sends the outbox rows of one ``account`` through ``routes`` (in order of preference)."""

    def __init__(
        self,
        store: Store,
        account: str,
        routes: Sequence[Route],
        *,
        sent_folder: SentFolder | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 60.0,
        stale_after: float = 0.0,
    ) -> None:
        if not routes:
            raise ConfigurationError("an outbox sender needs at least one route")
        names = [r.name for r in routes]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"route names must be unique: {names}")
        self.store = store
        self.account = account
        self.routes = tuple(routes)
        self.sent_folder = sent_folder
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self._wake: asyncio.Event | None = None

    async def _db(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(fn, self.store, *args, **kwargs)

    def _route_index(self, item: OutboxItem) -> int:
        for i, route in enumerate(self.routes):
            if route.name == item.provider:
                return i
        return 0

    # ------------------------------------------------------------------ recovery
    async def recover(self) -> int:
        """Resolve rows a stopped process left in ``sending``: sent if the Sent folder has
        them, else back to ``queued`` (the next try checks Sent again).  Returns how many."""
        older = self.clock() - self.stale_after
        stuck = await self._db(outbox.stuck_sending, account=self.account, older_than=older)
        for item in stuck:
            if await self._in_sent(item):
                await self._db(outbox.mark_sent, item.message_id, item.provider or "unknown",
                               note="recovered: found in the Sent folder after a restart")
                continue
            await self._db(
                outbox.mark_retry, item.message_id,
                "interrupted: the process stopped while sending", self.clock(),
                error_type="INTERRUPTED",
            )
        return len(stuck)

    async def _in_sent(self, item: OutboxItem) -> bool:
        if self.sent_folder is None:
            return False
        try:
            return await self.sent_folder.was_sent(item.message_id)
        except (CommError, OSError) as exc:  # cannot check: prefer delivery (see docstring)
            _log.warning("cannot check Sent for %s: %s", item.message_id, exc)
            return False

    # ------------------------------------------------------------------ sending
    async def send_now(self, item: OutboxItem | str, *, raise_fatal: bool = False) -> SendResult:
        """Try to send one queued message now (its schedule is ignored).

        Returns a successful :class:`SendResult`, or an unsuccessful one whose ``error``
        says whether it will be retried.  With ``raise_fatal``, errors that are never
        retried (refused login, rejected message) are raised after being recorded.
        """
        mid = item if isinstance(item, str) else item.message_id
        claimed = await self._db(outbox.claim, mid, now=self.clock())
        if claimed is None:
            current = await self._db(outbox.get, mid)
            if current.status == "sent":
                return SendResult.sent(mid, provider=current.provider or "",
                                       attempts=current.attempts)
            return SendResult.failed(f"not queued (status {current.status})", message_id=mid)
        raw = await self._db(outbox.load_raw, claimed)
        while True:
            result = await self._attempt(claimed, raw, raise_fatal=raise_fatal)
            if isinstance(result, SendResult):
                return result
            claimed = result  # failed over: the next route, at once

    async def _attempt(
        self, item: OutboxItem, raw: bytes, *, raise_fatal: bool
    ) -> SendResult | OutboxItem:
        index = self._route_index(item)
        route = self.routes[index]
        if item.error_type in _MAYBE_DELIVERED and await self._in_sent(item):
            await self._db(outbox.mark_sent, item.message_id, item.provider or route.name,
                           note="found in the Sent folder: not sent again")
            return SendResult.sent(item.message_id, provider=route.name, attempts=item.attempts)
        try:
            await route.transport.send_raw(raw, sender=item.sender, recipients=item.recipients)
        except PartialDelivery as exc:
            return await self._partial(item, route, raw, exc)
        except Exception as exc:  # a transport bug must not leave the row in 'sending'
            return await self._failed(item, index, exc, raise_fatal=raise_fatal)
        await self._db(outbox.mark_sent, item.message_id, route.name)
        await self._file_copy(route, item, raw)
        return SendResult.sent(item.message_id, provider=route.name, attempts=item.attempts)

    async def _file_copy(self, route: Route, item: OutboxItem, raw: bytes) -> None:
        if route.saves_sent or self.sent_folder is None:
            return
        try:
            await self.sent_folder.append_sent(raw)
        except (CommError, OSError) as exc:
            _log.warning("sent %s, but filing it in Sent failed: %s", item.message_id, exc)

    async def _partial(
        self, item: OutboxItem, route: Route, raw: bytes, exc: PartialDelivery
    ) -> SendResult | OutboxItem:
        retry = exc.temporary
        if not retry or item.attempts >= self.policy.max_attempts:
            await self._db(outbox.mark_sent, item.message_id, route.name, note=str(exc))
            await self._file_copy(route, item, raw)
            return SendResult(success=True, message_id=item.message_id, error=str(exc),
                              provider=route.name, attempts=item.attempts)
        when = self.clock() + self.policy.delay(item.attempts, exc)
        await self._db(outbox.mark_retry, item.message_id, str(exc), when,
                       error_type="PARTIAL", recipients=retry)
        return SendResult.failed(f"{exc}; will retry {', '.join(retry)}",
                                 provider=route.name, message_id=item.message_id)

    async def _failed(
        self, item: OutboxItem, index: int, exc: Exception, *, raise_fatal: bool
    ) -> SendResult | OutboxItem:
        route = self.routes[index]
        can_failover = index + 1 < len(self.routes)
        decision = self.policy.decide(exc, item.attempts, can_failover=can_failover)
        error = f"{route.name}: {exc}"
        mid = item.message_id
        if decision.action is Action.FAILOVER:
            nxt = self.routes[index + 1]
            _log.warning("%s: failing over from %s to %s: %s", mid, route.name, nxt.name, exc)
            await self._db(outbox.mark_retry, mid, error, self.clock(),
                           error_type=str(decision.kind), provider=nxt.name, reset_attempts=True)
            claimed = await self._db(outbox.claim, mid, now=self.clock())
            if claimed is not None:
                return claimed
            return SendResult.failed(error, provider=route.name, message_id=mid)
        if decision.action is Action.RETRY:
            when = self.clock() + decision.delay
            await self._db(outbox.mark_retry, mid, error, when, error_type=str(decision.kind),
                           provider=route.name)
            return SendResult.failed(f"{error} (will retry in {decision.delay:.0f} s)",
                                     provider=route.name, message_id=mid)
        await self._db(outbox.mark_failed, mid, error, error_type=str(classify(exc)))
        if raise_fatal and isinstance(exc, AuthenticationError | MessageError):
            raise exc
        return SendResult(success=False, message_id=mid, error=error, provider=route.name,
                          attempts=item.attempts)

    # ------------------------------------------------------------------ the loop
    def wake(self) -> None:
        """Look at the outbox now (call after enqueueing); safe from the loop thread only."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Recover, then send due rows until cancelled (a cancel mid-send leaves the row in
        ``sending``: the next :meth:`recover` resolves it)."""
        self._wake = asyncio.Event()
        await self.recover()
        while True:
            try:
                for item in await self._db(outbox.due, self.clock(), account=self.account):
                    await self.send_now(item)
                nxt = await self._db(outbox.next_due, account=self.account)
            except (CommError, OSError) as exc:
                _log.error("outbox of %s: %s", self.account, exc)
                nxt = None
            wait = self.poll_interval if nxt is None else nxt - self.clock()
            wait = max(0.0, min(self.poll_interval, wait))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
