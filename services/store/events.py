"""Result and event types of the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EventKind", "IngestResult", "StoreEvent"]

EventKind = Literal["added", "updated", "flags", "deleted"]


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """Sent to subscribers after a batch is committed.

    ``added``: new messages; ``updated``: messages whose thread changed (a merge);
    ``flags``: flags changed; ``deleted``: messages removed.
    """

    kind: EventKind
    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ``ingest`` call did.  ``ids`` are the new messages' ids, in input order;
    ``warnings`` counts added messages that carry parse warnings."""

    added: int = 0
    duplicates: int = 0
    warnings: int = 0
    ids: tuple[int, ...] = ()

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.added + other.added,
            self.duplicates + other.duplicates,
            self.warnings + other.warnings,
            self.ids + other.ids,
        )
