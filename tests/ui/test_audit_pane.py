"""The audit pane, offscreen, over a real AuditLog of 50 varied entries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from services.security.audit import AuditLog
from services.security.secrets import MemorySecrets
from tests.ui.test_audit_viewmodel import fill_log, stepping_clock
from ui.models.audit_model import AuditTableModel
from ui.qt import Qt, QtCharts, QtCore
from ui.viewmodels.audit import AuditViewModel
from ui.views.audit_pane import AuditPane

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    clock = stepping_clock(datetime(2024, 5, 1, 8, tzinfo=UTC), timedelta(hours=9, minutes=17))
    with AuditLog.open(tmp_path / "audit.sqlite3", MemorySecrets(), clock=clock) as log:  # type: ignore[arg-type]
        fill_log(log, 50)
        yield log


def make_pane(qtbot, log: AuditLog) -> AuditPane:  # type: ignore[no-untyped-def]
    vm = AuditViewModel(log, tz=UTC)
    vm.refresh()
    pane = AuditPane(vm)
    qtbot.addWidget(pane)
    pane.resize(1200, 760)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def test_pane_shows_filters_charts_and_exports(qtbot, qtmodeltester, log: AuditLog,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    pane = make_pane(qtbot, log)
    model = pane.model
    assert isinstance(model, AuditTableModel)
    qtmodeltester.check(model)
    assert model.rowCount() == 50
    assert pane.integrity.text().startswith("✓ Verified: 50 entries")

    series = pane.chart.series()
    assert len(series) == 1 and isinstance(series[0], QtCharts.QStackedBarSeries)
    sets = series[0].barSets()
    assert sum(sum(s.at(i) for i in range(s.count())) for s in sets) == 50
    assert {s.label() for s in sets} == set(pane.vm.events)

    SHOTS.mkdir(parents=True, exist_ok=True)
    assert pane.grab().save(str(SHOTS / "audit-pane.png"))

    pane.event.setCurrentIndex(pane.event.findData("read"))
    assert model.rowCount() == len(pane.vm.rows) > 0
    assert {model.index(r, 2).data() for r in range(model.rowCount())} == {"read"}
    qtmodeltester.check(model)
    assert [s.label() for s in pane.chart.series()[0].barSets()] == ["read"]

    pane.event.setCurrentIndex(0)
    pane.channel.setCurrentIndex(pane.channel.findData("sms"))
    pane.since.setDate(QtCore.QDate(2024, 5, 3))
    assert pane.vm.filter.since == date(2024, 5, 3) and pane.vm.filter.channel == "sms"
    assert all(model.index(r, 4).data() == "sms" for r in range(model.rowCount()))
    assert all(model.index(r, 1).data() >= "2024-05-03" for r in range(model.rowCount()))
    target = tmp_path / "export.csv"
    assert pane.export_to(target) == model.rowCount() > 0
    assert len(target.read_text(encoding="utf-8").splitlines()) == model.rowCount() + 1

    assert pane.since.minimumDate() == QtCore.QDate(2024, 4, 30)  # "any": before the first day
    pane.since.setDate(pane.since.minimumDate())  # "any": no lower limit again
    assert pane.since.text() == "any" and pane.vm.filter.since is None
    assert pane.until.text() == "any" and pane.vm.filter.until is None


def test_pane_shows_tampering(qtbot, log: AuditLog) -> None:  # type: ignore[no-untyped-def]
    assert log.path is not None
    db = sqlite3.connect(log.path, isolation_level=None)
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE seq = 17")
    db.close()
    pane = make_pane(qtbot, log)
    assert pane.integrity.text().startswith("✗ Tampered")
    assert "before #18" in pane.integrity.text()
    row = next(r for r in range(pane.model.rowCount()) if pane.model.row_at(r).seq == 18)
    brush = pane.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole)
    assert brush is not None and brush.color().red() == 255
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert pane.grab().save(str(SHOTS / "audit-pane-tampered.png"))
