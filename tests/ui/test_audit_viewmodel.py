"""The audit view-model over a real AuditLog, without Qt."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.security.audit import AuditLog
from services.security.secrets import MemorySecrets
from ui.viewmodels.audit import AuditViewModel

ROOT = Path(__file__).resolve().parents[2]


def fill_log(log: AuditLog, n: int) -> None:
    """``n`` varied entries spread over about three weeks."""
    events = ["sent", "received", "read", "read", "deleted", "sign-in", "settings", "exported",
              "rule-fired", "dlp-blocked"]
    users = ["admin@company.com", "ana@company.com", "bo@company.com"]
    channels = ["email", "email", "sms", "chat"]
    for i in range(n):
        log.record(events[(i * 7) % len(events)], user=users[i % 3],
                   channel=channels[i % 4], object_id=f"<msg{i}@company.com>",
                   details={"account": "work" if i % 2 else "home"})


def stepping_clock(start: datetime, step: timedelta) -> object:
    state = {"now": start}

    def clock() -> datetime:
        state["now"] += step
        return state["now"]

    return clock


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    clock = stepping_clock(datetime(2024, 5, 1, 8, tzinfo=UTC), timedelta(hours=9, minutes=17))
    with AuditLog.open(tmp_path / "audit.sqlite3", MemorySecrets(), clock=clock) as log:  # type: ignore[arg-type]
        yield log


def test_no_qt_imported() -> None:
    code = ("import sys, ui.viewmodels.audit; "
            "sys.exit(any(m.startswith('PySide6') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_rows_filters_and_choices(log: AuditLog) -> None:
    fill_log(log, 50)
    vm = AuditViewModel(log, tz=UTC)
    calls: list[int] = []
    vm.on_changed(lambda: calls.append(len(vm.rows)))
    vm.refresh()
    assert len(vm.rows) == 50 and calls == [50]
    assert vm.integrity.ok and "50 entries" in vm.integrity.text
    assert vm.channels == ["chat", "email", "sms"]
    assert "admin@company.com" in vm.users and "dlp-blocked" in vm.events

    vm.set_filter(event="read")
    assert vm.rows and {r.event for r in vm.rows} == {"read"}
    vm.set_filter(event="", user="ana@company.com", channel="sms")
    assert vm.rows and all(r.user == "ana@company.com" and r.channel == "sms" for r in vm.rows)
    vm.set_filter(user=None, channel=None, since=date(2024, 5, 5), until=date(2024, 5, 6))
    assert vm.rows and {r.day for r in vm.rows} <= {date(2024, 5, 5), date(2024, 5, 6)}
    assert len(vm.rows) == 5
    span = vm.date_span
    assert span is not None and span[0] == date(2024, 5, 1) and (span[1] - span[0]).days > 15


def test_timeline_is_stacked_per_day_and_per_month(log: AuditLog) -> None:
    fill_log(log, 50)
    vm = AuditViewModel(log, tz=UTC)
    vm.refresh()
    tl = vm.timeline()
    assert tl.total == 50
    span = vm.date_span
    assert span is not None
    assert tl.labels[0] == "05-01" and len(tl.labels) == (span[1] - span[0]).days + 1
    assert all(len(v) == len(tl.labels) for v in tl.counts.values())
    assert sum(tl.counts["read"]) == sum(1 for r in vm.rows if r.event == "read")
    vm.set_filter(event="nothing-like-this")
    assert vm.timeline().labels == ()


def test_timeline_by_month_for_long_spans(tmp_path: Path) -> None:
    clock = stepping_clock(datetime(2023, 1, 1, tzinfo=UTC), timedelta(days=20))
    with AuditLog.open(tmp_path / "a.sqlite3", MemorySecrets(), clock=clock) as log:  # type: ignore[arg-type]
        fill_log(log, 30)
        vm = AuditViewModel(log, tz=UTC)
        vm.refresh()
        tl = vm.timeline()
    assert tl.labels[0] == "2023-01" and all(len(label) == 7 for label in tl.labels)
    assert tl.total == 30


def test_tampering_shows_first_bad_entry_and_marks_rows(log: AuditLog) -> None:
    fill_log(log, 20)
    assert log.path is not None
    db = sqlite3.connect(log.path, isolation_level=None)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET user = 'mallory@evil.example' WHERE seq = 9")
    db.close()
    vm = AuditViewModel(log, tz=UTC)
    vm.refresh()
    assert not vm.integrity.ok and vm.integrity.first_bad == 9
    assert "Tampered" in vm.integrity.text and "#9" in vm.integrity.text
    assert [r.seq for r in vm.rows if r.suspect] == [9]


def test_export_writes_the_filtered_rows(log: AuditLog, tmp_path: Path) -> None:
    fill_log(log, 30)
    vm = AuditViewModel(log, tz=UTC)
    vm.refresh()
    vm.set_filter(channel="sms")
    target = tmp_path / "out.csv"
    assert vm.export_csv(target) == len(vm.rows) > 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(vm.rows) + 1 and all(",sms," in line for line in lines[1:])
    (exported,) = [e for e in log.entries(events=["exported"]) if e.object_id == "audit-log"]
    assert exported.details == {"format": "csv", "entries": str(len(lines) - 1)}
    assert vm.integrity.ok and vm.integrity.text.startswith("✓ Verified: 31 entries")


async def test_load_reads_in_a_thread(log: AuditLog) -> None:
    fill_log(log, 12)
    vm = AuditViewModel(log, tz=UTC)
    await vm.load()
    assert len(vm.rows) == 12 and vm.integrity.ok


def test_unreadable_log_is_shown_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    log = AuditLog.open(path, MemorySecrets())
    log.close()  # a closed connection: every read fails with StoreError
    vm = AuditViewModel(log, tz=UTC)
    vm.refresh()
    assert vm.error is not None and "cannot read the audit log" in vm.error
    assert vm.rows == [] and not vm.integrity.ok
