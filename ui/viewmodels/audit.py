"""Audit pane view-model: the audit log filtered, its integrity, and events per day.

Pure Python (no Qt).  :meth:`AuditViewModel.refresh` reads the log and verifies it;
filters (date range in the viewer's time zone, event, user, channel) then apply to the
loaded entries without touching the file again.  The timeline counts the filtered
entries per day (per month when they span more than :data:`MAX_DAYS` days) for each
event type.  Views observe changes through plain callbacks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Protocol

from services.errors import CommError
from services.security.audit_chain import AuditEntry, VerifyReport
from services.security.audit_export import export_entries

__all__ = ["AuditFilter", "AuditRow", "AuditViewModel", "Integrity", "Timeline"]

Listener = Callable[[], None]
MAX_DAYS = 92


class AuditSource(Protocol):
    """What the pane needs from :class:`services.security.audit.AuditLog`."""

    def entries(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        events: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
    ) -> list[AuditEntry]: ...

    def verify(self) -> VerifyReport: ...

    def record(
        self,
        event: str,
        *,
        channel: str | None = None,
        object_id: str | None = None,
        user: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> AuditEntry: ...


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    time: str
    day: date
    event: str
    user: str
    channel: str
    object_id: str
    details: str
    suspect: bool = False  # named by verify() as edited / inserted / next to a deletion


@dataclass(frozen=True, slots=True)
class AuditFilter:
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive
    event: str | None = None
    user: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Integrity:
    ok: bool
    text: str
    first_bad: int | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Timeline:
    """``counts[event][i]`` entries of ``event`` in bucket ``labels[i]``."""

    labels: tuple[str, ...] = ()
    counts: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.counts.values())


def _details(entry: AuditEntry) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))


class AuditViewModel:
    def __init__(self, log: AuditSource, *, tz: tzinfo | None = None) -> None:
        self._log = log
        self._tz = tz or datetime.now().astimezone().tzinfo
        self._all: list[AuditEntry] = []
        self._suspects: set[int] = set()
        self.filter = AuditFilter()
        self.rows: list[AuditRow] = []
        self.integrity = Integrity(True, "not checked yet")
        self.error: str | None = None
        self._listeners: list[Listener] = []

    # -- observing ------------------------------------------------------------------
    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- loading --------------------------------------------------------------------
    def _read(self) -> tuple[list[AuditEntry], VerifyReport | None, str | None]:
        try:
            return self._log.entries(), self._log.verify(), None
        except CommError as exc:
            return [], None, f"cannot read the audit log: {exc}"

    def _loaded(self, result: tuple[list[AuditEntry], VerifyReport | None, str | None]) -> None:
        self._all, report, self.error = result
        self.integrity = self._integrity(report)
        self._apply()

    def refresh(self) -> None:
        """Read and verify the log; a failure is shown (``error``), never raised."""
        self._loaded(self._read())

    async def load(self) -> None:
        """:meth:`refresh` with the reading and verifying in a worker thread (big logs)."""
        self._loaded(await asyncio.to_thread(self._read))

    def _integrity(self, report: VerifyReport | None) -> Integrity:
        if report is None:
            self._suspects = set()
            return Integrity(False, self.error or "not checked")
        self._suspects = {p.seq for p in report.problems}
        if report.ok:
            return Integrity(True, f"✓ Verified: {report.checked} entries, chain intact")
        first = report.problems[0]
        return Integrity(
            False,
            f"✗ Tampered: {first.message}"
            + (f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""),
            first.seq,
            tuple(p.message for p in report.problems),
        )

    def _local(self, entry: AuditEntry) -> datetime:
        return entry.time.astimezone(self._tz)

    def _keep(self, entry: AuditEntry) -> bool:
        f = self.filter
        day = self._local(entry).date()
        return not (
            (f.since is not None and day < f.since)
            or (f.until is not None and day > f.until)
            or (f.event and entry.event != f.event)
            or (f.user and entry.user != f.user)
            or (f.channel and entry.channel != f.channel)
        )

    def _apply(self) -> None:
        self.rows = [self._row(e) for e in self._all if self._keep(e)]
        self._changed()

    def _row(self, e: AuditEntry) -> AuditRow:
        local = self._local(e)
        return AuditRow(e.seq, f"{local:%Y-%m-%d %H:%M:%S}", local.date(), e.event,
                        e.user or "", e.channel or "", e.object_id or "", _details(e),
                        e.seq in self._suspects)

    def set_filter(self, **changes: object) -> None:
        """``set_filter(event="sent", since=date(2024, 1, 1))``; ``None`` or "" clears one."""
        clean = {k: (v or None) for k, v in changes.items()}
        self.filter = dataclasses.replace(self.filter, **clean)  # type: ignore[arg-type]
        self._apply()

    # -- what the filters offer ---------------------------------------------------------
    def _distinct(self, pick: Callable[[AuditEntry], str | None]) -> list[str]:
        return sorted({v for v in map(pick, self._all) if v})

    @property
    def events(self) -> list[str]:
        return self._distinct(lambda e: e.event)

    @property
    def users(self) -> list[str]:
        return self._distinct(lambda e: e.user)

    @property
    def channels(self) -> list[str]:
        return self._distinct(lambda e: e.channel)

    @property
    def date_span(self) -> tuple[date, date] | None:
        if not self._all:
            return None
        days = [self._local(e).date() for e in self._all]
        return min(days), max(days)

    # -- the chart and the export ----------------------------------------------------------
    def timeline(self) -> Timeline:
        if not self.rows:
            return Timeline()
        first, last = min(r.day for r in self.rows), max(r.day for r in self.rows)
        monthly = (last - first).days >= MAX_DAYS
        labels: list[str] = []
        day = first
        while day <= last:
            label = f"{day:%Y-%m}" if monthly else f"{day:%m-%d}"
            if not labels or labels[-1] != label:
                labels.append(label)
            day += timedelta(days=1)
        index = {label: i for i, label in enumerate(labels)}
        per: dict[str, Counter[int]] = {}
        for r in self.rows:
            label = f"{r.day:%Y-%m}" if monthly else f"{r.day:%m-%d}"
            per.setdefault(r.event, Counter())[index[label]] += 1
        counts = {ev: [c[i] for i in range(len(labels))] for ev, c in sorted(per.items())}
        return Timeline(tuple(labels), counts)

    def export_csv(self, path: str | Path) -> int:
        """Write the filtered entries (MACs included) to ``path``; returns how many."""
        keep = {r.seq for r in self.rows}
        entries = [e for e in self._all if e.seq in keep]
        with Path(path).open("w", encoding="utf-8", newline="") as f:
            count = export_entries(entries, f, "csv")
        problem = None
        try:  # exporting the log is itself audited
            self._log.record("exported", object_id="audit-log",
                             details={"format": "csv", "entries": str(count)})
        except CommError as exc:
            problem = f"exported, but the export could not be audited: {exc}"
        self.refresh()
        if problem:
            self.error = problem
            self._changed()
        return count
