"""The spec's "Enterprise Security Features" snippet, run as written, and what it leads to:
a real S/MIME message, an audited local copy, and its removal after ``expiry_hours``."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services import CommManager
from services.errors import NotFound
from services.security import smime
from services.security.secrets import MemorySecrets
from services.security.smime import CertificateNotFound, Identity
from services.store.cipher import file_state
from tests.support.keyrings import DictKeyring
from tests.unit.security.pki_helpers import Person, SmimePKI


@pytest.fixture
def people(tmp_path: Path) -> tuple[SmimePKI, Person, Person]:
    pki = SmimePKI(tmp_path / "pki")
    return pki, pki.person("admin@company.com"), pki.person("confidential@company.com")


def test_spec_snippet_as_written(memory_keyring: DictKeyring,
                                 people: tuple[SmimePKI, Person, Person]) -> None:
    from services.manager import CommManager

    pki, me, them = people
    data_dir = Path(os.environ["COMMHUB_DATA_DIR"])  # the per-test data dir (conftest)
    with CommManager() as setup:
        setup.certificates.set_identity(me.cert_pem, me.key_pem)
        setup.certificates.import_certificate(them.cert_path)

    # --- the spec, verbatim -------------------------------------------------------------
    # Secure communication configuration
    comm = CommManager(
        encryption_enabled=True,
        audit_logging=True,
        compliance_mode="GDPR",
        data_retention_days=2555  # 7 years
    )

    # Encrypted message handling
    encrypted_message = comm.create_secure_message(
        recipient="confidential@company.com",
        subject="Confidential: Financial Report",
        body="Sensitive financial data...",
        encryption_level="AES-256",
        expiry_hours=24  # Auto-delete after 24 hours
    )

    # Audit trail
    audit_log = comm.get_audit_log(
        date_range=("2024-01-01", "2024-12-31"),
        message_types=["sent", "received", "deleted"],
        users=["admin@company.com"]
    )
    # ------------------------------------------------------------------------------------
    try:
        assert audit_log == []  # nothing in 2024 on this fresh machine
        raw = encrypted_message.raw
        assert b"Sensitive financial data" not in raw
        opened = smime.open_message(raw, identity=Identity.from_pem(them.cert_pem,
                                                                     them.key_pem),
                                    trusted=[pki.ca])
        assert opened.text.rstrip("\n") == "Sensitive financial data..."
        assert opened.signature is not None and opened.signature.trusted
        assert opened.signature.signer_addresses == ["admin@company.com"]
        assert encrypted_message.signed and encrypted_message.encryption_level == "AES-256"
        # the local copy: stored (in the encrypted store), headers searchable, body not
        assert file_state(data_dir / "commhub.sqlite3") == "encrypted"
        local = encrypted_message.local_id
        assert local is not None and comm.get(local).subject == "Confidential: Financial Report"
        assert comm.raw(local) == raw
        assert comm.get(local).account == "secure-messages"
        assert "secure-messages" not in {a.name for a in comm.server_accounts()}  # never synced
        assert comm.count("Sensitive") == 0
        assert [m.id for m in comm.search("subject:Financial")] == [local]
        created = comm.audit_log.entries(events=["secure-message-created"])
        assert [e.object_id for e in created] == [encrypted_message.message_id]
        assert created[0].details["encryption"] == "AES-256"
        # expiry: still there after 23 h, gone after 24 h (purge as of an injected time)
        made = encrypted_message.expires_at
        assert made is not None
        assert comm.purge(now=made - timedelta(hours=1)).total == 0
        assert comm.get(local).id == local
        report = comm.purge(now=made + timedelta(seconds=1))
        assert report.removed["expired"] == 1
        with pytest.raises(NotFound):
            comm.get(local)
        purges = comm.audit_log.entries(events=["retention-purge"])
        assert len(purges) == 2 and purges[-1].details["removed"].startswith("chat=0")
    finally:
        comm.close()


def test_no_certificate_no_message(tmp_path: Path, people: tuple[SmimePKI, Person, Person]
                                   ) -> None:
    _, me, them = people
    with CommManager(data_dir=tmp_path / "d", secrets=MemorySecrets()) as comm:
        with pytest.raises(CertificateNotFound, match="import one"):
            comm.create_secure_message("confidential@company.com", "s", "b")
        comm.certificates.import_certificate(them.cert_pem)
        with pytest.raises(ValueError, match="sender"):  # no identity, no account
            comm.create_secure_message("confidential@company.com", "s", "b")
        made = comm.create_secure_message("confidential@company.com", "s", "body",
                                          sender="me@company.com", encryption_level="AES-128")
        assert not made.signed and made.expires_at is None
        opened = smime.open_message(made.raw, identity=Identity.from_pem(them.cert_pem,
                                                                          them.key_pem))
        assert opened.layers == ("encrypted",) and opened.text.strip() == "body"
        # no expiry and no retention configured: purging keeps it
        assert comm.purge(now=datetime.now(UTC) + timedelta(days=9999)).total == 0
        assert made.local_id is not None and comm.get(made.local_id).subject == "s"
        assert me.address == "admin@company.com"
