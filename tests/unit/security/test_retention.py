"""Retention periods, legal holds and the purge job, on a real store with an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.errors import ConfigurationError, NotFound, ValidationError
from services.security.compliance import compliance_settings
from services.security.config import SecurityConfig
from services.security.dlp import DlpAction
from services.security.retention import (
    LegalHolds,
    RetentionJob,
    RetentionPolicy,
    parse_period,
    set_expiry,
)
from services.store import Store
from tests.unit.store.helpers import item, make_raw, sms

NOW = datetime(2030, 6, 1, tzinfo=UTC)


class Recorder:
    """An audit sink that keeps what it was told (the real AuditLog is used in test_gdpr)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def record(self, event: str, **kw: object) -> None:
        self.events.append((event, kw))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "commhub.sqlite3")
    yield s
    s.close()


def _ids(store: Store) -> set[int]:
    return {int(r[0]) for r in store.read_rows("SELECT id FROM messages")}


# -- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "days"), [
    ("7_years", 2555), ("3 years", 1095), ("10_years", 3650), ("90_days", 90),
    ("6_months", 180), ("2_weeks", 14), ("1_year", 365), (30, 30), ("45", 45), ("1y", 365),
])
def test_periods_parse_like_the_spec(text: str | int, days: int) -> None:
    assert parse_period(text) == timedelta(days=days)


def test_forever_and_bad_periods() -> None:
    assert parse_period("forever") is None
    assert parse_period(None) is None
    for bad in ("7_eons", "years", "0_days", -3, "7.5_years"):
        with pytest.raises(ConfigurationError):
            parse_period(bad)


@given(st.integers(min_value=1, max_value=200), st.sampled_from(["day", "week", "month", "year"]))
def test_period_roundtrip(n: int, unit: str) -> None:
    scale = {"day": 1, "week": 7, "month": 30, "year": 365}[unit]
    assert parse_period(f"{n}_{unit}s") == timedelta(days=n * scale)
    assert parse_period(f"{n} {unit}") == timedelta(days=n * scale)


def test_policy_from_the_specs_security_config() -> None:
    config = SecurityConfig(
        require_encryption=True, audit_all_communications=True, data_loss_prevention=True,
        compliance_standards=["GDPR", "HIPAA", "SOX"],
        retention_policy={"emails": "7_years", "sms": "3_years", "audit_logs": "10_years"},
    )
    policy = RetentionPolicy.from_config(config)
    assert policy.period_for("email") == timedelta(days=2555)
    assert policy.period_for("sms") == timedelta(days=1095)
    assert policy.period_for("audit") == timedelta(days=3650)
    assert policy.period_for("chat") == timedelta(days=7 * 365)  # SOX's 7 > HIPAA's 6
    with pytest.raises(ConfigurationError, match="unknown retention kind"):
        RetentionPolicy.parse({"faxes": "1_year"})


def test_gdpr_mode_switches_defaults_on() -> None:
    plain = compliance_settings(SecurityConfig())
    assert (plain.audit_enabled, plain.dlp, dict(plain.retention)) == (False, None, {})
    gdpr = compliance_settings(SecurityConfig().with_overrides(compliance_mode="gdpr"))
    assert gdpr.audit_enabled and gdpr.standards == ("GDPR",)
    assert gdpr.dlp is not None and gdpr.dlp.default is DlpAction.WARN
    assert gdpr.dlp.check("card 4111 1111 1111 1111").allowed  # warns, never blocks
    policy = RetentionPolicy.parse(gdpr.retention)
    assert policy.period_for("email") == timedelta(days=2555)
    assert policy.period_for("audit") == timedelta(days=3650)
    # the spec's data_retention_days=2555 overrides every message kind, explicit wins
    spec = SecurityConfig(retention_policy={"sms": "30_days"}).with_overrides(
        compliance_mode="GDPR", data_retention_days=100)
    policy = RetentionPolicy.from_config(spec)
    assert policy.period_for("email") == timedelta(days=100)
    assert policy.period_for("sms") == timedelta(days=30)
    with pytest.raises(ConfigurationError, match="compliance_mode"):
        compliance_settings(SecurityConfig(compliance_mode="NOPE"))


# -- purging -------------------------------------------------------------------------------
def _seed(store: Store) -> dict[str, int]:
    old = NOW - timedelta(days=8 * 365)
    recent = NOW - timedelta(days=30)
    result = store.ingest([
        item(make_raw(1, date=old, sender="Dora <dora@old.example>"), account="work"),
        item(make_raw(2, date=old, sender="Hal <held@client.example>"), account="work"),
        item(make_raw(3, date=recent), account="work"),
        item(make_raw(4, date=old), account="archive"),
        sms(5, "+15550100", "old text", when=NOW - timedelta(days=4 * 365)),
        sms(6, "+15550100", "new text", when=recent),
    ])
    a, b, c, d, e, f = result.ids
    return {"old": a, "held_contact": b, "recent": c, "held_account": d, "old_sms": e,
            "new_sms": f}


