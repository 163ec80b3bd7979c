"""Delta-sync planning (pure): what a page of ``messages/delta`` means for the local copy.

A delta item is either ``{"id", "@removed": {...}}`` (gone from the folder: deleted or
moved away) or a message that is new or changed (here only ``isRead``/``flag``/``isDraft``
are selected).  Against the local state (remote id → (local id, flags)) that gives the
messages to download, the flag updates and the local ids to delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.email.graph.mapping import flags_from_json
from services.models import Flag

__all__ = ["DELTA_SELECT", "DeltaItem", "DeltaPlan", "LocalEntry", "parse_delta", "plan_delta",
           "stale_ids"]

DELTA_SELECT = "id,isRead,flag,isDraft"


@dataclass(frozen=True, slots=True)
class LocalEntry:
    id: int
    flags: frozenset[Flag]


@dataclass(frozen=True, slots=True)
class DeltaItem:
    remote_id: str
    removed: bool = False
    flags: frozenset[Flag] = frozenset()
    known: frozenset[Flag] = frozenset()  # the flags this item speaks for


@dataclass(slots=True)
class DeltaPlan:
    fetch: dict[str, frozenset[Flag]] = field(default_factory=dict)  # remote id → flags
    update: dict[int, tuple[frozenset[Flag], frozenset[Flag]]] = field(
        default_factory=dict)  # local id → (add, remove)
    remove: list[int] = field(default_factory=list)


def parse_delta(items: Iterable[Mapping[str, Any]]) -> list[DeltaItem]:
    """Delta items in order; the last one for an id wins (Graph may repeat an id)."""
    latest: dict[str, DeltaItem] = {}
    for item in items:
        rid = item.get("id")
        if not rid:
            continue
        latest.pop(str(rid), None)
        if "@removed" in item:
            latest[str(rid)] = DeltaItem(str(rid), removed=True)
        else:
            flags, known = flags_from_json(item)
            latest[str(rid)] = DeltaItem(str(rid), flags=flags, known=known)
    return list(latest.values())


def plan_delta(items: Sequence[DeltaItem], local: Mapping[str, LocalEntry]) -> DeltaPlan:
    plan = DeltaPlan()
    for item in items:
        entry = local.get(item.remote_id)
        if item.removed:
            if entry is not None:
                plan.remove.append(entry.id)
            continue
        if entry is None:
            plan.fetch[item.remote_id] = item.flags
            continue
        add = (item.flags & item.known) - entry.flags
        remove = (item.known - item.flags) & entry.flags
        if add or remove:
            plan.update[entry.id] = (add, remove)
    return plan


def stale_ids(seen: set[str], local: Mapping[str, LocalEntry]) -> list[int]:
    """After a full listing: local messages the server no longer has in the folder."""
    return sorted(e.id for rid, e in local.items() if rid not in seen)
