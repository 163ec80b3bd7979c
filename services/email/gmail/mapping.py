"""Pure Gmail ↔ Commhub mapping: labels, folders, flags, messages, history plans.

Folders: a message lives in the first of INBOX, SENT, DRAFT, TRASH, SPAM it carries
(named as Gmail names those labels), else in :data:`ARCHIVE` ("All Mail" minus those).
Its other labels are kept as store labels (user labels by name, IMPORTANT, CATEGORY_*).
UNREAD is the absence of Seen, STARRED is Flagged, DRAFT also sets Draft.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.email.protocols import FolderInfo
from services.models import Flag, Message

__all__ = [
    "ARCHIVE",
    "FOLDER_LABELS",
    "HistoryPlan",
    "Placement",
    "flag_label_changes",
    "folders_from_labels",
    "message_from_raw_resource",
    "move_label_changes",
    "placement",
    "plan_history",
]

JsonDict = dict[str, Any]
FOLDER_LABELS = ("INBOX", "SENT", "DRAFT", "TRASH", "SPAM")
ARCHIVE = "Archive"
ROLES = {"INBOX": "inbox", "SENT": "sent", "DRAFT": "drafts", "TRASH": "trash",
         "SPAM": "junk", "STARRED": "flagged"}  # fmt: skip
_FLAG_LABELS = frozenset({"UNREAD", "STARRED"})
_HIDDEN = frozenset({"UNREAD", "CHAT"})


def folders_from_labels(labels: Iterable[JsonDict]) -> list[FolderInfo]:
    """``labels.list`` → folders: system folders first (with roles), then user labels by
    name, plus :data:`ARCHIVE`.  UNREAD and CHAT are states, not folders."""
    system: list[FolderInfo] = []
    user: list[FolderInfo] = []
    for label in labels:
        ident, name = str(label.get("id", "")), str(label.get("name", ""))
        if not ident or ident in _HIDDEN:
            continue
        if label.get("type") == "system":
            system.append(FolderInfo(name or ident, role=ROLES.get(ident)))
        else:
            user.append(FolderInfo(name, role=None))
    order = {ident: i for i, ident in enumerate((*FOLDER_LABELS, "STARRED"))}
    system.sort(key=lambda f: (order.get(f.name, len(order)), f.name))
    user.sort(key=lambda f: f.name.casefold())
    return [*system, FolderInfo(ARCHIVE, role="archive"), *user]


@dataclass(frozen=True, slots=True)
class Placement:
    folder: str
    labels: tuple[str, ...]
    flags: frozenset[Flag]


def placement(label_ids: Iterable[str], names: Mapping[str, str]) -> Placement:
    """Folder, store labels and flags of a message with these Gmail label ids
    (``names``: label id → name, from ``labels.list``; unknown ids keep their id)."""
    ids = list(dict.fromkeys(label_ids))
    folder_id = next((f for f in FOLDER_LABELS if f in ids), None)
    folder = names.get(folder_id, folder_id) if folder_id else ARCHIVE
    flags: set[Flag] = set()
    if "UNREAD" not in ids:
        flags.add(Flag.SEEN)
    if "STARRED" in ids:
        flags.add(Flag.FLAGGED)
    if "DRAFT" in ids:
        flags.add(Flag.DRAFT)
    labels = tuple(
        names.get(i, i) for i in ids if i != folder_id and i not in _FLAG_LABELS
    )
    return Placement(folder, labels, frozenset(flags))


def flag_label_changes(
    add: Iterable[Flag], remove: Iterable[Flag]
) -> tuple[list[str], list[str]]:
    """Label ids to add and remove for flag changes (Seen ↔ UNREAD, Flagged ↔ STARRED);
    other flags have no Gmail label and stay local."""
    plus, minus = set(add), set(remove)
    add_ids: list[str] = []
    remove_ids: list[str] = []
    if Flag.SEEN in plus:
        remove_ids.append("UNREAD")
    if Flag.SEEN in minus:
        add_ids.append("UNREAD")
    if Flag.FLAGGED in plus:
        add_ids.append("STARRED")
    if Flag.FLAGGED in minus:
        remove_ids.append("STARRED")
    return add_ids, remove_ids


def move_label_changes(
    current: Iterable[str], target: str, ids_by_name: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Label ids to add/remove to move a message (current label ids) to folder ``target``
    (a folder name from :func:`folders_from_labels`)."""
    have = set(current)
    leaving = [f for f in FOLDER_LABELS if f in have]
    if target == ARCHIVE:
        return [], leaving
    ident = ids_by_name.get(target) or ids_by_name.get(target.casefold())
    if ident is None:
        raise KeyError(target)
    if ident in FOLDER_LABELS:
        return [ident], [f for f in leaving if f != ident]
    return [ident], []  # a user label: Gmail "moves" by labelling, the message stays put


def _epoch_ms(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def message_from_raw_resource(
    resource: JsonDict, account: str, names: Mapping[str, str]
) -> tuple[Message, bytes, tuple[str, ...]]:
    """A ``messages.get(format=raw)`` resource → (message, raw bytes, store labels)."""
    from services.mime.parse import parse_message

    text = str(resource.get("raw", ""))
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    where = placement(resource.get("labelIds", []), names)
    parsed = parse_message(raw, account=account, folder=where.folder,
                           remote_id=str(resource["id"]))
    received = _epoch_ms(resource.get("internalDate"))
    message = parsed.with_changes(
        flags=where.flags, received_at=received, date=parsed.date or received
    )
    return message, raw, where.labels


@dataclass(slots=True)
class HistoryPlan:
    """What a run of history records asks for: ids to fetch, to re-label, to drop."""

    added: list[str] = field(default_factory=list)
    relabeled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def plan_history(records: Iterable[JsonDict]) -> HistoryPlan:
    """Collapse history records (oldest first) into one plan.  A message added and later
    deleted in the same run is only deleted; label changes of a new message need no
    separate fetch (its fetch brings the current labels)."""
    added: dict[str, None] = {}
    relabeled: dict[str, None] = {}
    deleted: dict[str, None] = {}
    for record in records:
        for item in record.get("messagesAdded", []):
            ident = str(item["message"]["id"])
            added[ident] = None
            deleted.pop(ident, None)
        for kind in ("labelsAdded", "labelsRemoved"):
            for item in record.get(kind, []):
                relabeled[str(item["message"]["id"])] = None
        for item in record.get("messagesDeleted", []):
            ident = str(item["message"]["id"])
            deleted[ident] = None
            added.pop(ident, None)
            relabeled.pop(ident, None)
    return HistoryPlan(
        added=list(added),
        relabeled=[i for i in relabeled if i not in added],
        deleted=list(deleted),
    )
