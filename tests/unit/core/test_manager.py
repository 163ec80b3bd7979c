from __future__ import annotations

from pathlib import Path

import pytest

from services import CommManager, ConfigurationError, EmailQuery, SecurityConfig
from tests.unit.core.mailfactory import make_email, write_maildir


def test_maildir_account_through_the_facade(tmp_path: Path) -> None:
    first = make_email(1, subject="Budget", attachment=("plan.pdf", b"%PDF-1.4 x"))
    reply = make_email(2, sender="Bob <bob@example.org>", subject="Re: Budget", reply_to=first)
    maildir = write_maildir(tmp_path / "Mail", [first, reply, make_email(3, subject="Other")])
    with CommManager(data_dir=tmp_path / "data") as comm:
        local = comm.email("maildir", path=str(maildir))
        report = local.sync()
        assert (report.added, report.duplicates) == (3, 0)
        assert local.sync().added == 0  # re-sync adds nothing twice

        found = local.search(EmailQuery().from_sender("alice").has_attachment())
        assert [m.subject for m in found] == ["Budget"]
        assert found[0].has_pdf_attachment()
        assert comm.count("subject:budget") == 2

        thread = comm.thread(found[0].id or 0)
        assert [m.subject for m in thread] == ["Budget", "Re: Budget"]
        assert comm.raw(found[0].id or 0) == first.as_bytes()
        assert [a.name for a in comm.accounts()] == ["maildir"]


def test_same_provider_twice_returns_the_same_service(tmp_path: Path) -> None:
    maildir = write_maildir(tmp_path / "Mail", [make_email(1)])
    with CommManager(data_dir=tmp_path / "data") as comm:
        a = comm.email("maildir", path=str(maildir))
        assert comm.email("maildir", path=str(maildir)) is a
        b = comm.email("maildir", path=str(maildir), account="second")
        assert b is not a and b.name == "second"


def test_unknown_provider_and_bad_config_are_clear(tmp_path: Path) -> None:
    with CommManager(data_dir=tmp_path / "data") as comm:
        with pytest.raises(ConfigurationError, match="unknown email provider 'pigeon'"):
            comm.email("pigeon")
        with pytest.raises(ConfigurationError, match="needs path="):
            comm.email("maildir")
        with pytest.raises(ConfigurationError, match="needs provider="):
            comm.sms()


def test_security_settings_from_the_spec(tmp_path: Path) -> None:
    cfg = SecurityConfig(
        require_encryption=True,
        compliance_standards=["gdpr", "HIPAA"],
        retention_policy={"emails": "7_years"},
    )
    comm = CommManager(
        data_dir=tmp_path, security_config=cfg, audit_logging=True, data_retention_days=2555
    )
    assert comm.security.compliance_standards == ("GDPR", "HIPAA")
    assert comm.security.audit_logging and comm.security.data_retention_days == 2555
    with pytest.raises(ConfigurationError, match="unknown compliance standard"):
        SecurityConfig(compliance_standards=["MADE-UP"])


def test_accounts_keep_secrets_out_of_the_store(tmp_path: Path) -> None:
    from services.models import Message
    from services.registry import ProviderRegistry
    from services.security.secrets import MemorySecrets

    registry = ProviderRegistry()
    made: list[tuple[str, dict[str, object]]] = []
    registry.register(
        "email", "imap", lambda ctx, name, cfg: made.append((name, dict(cfg))) or name
    )
    secrets = MemorySecrets()
    with CommManager(data_dir=tmp_path / "data", registry=registry, secrets=secrets) as comm:
        comm.add_account(
            "work",
            "IMAP",
            {"address": "me@work.example", "imap": {"host": "h"}},
            secrets={"password": "hunter2"},
        )
        assert secrets.get("work", "password") == "hunter2"
        raw_db = (tmp_path / "data" / "commhub.sqlite3").read_bytes()
        assert b"hunter2" not in raw_db
        assert comm.account("work") == "work" and made == [
            ("work", {"address": "me@work.example", "imap": {"host": "h"}})
        ]
        assert [a.name for a in comm.server_accounts()] == ["work"]
        comm.store.ingest(
            [(Message(account="work", folder="INBOX", remote_id="1"), b"x: y\r\n\r\n")]
        )
        comm.remove_account("work")
        assert comm.accounts() == [] and secrets.get("work", "password") is None
        with pytest.raises(ConfigurationError, match="no account named 'work'"):
            comm.account("work")


def test_maildir_append_writes_to_disk_then_indexes(tmp_path: Path) -> None:
    from services.models import Flag

    maildir = write_maildir(tmp_path / "Mail", [make_email(1)])
    raw = make_email(2, subject="appended here", body="kiwi").as_bytes()
    with CommManager(data_dir=tmp_path / "data") as comm:
        local = comm.email("maildir", path=str(maildir))
        local.sync()
        stored = local.append("INBOX", raw, frozenset({Flag.SEEN}))
        assert stored.subject == "appended here" and Flag.SEEN in stored.flags
        assert comm.raw(stored.id or 0) == raw
        on_disk = [p.read_bytes() for p in (maildir / "cur").iterdir()]
        assert raw in on_disk
        again = local.append("INBOX", raw)  # same bytes: the stored message is returned
        assert again.id == stored.id
        assert local.search("kiwi")[0].id == stored.id
