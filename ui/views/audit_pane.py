"""The audit pane: the audit log as a filterable table, events per day as a stacked bar
chart, the log's integrity (verified ✓ / tampered, with the first bad entry), and export
to CSV.  ``AuditPane(vm)`` is a QWidget the main window hosts.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from ui.models.audit_model import AuditTableModel
from ui.qt import Qt, QtCharts, QtCore, QtGui, QtWidgets
from ui.viewmodels.audit import AuditViewModel

__all__ = ["AuditPane"]

ROW_HEIGHT = 22
_ANY = QtCore.QDate(2000, 1, 1)  # "any" (no limit) before the log's first day is known
_COLORS = {
    "sent": "#3b78c2", "received": "#4caf7a", "read": "#9bbbe0", "deleted": "#d9534f",
    "exported": "#f0ad4e", "erased": "#8e44ad", "rule-fired": "#16a2b8", "sign-in": "#6c757d",
    "settings": "#b8a36b", "dlp-blocked": "#a01818", "dlp-warned": "#e0a030",
    "send-failed": "#555555",
}
_FALLBACK = ["#7f8c8d", "#2c3e50", "#c0392b", "#27ae60", "#2980b9"]
_OK_STYLE = "QLabel { background: #e3f4e6; color: #1d6b30; padding: 6px; border-radius: 4px; }"
_BAD_STYLE = "QLabel { background: #fbe0e0; color: #8a1414; padding: 6px; border-radius: 4px; " \
             "font-weight: bold; }"


def _qdate(d: date) -> QtCore.QDate:
    return QtCore.QDate(d.year, d.month, d.day)


class AuditPane(QtWidgets.QWidget):
    def __init__(self, vm: AuditViewModel, parent: QtWidgets.QWidget | None = None) -> None:
        self._reload: asyncio.Future[None] | None = None
        super().__init__(parent)
        self.setObjectName("auditPane")
        self.vm = vm
        self.model = AuditTableModel(vm, self)
        self._filling = False

        self.since = self._date_edit("From date (any: no limit)")
        self.until = self._date_edit("To date, included (any: no limit)")
        self.event = self._combo("All events", "Event type")
        self.user = self._combo("All users", "User")
        self.channel = self._combo("All channels", "Channel")
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._ask_export)
        self.verify_button = QtWidgets.QPushButton("Verify again")
        self.verify_button.clicked.connect(self.vm.refresh)

        bar = QtWidgets.QHBoxLayout()
        for label, widget in (("From", self.since), ("To", self.until)):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(widget)
        for widget in (self.event, self.user, self.channel):
            bar.addWidget(widget, 1)
        bar.addStretch(0)
        bar.addWidget(self.verify_button)
        bar.addWidget(self.export_button)

        self.integrity = QtWidgets.QLabel()
        self.integrity.setObjectName("auditIntegrity")
        self.integrity.setAccessibleName("Audit log integrity")
        self.integrity.setWordWrap(True)

        self.chart = QtCharts.QChart()
        self.chart.setTitle("Events per day")
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setMargins(QtCore.QMargins(4, 4, 4, 4))
        self.chart_view = QtCharts.QChartView(self.chart)
        self.chart_view.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(280)

        self.table = self._table()
        splitter = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart_view)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.integrity)
        layout.addWidget(splitter, 1)

        vm.on_changed(self._update)
        self._update()

    # -- building ------------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        """Coming back to the pane shows what was recorded meanwhile (read off the GUI
        thread; a newer load replaces one still running)."""
        super().showEvent(event)
        if self._reload is not None and not self._reload.done():
            self._reload.cancel()
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no running event loop (a synchronous test): read now
            self._reload = None
            self.vm.refresh()
            return
        self._reload = asyncio.ensure_future(self.vm.load())

    async def close_tasks(self) -> None:
        if self._reload is not None:
            self._reload.cancel()
            await asyncio.gather(self._reload, return_exceptions=True)

    def _date_edit(self, tip: str) -> QtWidgets.QDateEdit:
        edit = QtWidgets.QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(_ANY)
        edit.setSpecialValueText("any")
        edit.setDate(_ANY)
        edit.setToolTip(tip)
        edit.setAccessibleName(tip)
        edit.dateChanged.connect(self._filters_changed)
        return edit

    def _combo(self, everything: str, name: str) -> QtWidgets.QComboBox:
        combo = QtWidgets.QComboBox()
        combo.addItem(everything, "")
        combo.setAccessibleName(name)
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.currentIndexChanged.connect(self._filters_changed)
        return combo

    def _table(self) -> QtWidgets.QTableView:
        table = QtWidgets.QTableView()
        table.setObjectName("auditTable")
        table.setAccessibleName("Audit log entries")
        table.setModel(self.model)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        vheader = table.verticalHeader()
        vheader.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(ROW_HEIGHT)
        vheader.hide()
        header = table.horizontalHeader()
        header.setStretchLastSection(True)
        for col, width in enumerate((48, 150, 90, 170, 70, 190)):
            header.resizeSection(col, width)
        return table

    # -- filters -------------------------------------------------------------------------
    def _filters_changed(self, *_: object) -> None:
        if self._filling:
            return
        self.vm.set_filter(
            since=self._pydate(self.since), until=self._pydate(self.until),
            event=self.event.currentData(), user=self.user.currentData(),
            channel=self.channel.currentData(),
        )

    @staticmethod
    def _pydate(edit: QtWidgets.QDateEdit) -> date | None:
        q = edit.date()
        return None if q == edit.minimumDate() else date(q.year(), q.month(), q.day())

    def _fill(self, combo: QtWidgets.QComboBox, values: list[str], current: str | None) -> None:
        while combo.count() > 1:
            combo.removeItem(1)
        for value in values:
            combo.addItem(value, value)
        combo.setCurrentIndex(max(0, combo.findData(current or "")))

    # -- showing the view-model ------------------------------------------------------------
    def _update(self) -> None:
        self._filling = True
        try:
            f = self.vm.filter
            self._fill(self.event, self.vm.events, f.event)
            self._fill(self.user, self.vm.users, f.user)
            self._fill(self.channel, self.vm.channels, f.channel)
            span = self.vm.date_span
            # "any" is the day before the first entry, so the calendars open near the data
            any_day = _qdate(span[0]).addDays(-1) if span else _ANY
            for edit, value in ((self.since, f.since), (self.until, f.until)):
                edit.setMinimumDate(any_day)
                edit.setDate(any_day if value is None else _qdate(value))
        finally:
            self._filling = False
        integrity = self.vm.integrity
        self.integrity.setText(self.vm.error or integrity.text)
        self.integrity.setToolTip("\n".join(integrity.problems))
        self.integrity.setStyleSheet(_OK_STYLE if integrity.ok and not self.vm.error
                                     else _BAD_STYLE)
        self._chart()

    def _chart(self) -> None:
        chart = self.chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        timeline = self.vm.timeline()
        if not timeline.labels:
            chart.setTitle("Events per day: none match the filters")
            return
        monthly = len(timeline.labels[0]) == 7
        chart.setTitle(f"Events per {'month' if monthly else 'day'} ({timeline.total})")
        series = QtCharts.QStackedBarSeries()
        for i, (event, counts) in enumerate(timeline.counts.items()):
            bar = QtCharts.QBarSet(event)
            bar.setColor(QtGui.QColor(_COLORS.get(event, _FALLBACK[i % len(_FALLBACK)])))
            bar.setBorderColor(QtGui.QColor("white"))
            bar.append([float(c) for c in counts])
            series.append(bar)
        series.setBarWidth(0.8)
        chart.addSeries(series)
        x_axis = QtCharts.QBarCategoryAxis()
        x_axis.append(list(timeline.labels))
        x_axis.setLabelsAngle(-60 if len(timeline.labels) > 24 else 0)
        y_axis = QtCharts.QValueAxis()
        peak = max(sum(c[i] for c in timeline.counts.values())
                   for i in range(len(timeline.labels)))
        step = max(1, -(-peak // 5))
        y_axis.setRange(0, step * -(-max(peak, 1) // step))
        y_axis.setTickType(QtCharts.QValueAxis.TickType.TicksDynamic)
        y_axis.setTickAnchor(0)
        y_axis.setTickInterval(step)
        y_axis.setLabelFormat("%d")
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x_axis)
        series.attachAxis(y_axis)

    # -- export ----------------------------------------------------------------------------
    def export_to(self, path: str | Path) -> int:
        return self.vm.export_csv(path)

    def _ask_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export audit log", "audit-log.csv", "CSV files (*.csv)")
        if path:
            try:
                self.export_to(path)
            except OSError as exc:
                QtWidgets.QMessageBox.warning(self, "Export failed", str(exc))
