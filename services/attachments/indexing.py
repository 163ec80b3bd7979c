"""Put attachments' analysis and text into the store (and so into search).

Run by the composition root after a sync or import (``index_pending`` in a worker
thread, in batches): each attachment is analysed, its text extracted and both
recorded with ``services.store.attachments.record_attachment``.
"""

from __future__ import annotations

from collections import defaultdict

from services.attachments.manager import AttachmentManager
from services.attachments.types import AnalysisStatus
from services.errors import NotFound
from services.store.attachments import record_attachment, unanalysed_attachments
from services.store.store import Store

__all__ = ["index_message_attachments", "index_pending"]


def index_message_attachments(manager: AttachmentManager, store: Store, message_id: int,
                              part_ids: set[str] | None = None) -> int:
    """Analyse and index the attachments of one stored message; returns how many."""
    try:
        message = store.get(message_id)
    except NotFound:
        return 0
    stored = [str(r[0]) for r in store.read_rows(
        "SELECT part_id FROM attachments WHERE message_id = ? ORDER BY position",
        (message_id,))]
    done = 0
    for attachment in message.attachments:
        part = attachment.part_id
        if part not in stored or (part_ids is not None and part not in part_ids):
            continue
        analysis = manager.analyze_attachment(attachment)
        text = ""
        if analysis.status in (AnalysisStatus.OK, AnalysisStatus.TRUNCATED):
            text = manager.extract(attachment).text
        record_attachment(store, message_id, part, sha256=analysis.sha256 or "-",
                          kind=analysis.file_type, status=analysis.status.value,
                          risks=[r.value for r in analysis.risks], text=text)
        done += 1
    if part_ids is None or done < len(part_ids):  # parts the parser no longer finds
        for part in stored:
            if part_ids is not None and part not in part_ids:
                continue
            if not any(a.part_id == part for a in message.attachments):
                record_attachment(store, message_id, part, sha256="-", kind="other",
                                  status=AnalysisStatus.UNAVAILABLE.value)
    return done


def index_pending(manager: AttachmentManager, store: Store, limit: int = 100) -> int:
    """Index up to ``limit`` attachments not analysed yet; returns how many were."""
    by_message: dict[int, set[str]] = defaultdict(set)
    for message_id, part in unanalysed_attachments(store, limit):
        by_message[message_id].add(part)
    return sum(index_message_attachments(manager, store, mid, parts)
               for mid, parts in by_message.items())
