"""The HMAC chain behind the audit log: entries, their MACs and verification (no I/O).

Each entry's MAC is ``HMAC-SHA256(key, canonical(entry fields + previous entry's MAC))``;
the first entry chains to ``""``.  The log also keeps a signed *head* (the last entry's
sequence number and MAC) so that deleting the newest entries is found too.

:func:`verify_chain` walks the entries in order and says, for each problem, what an
attacker without the key must have done:

* **edited**: the entry's MAC does not match its content, but the chain still runs
  through it (its neighbours link to it);
* **inserted**: an entry whose MAC does not match and that the chain skips (the next
  entry links to the one before it);
* **deleted**: an authentic entry that does not link to the previous one (or the head
  points past the last entry): entries between them were removed.

The sequence number is not part of the MAC (order is carried by the chain), so
renumbering rows to make room for an inserted one is reported as the insertion it is.
What the chain cannot see: a whole log rolled back to an older copy of itself (head
included), since nothing outside the file remembers how long it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "GENESIS",
    "AuditEntry",
    "Head",
    "Problem",
    "VerifyReport",
    "entry_mac",
    "format_time",
    "head_mac",
    "parse_time",
    "verify_chain",
]

GENESIS = ""
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(when: datetime) -> str:
    """UTC, fixed width, so the text sorts like the time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit event.  ``details`` hold metadata only (never bodies or secrets)."""

    seq: int
    time: datetime
    event: str
    user: str | None = None
    channel: str | None = None
    object_id: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    prev_mac: str = GENESIS
    mac: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "time": format_time(self.time),
            "event": self.event,
            "user": self.user,
            "channel": self.channel,
            "object_id": self.object_id,
            "details": dict(sorted(self.details.items())),
            "prev_mac": self.prev_mac,
            "mac": self.mac,
        }


def _canonical(entry: AuditEntry) -> bytes:
    payload = [
        format_time(entry.time),
        entry.event,
        entry.user,
        entry.channel,
        entry.object_id,
        dict(sorted(entry.details.items())),
        entry.prev_mac,
    ]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_mac(key: bytes, entry: AuditEntry) -> str:
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Head:
    """The signed pointer to the newest entry."""

    seq: int
    mac: str
    signature: str


def head_mac(key: bytes, seq: int, mac: str) -> str:
    return hmac.new(key, f"head:{seq}:{mac}".encode(), hashlib.sha256).hexdigest()


ProblemKind = Literal["edited", "inserted", "deleted", "head", "key"]


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """``ok`` when every entry is authentic and in place; else the problems, first first."""

    checked: int
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return f"audit log verified: {self.checked} entries, chain intact"
        first = self.problems[0]
        return (
            f"audit log TAMPERED: {len(self.problems)} problem(s) in {self.checked} entries; "
            f"first at entry #{first.seq}: {first.message}"
        )


def _ok(key: bytes, entry: AuditEntry) -> bool:
    return hmac.compare_digest(entry_mac(key, entry), entry.mac)


def verify_chain(key: bytes, entries: Sequence[AuditEntry], head: Head | None) -> VerifyReport:
    """Check ``entries`` (ordered by ``seq``) against ``key`` and the signed ``head``."""
    problems: list[Problem] = []
    head_valid = head is not None and hmac.compare_digest(
        head_mac(key, head.seq, head.mac), head.signature
    )
    if head is not None and not head_valid:
        problems.append(Problem(head.seq, "head", "the log's signed head was altered"))
    elif head is None and entries:
        problems.append(Problem(entries[-1].seq, "head", "the log's signed head is missing"))
    end_mac = head.mac if head is not None and head_valid else None

    prev_mac, prev_seq = GENESIS, 0
    for i, entry in enumerate(entries):
        nxt_prev = entries[i + 1].prev_mac if i + 1 < len(entries) else end_mac
        if not _ok(key, entry):
            linked = entry.prev_mac == prev_mac and nxt_prev in (entry.mac, None)
            if not linked and nxt_prev == prev_mac:
                text = f"entry #{entry.seq} was inserted (not signed by this log)"
                problems.append(Problem(entry.seq, "inserted", text))
                continue
            problems.append(Problem(entry.seq, "edited",
                                    f"entry #{entry.seq} ({entry.event}) was edited"))
        elif entry.prev_mac != prev_mac:
            where = f"after #{prev_seq}" if prev_seq else "at the start"
            problems.append(Problem(entry.seq, "deleted",
                                    f"entries were deleted {where}, before #{entry.seq}"))
        prev_mac, prev_seq = entry.mac, entry.seq
    if end_mac is not None and head is not None and end_mac != prev_mac:
        problems.append(Problem(head.seq, "deleted",
                                f"entries after #{prev_seq} were deleted "
                                f"(the log was signed up to #{head.seq})"))
    return VerifyReport(len(entries), tuple(sorted(problems, key=lambda p: p.seq)))
