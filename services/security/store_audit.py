"""Audit what the local store reports: messages ``received`` (stored by a sync or an
import) and ``deleted``, one entry per committed batch (an import of 100,000 messages
is a few hundred entries, not 100,000).  Subscribed by the :class:`CommManager` when
auditing is on; the store calls it after each commit."""

from __future__ import annotations

from services.security.audit import AuditLog
from services.store.events import StoreEvent

__all__ = ["StoreAuditor"]

_EVENTS = {"added": "received", "deleted": "deleted"}
_LIST_AT_MOST = 20


def _ids(ids: tuple[int, ...]) -> str:
    if len(ids) <= _LIST_AT_MOST:
        return "local:" + ",".join(map(str, ids))
    return f"local:{min(ids)}..{max(ids)}"


class StoreAuditor:
    def __init__(self, audit: AuditLog, *, channel: str | None = None) -> None:
        self.audit = audit
        self.channel = channel

    def __call__(self, event: StoreEvent) -> None:
        name = _EVENTS.get(event.kind)
        if name is None or not event.message_ids:
            return
        self.audit.record(name, channel=self.channel, object_id=_ids(event.message_ids),
                          details={"count": str(len(event.message_ids)), "source": "store"})