def test_purge_removes_what_is_due_and_keeps_what_is_held(store: Store) -> None:
    ids = _seed(store)
    audit = Recorder()
    holds = LegalHolds(store, audit=audit, clock=NOW.timestamp)
    holds.place("contact", "HELD@client.example", "litigation 2030-17")
    holds.place("account", "archive", "regulator request")
    policy = RetentionPolicy.parse({"emails": "7_years", "sms": "3_years"})
    job = RetentionJob(store, policy, audit=audit, clock=NOW.timestamp)
    assert job.preview().removed == {"email": 1, "sms": 1, "expired": 0}
    assert _ids(store) == set(ids.values())  # preview removed nothing
    report = job.run()
    assert report.removed == {"email": 1, "sms": 1, "expired": 0}
    assert report.held == 2
    assert _ids(store) == {ids["held_contact"], ids["recent"], ids["held_account"],
                           ids["new_sms"]}
    # the purged message left no index row, blob or thread behind
    assert sorted(store.search_ids(_text("number"))) == sorted(
        [ids["held_contact"], ids["recent"], ids["held_account"]])
    blobs = {r[0] for r in store.read_rows("SELECT key FROM blobs")}
    used = {r[0] for r in store.read_rows("SELECT raw_key FROM messages")} | {
        r[0] for r in store.read_rows("SELECT text_key FROM messages WHERE text_key IS NOT NULL")}
    assert blobs == used
    assert store.read_rows("SELECT count(*) FROM threads t WHERE NOT EXISTS "
                           "(SELECT 1 FROM messages m WHERE m.thread_id = t.id)")[0][0] == 0
    events = [e for e, _ in audit.events]
    assert events == ["legal-hold-placed", "legal-hold-placed", "retention-purge"]
    assert audit.events[-1][1]["details"] == {
        "removed": "email=1, expired=0, sms=1", "held": "2",
        "cutoffs": f"email<{int(NOW.timestamp()) - 2555 * 86400}, "
                   f"sms<{int(NOW.timestamp()) - 1095 * 86400}"}
    # releasing the hold lets the next run purge
    for hold in holds.active():
        holds.release(hold.id)
    assert job.run().removed["email"] == 2
    assert _ids(store) == {ids["recent"], ids["new_sms"]}


def test_message_hold_and_unknown_release(store: Store) -> None:
    ids = _seed(store)
    holds = LegalHolds(store)
    holds.place("message", ids["old"])
    assert holds.is_held(ids["old"]) and not holds.is_held(ids["recent"])
    RetentionJob(store, RetentionPolicy.parse({"emails": "1_year"}), clock=NOW.timestamp).run()
    assert ids["old"] in _ids(store)
    assert ids["held_account"] not in _ids(store)
    with pytest.raises(NotFound):
        holds.release(999)
    with pytest.raises(ValidationError):
        holds.place("folder", "INBOX")
    with pytest.raises(ValidationError):
        holds.place("message", "abc")


def test_secure_copies_expire_with_an_injected_clock(store: Store) -> None:
    ids = _seed(store)
    clock = [NOW.timestamp()]
    set_expiry(store, ids["recent"], NOW.timestamp() + 24 * 3600)
    set_expiry(store, ids["new_sms"], NOW.timestamp() + 24 * 3600)
    LegalHolds(store).place("message", ids["new_sms"])
    job = RetentionJob(store, RetentionPolicy(), clock=lambda: clock[0])
    assert job.run().total == 0  # no period set, nothing expired yet
    clock[0] += 23 * 3600
    assert job.run().total == 0
    clock[0] += 3600
    report = job.run()
    assert report.removed == {"expired": 1} and report.held == 1
    assert ids["recent"] not in _ids(store) and ids["new_sms"] in _ids(store)
    assert store.read_rows("SELECT count(*) FROM message_expiry")[0][0] == 1


def _text(word: str) -> object:
    from services.query.builder import EmailQuery

    return EmailQuery.parse(word)


def test_manager_purge_follows_the_security_config(tmp_path: Path) -> None:
    from services.manager import CommManager
    from services.security.secrets import MemorySecrets

    inbox = tmp_path / "in"
    inbox.mkdir()
    for n, age in ((1, 400), (2, 10)):
        (inbox / f"{n}.eml").write_bytes(make_raw(n, date=NOW - timedelta(days=age)))
    secrets = MemorySecrets()
    with CommManager(data_dir=tmp_path / "d", secrets=secrets,
                     data_retention_days=365) as comm:
        assert comm.import_path(inbox).added == 2
        assert not comm.auditing
        assert comm.purge(now=NOW).removed["email"] == 1
        assert comm.count("") == 1
        assert comm.audit_log.count() == 0  # auditing is off: nothing recorded
    with CommManager(data_dir=tmp_path / "d", secrets=secrets, compliance_mode="GDPR",
                     data_retention_days=5) as comm:
        assert comm.auditing  # GDPR mode turns the audit log on
        assert comm.purge(now=NOW).removed == {"chat": 0, "email": 1, "expired": 0,
                                               "sms": 0, "socket": 0}
        (entry,) = comm.audit_log.entries(events=["retention-purge"])
        assert entry.details["held"] == "0"
