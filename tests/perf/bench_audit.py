"""Audit log and DLP throughput: ``python -m tests.perf.bench_audit [N]``.

Records N entries (one transaction each, ``synchronous=FULL``, as in production), then
times a filtered query, a full ``verify()``, a CSV export, and the DLP scan of a
typical 4 KB message body.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from services.security.audit import AuditLog
from services.security.audit_export import export_entries
from services.security.dlp import DlpPolicy
from services.security.secrets import MemorySecrets


def _timed(label: str, fn: object, n: int | None = None) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    rate = f" ({n / took:,.0f}/s)" if n else ""
    print(f"{label:<42} {took * 1000:>10.1f} ms{rate}")
    return took


def main(n: int = 20_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog.open(Path(tmp) / "audit.sqlite3", MemorySecrets(), user="me@example.org")
        events = ("sent", "received", "read", "deleted")

        def record() -> None:
            for i in range(n):
                log.record(events[i % 4], channel="email", object_id=f"<m{i}@example.org>",
                           details={"account": "work"})

        _timed(f"record {n:,} entries", record, n)
        _timed("entries(events=['sent'])", lambda: log.entries(events=["sent"]))
        report = None

        def verify() -> None:
            nonlocal report
            report = log.verify()

        _timed(f"verify {n:,} entries", verify, n)
        assert report is not None and report.ok
        _timed("export CSV", lambda: export_entries(log.entries(), io.StringIO(), "csv"), n)
        log.close()
    body = ("Dear team, the quarterly numbers are attached. " * 80)[:4000] + " 4111 1111 1111 1111"
    policy = DlpPolicy()
    runs = 200
    _timed(f"DLP scan of a 4 KB body x{runs}", lambda: [policy.check(body) for _ in range(runs)],
           runs)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
