"""The audit log: recording, filtering, redaction, and tampering found by verify().

Tampering is done the way an attacker with write access to the file would: a separate
sqlite3 connection that drops the append-only triggers and edits rows directly.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.errors import ConfigurationError, StoreError, ValidationError
from services.security.audit import KEY_ACCOUNT, KEY_NAME, AuditLog
from services.security.audit_export import export_entries
from services.security.secrets import MemorySecrets

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(hours=7)
        return self.now


@pytest.fixture
def secrets() -> MemorySecrets:
    return MemorySecrets()


@pytest.fixture
def log(tmp_path: Path, secrets: MemorySecrets) -> Iterator[AuditLog]:
    with AuditLog.open(tmp_path / "audit.sqlite3", secrets, user="me@example.org",
                       clock=Clock()) as log:
        yield log


def fill(log: AuditLog, n: int = 10) -> None:
    events = ["sent", "received", "read", "deleted", "sign-in"]
    for i in range(n):
        log.record(events[i % len(events)], channel="email" if i % 3 else "sms",
                   object_id=f"<m{i}@example.org>", details={"account": "work"})


def attacker(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("DROP TRIGGER audit_log_no_delete")
    return db


def test_records_chain_and_verify(log: AuditLog, secrets: MemorySecrets) -> None:
    first = log.record("sign-in", channel="email", object_id="work", user="admin@company.com")
    second = log.record("sent", channel="email", object_id="<a@b>", details={"recipients": "2"})
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_mac == "" and second.prev_mac == first.mac and len(second.mac) == 64
    assert second.user == "me@example.org"  # the log's default user
    assert secrets.get(KEY_ACCOUNT, KEY_NAME) is not None  # key made on first record, kept
    report = log.verify()
    assert report.ok and report.checked == 2 and report.first_bad is None
    assert "verified: 2 entries" in report.summary()


def test_filters(log: AuditLog) -> None:
    fill(log, 20)
    log.record("settings", user="admin@company.com", channel="email")
    assert [e.event for e in log.entries(users=["admin@company.com"])] == ["settings"]
    sent = log.entries(events=["sent", "deleted"])
    assert sent and {e.event for e in sent} == {"sent", "deleted"}
    sms = log.entries(channels=["sms"])
    assert len(sms) == 7 and all(e.channel == "sms" for e in sms)
    every = log.entries()
    mid = every[10].time
    since = log.entries(since=mid)
    assert [e.seq for e in since] == [e.seq for e in every[10:]]
    until = log.entries(until=mid)
    assert [e.seq for e in until] == [e.seq for e in every[:10]]
    assert log.entries(events=[]) == []
    assert log.count() == 21


def test_refuses_content_and_secrets(log: AuditLog) -> None:
    for key in ("body", "password", "access_token", "html_body", "api_key", "raw"):
        with pytest.raises(ValidationError, match="content or secrets"):
            log.record("sent", details={key: "x"})
    with pytest.raises(ValidationError, match="metadata, not content"):
        log.record("sent", details={"note": "a" * 2000})
    with pytest.raises(ValidationError, match="lower-case name"):
        log.record("Sent; DROP TABLE")
    entry = log.record("exported", details={"note": "card 4111 1111 1111 1111 sent"},
                       object_id="AKIAIOSFODNN7EXAMPLE")
    assert "4111" not in entry.details["note"]
    assert entry.details["note"] == "card [redacted: card-number] sent"
    assert entry.object_id == "[redacted: aws-key]"
    stored = log.entries()[-1]
    assert stored.details == entry.details and log.count() == 1
    assert log.verify().ok


def test_append_only_for_our_own_connection(log: AuditLog) -> None:
    fill(log, 3)
    assert log.path is not None
    db = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET event='x' WHERE seq=1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE seq=1")
    db.close()
    assert log.verify().ok


def test_edit_is_detected(log: AuditLog) -> None:
    fill(log, 30)
    assert log.path is not None
    db = attacker(log.path)
    db.execute("UPDATE audit_log SET user='someone-else@example.org' WHERE seq=12")
    db.close()
    report = log.verify()
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(12, "edited")]
    assert "#12" in report.summary()


def test_edit_of_details_json_is_detected(log: AuditLog) -> None:
    fill(log, 5)
    assert log.path is not None
    db = attacker(log.path)
    db.execute("""UPDATE audit_log SET details='{"account":"home"}' WHERE seq=5""")
    db.close()
    assert [(p.seq, p.kind) for p in log.verify().problems] == [(5, "edited")]


def test_delete_in_the_middle_is_detected(log: AuditLog) -> None:
    fill(log, 30)
    assert log.path is not None
    db = attacker(log.path)
    db.execute("DELETE FROM audit_log WHERE seq IN (14, 15)")
    db.close()
    problems = log.verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(16, "deleted")]
    assert "after #13" in problems[0].message


def test_delete_and_renumber_is_detected(log: AuditLog) -> None:
    fill(log, 10)
    assert log.path is not None
    db = attacker(log.path)
    db.execute("DELETE FROM audit_log WHERE seq = 4")
    db.execute("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 4")
    db.execute("UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000")
    db.close()
    assert [p.kind for p in log.verify().problems] == ["deleted"]


def test_delete_first_and_last_are_detected(log: AuditLog) -> None:
    fill(log, 10)
    assert log.path is not None
    db = attacker(log.path)
    db.execute("DELETE FROM audit_log WHERE seq IN (1, 9, 10)")
    db.close()
    problems = log.verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(2, "deleted"), (10, "deleted")]
    assert "at the start" in problems[0].message
    assert "after #8" in problems[1].message


def test_insert_in_the_middle_is_detected(log: AuditLog) -> None:
    fill(log, 30)
    assert log.path is not None
    db = attacker(log.path)
    prev_mac = db.execute("SELECT mac FROM audit_log WHERE seq = 20").fetchone()[0]
    db.execute("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 20")
    db.execute("UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000")
    db.execute(
        "INSERT INTO audit_log VALUES (21, '2024-03-05T10:00:00.000000Z', 'sign-in', "
        "'intruder@example.org', 'email', 'work', '{}', ?, ?)",
        (prev_mac, "0" * 64),
    )
    db.close()
    report = log.verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(21, "inserted")]
    assert report.checked == 31


def test_append_at_the_end_is_detected(log: AuditLog) -> None:
    fill(log, 5)
    assert log.path is not None
    db = attacker(log.path)
    prev_mac = db.execute("SELECT mac FROM audit_log WHERE seq = 5").fetchone()[0]
    db.execute(
        "INSERT INTO audit_log VALUES (6, '2025-01-01T00:00:00.000000Z', 'read', NULL, NULL, "
        "NULL, '{}', ?, ?)", (prev_mac, "f" * 64),
    )
    db.close()
    assert [(p.seq, p.kind) for p in log.verify().problems] == [(6, "inserted")]


def test_head_tampering_and_missing_key(log: AuditLog, tmp_path: Path) -> None:
    fill(log, 4)
    assert log.path is not None
    db = sqlite3.connect(log.path, isolation_level=None)
    db.execute("UPDATE audit_head SET seq = 3")
    db.close()
    assert [p.kind for p in log.verify().problems] == ["head"]
    other = AuditLog.open(log.path, MemorySecrets())  # a keyring without our key
    report = other.verify()
    assert [p.kind for p in report.problems] == ["key"]
    with pytest.raises(ConfigurationError, match="HMAC key is missing"):
        other.record("sent")
    other.close()


def test_reopen_keeps_chain_and_wrong_key_fails(tmp_path: Path, secrets: MemorySecrets) -> None:
    path = tmp_path / "a.sqlite3"
    with AuditLog.open(path, secrets) as log:
        fill(log, 3)
    with AuditLog.open(path, secrets) as log:
        log.record("settings")
        assert log.verify().ok and log.count() == 4
    forged = MemorySecrets()
    forged.set(KEY_ACCOUNT, KEY_NAME, "00" * 32)
    with AuditLog.open(path, forged) as log:
        assert not log.verify().ok


def test_export_csv_and_json(log: AuditLog) -> None:
    fill(log, 6)
    log.record("settings", details={"note": "=HYPERLINK(\"http://x\")"})
    buf = io.StringIO()
    assert export_entries(log.entries(), buf, "json") == 7
    rows = json.loads(buf.getvalue())
    assert rows[0]["seq"] == 1 and rows[0]["event"] == "sent" and len(rows[0]["mac"]) == 64
    assert rows[0]["time"].endswith("Z")
    buf = io.StringIO()
    export_entries(log.entries(events=["settings"]), buf, "csv")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "seq,time,event,user,channel,object_id,details,prev_mac,mac"
    assert len(lines) == 2 and ",settings," in lines[1]
    assert "'=HYPERLINK" not in lines[1] and "HYPERLINK" in lines[1]  # inside JSON, quoted
    with pytest.raises(ValidationError, match="unknown export format"):
        export_entries([], io.StringIO(), "xml")


def test_csv_formula_cells_are_neutralised(log: AuditLog) -> None:
    log.record("sent", object_id="=cmd|'/c calc'!A1")
    buf = io.StringIO()
    export_entries(log.entries(), buf, "csv")
    assert "'=cmd" in buf.getvalue()


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the audit log"):
        AuditLog.open(blocker / "audit.sqlite3", MemorySecrets())


def test_store_events_become_batch_entries(log: AuditLog) -> None:
    from services.security.store_audit import StoreAuditor
    from services.store.events import StoreEvent

    auditor = StoreAuditor(log, channel="email")
    auditor(StoreEvent("added", tuple(range(1, 26))))
    auditor(StoreEvent("deleted", (3, 4)))
    auditor(StoreEvent("flags", (5,)))  # flag changes are audited where they are made
    auditor(StoreEvent("added", ()))
    assert [(e.event, e.object_id, e.details["count"]) for e in log.entries()] == [
        ("received", "local:1..25", "25"), ("deleted", "local:3,4", "2")]


def test_durable_mode_syncs_every_commit(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "d.sqlite3", MemorySecrets(), durable=True) as log:
        log.record("settings")
        assert log.path is not None
        assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert log.verify().ok
