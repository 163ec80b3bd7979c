"""``python -m tests.perf.bench_privacy``: retention purge, GDPR export/erase and S/MIME speed.

Builds a store of ``COMMHUB_BENCH_PRIVACY_N`` messages (20,000 by default) spread over ten
years, one correspondent in a hundred being the data subject, then times:

* the retention job's preview and run (5-year e-mail retention: about half goes), with a
  legal hold on one correspondent;
* a GDPR export (zip) and erasure (VACUUM and FTS merge included) of the subject;
* S/MIME: building a signed+encrypted message and opening it again (RSA-2048).

Prints a Markdown table and writes ``build/bench/privacy.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from services.mime.parse import parse_message
from services.models import Message
from services.security import smime
from services.security.gdpr import Gdpr
from services.security.retention import LegalHolds, RetentionJob, RetentionPolicy
from services.store import Store
from tests.unit.security.pki_helpers import SmimePKI

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("COMMHUB_BENCH_PRIVACY_N", "20000"))
NOW = datetime(2030, 1, 1, tzinfo=UTC)
SUBJECT = "subject.person@bench.example"
HELD = "held.person@bench.example"


def _messages(n: int) -> Iterator[tuple[Message, bytes]]:
    for i in range(n):
        msg = EmailMessage()
        who = SUBJECT if i % 100 == 0 else HELD if i % 100 == 1 else f"peer{i % 500}@b.example"
        msg["From"] = who
        msg["To"] = "me@bench.example"
        msg["Subject"] = f"report {i} quarterly"
        msg["Date"] = format_datetime(NOW - timedelta(days=(i * 3653) // n, minutes=i % 1440))
        msg["Message-ID"] = f"<b{i}@bench.example>"
        msg.set_content(f"body of message {i} with words alpha beta gamma {i % 97}\n")
        raw = msg.as_bytes()
        yield parse_message(raw, account="bench", folder="INBOX"), raw


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="commhub-bench-privacy-") as tmp:
        root = Path(tmp)
        store = Store.open(root / "commhub.sqlite3")
        try:
            secs, _ = _timed(lambda: store.ingest(_messages(N)))
            rows.append((f"ingest {N:,} messages (setup)", f"{secs:.2f} s",
                         f"{N / secs:,.0f} msg/s"))
            LegalHolds(store).place("contact", HELD, "bench")
            job = RetentionJob(store, RetentionPolicy.parse({"emails": "5_years"}),
                               clock=NOW.timestamp)
            secs, report = _timed(job.preview)
            rows.append(("retention preview", f"{secs * 1000:.0f} ms",
                         f"{report.total:,} due, {report.held:,} held"))
            secs, report = _timed(job.run)
            rows.append(("retention purge", f"{secs:.2f} s",
                         f"{report.total / secs:,.0f} msg/s removed"))
            gdpr = Gdpr(store)
            secs, exported = _timed(lambda: gdpr.export(SUBJECT, root / "export.zip"))
            rows.append(("GDPR export (zip)", f"{secs * 1000:.0f} ms",
                         f"{exported.messages} messages"))
            secs, erased = _timed(lambda: gdpr.erase(SUBJECT))
            rows.append(("GDPR erase + VACUUM + FTS merge", f"{secs:.2f} s",
                         f"{erased.messages} messages"))
        finally:
            store.close()
        pki = SmimePKI(root / "pki")
        alice, bob = pki.person("alice@bench.example"), pki.person("bob@bench.example")
        me = smime.Identity.from_pem(alice.cert_pem, alice.key_pem)
        them = smime.Identity.from_pem(bob.cert_pem, bob.key_pem)
        count = 50
        secs, raws = _timed(lambda: [smime.build_secure_message(
            sender=alice.address, recipient=bob.address, subject="s", body="x" * 2000,
            recipient_cert=bob.cert, identity=me) for _ in range(count)])
        rows.append(("S/MIME sign+encrypt", f"{secs / count * 1000:.1f} ms/msg", ""))
        secs, _ = _timed(lambda: [smime.open_message(r, identity=them, trusted=[pki.ca])
                                  for r in raws])
        rows.append(("S/MIME decrypt+verify", f"{secs / count * 1000:.1f} ms/msg", ""))
    print("| operation | time | note |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "privacy.json").write_text(json.dumps({"n": N, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
