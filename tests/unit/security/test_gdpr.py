"""GDPR export and erasure on a real store, audited by the real AuditLog.

The erasure test scans the database files byte by byte (after VACUUM and the FTS merge) for
the subject's address, phone number and a marker word, reads every remaining blob back, and
lists the full-text index's vocabulary: none may still hold the erased person.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.contacts.service import ContactsService
from services.errors import SourceError, ValidationError
from services.models import Contact
from services.query.builder import EmailQuery
from services.security.audit import AuditLog
from services.security.gdpr import Gdpr, LegalHoldActive, pseudonym
from services.security.retention import LegalHolds, set_expiry
from services.security.secrets import MemorySecrets
from services.security.smime import CertificateDirectory
from services.store import Store
from services.store.attachments import StoreCache, record_attachment
from services.store.blobs import decode_blob
from services.store.cipher import DatabaseKey
from services.store.outbox import enqueue
from tests.unit.security.pki_helpers import SmimePKI
from tests.unit.store.helpers import item, make_raw, sms

ADDRESS = "zelda.quinterra@subject.example"
PHONE = "+15557654321"
MARKER = "xylophonemarker"  # one token, in subjects, bodies and an attachment name


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog.open(tmp_path / "audit.sqlite3", MemorySecrets(), user="dpo@example.org")
    yield log
    log.close()


def _open(tmp_path: Path, key: DatabaseKey | None = None) -> Store:
    return Store.open(tmp_path / "commhub.sqlite3", key=key)


def _seed(store: Store) -> dict[str, list[int]]:
    subject = f"Zelda Quinterra <{ADDRESS}>"
    when = datetime(2025, 1, 5, 9, 0, tzinfo=UTC)
    theirs = store.ingest([
        item(make_raw(1, sender=subject, subject=f"Offer {MARKER}", body=f"Hi, {MARKER} here",
                      msgid="zq1@subject.example", date=when,
                      attachment=(f"{MARKER}-cv.pdf", b"%PDF-1.4 " + MARKER.encode()))),
        item(make_raw(2, to=subject, subject="Re: Offer", body=f"reply about {MARKER}",
                      msgid="zq2@us.example", in_reply_to="zq1@subject.example",
                      references="zq1@subject.example", date=when)),
        item(make_raw(3, cc=f"{ADDRESS}", subject="Team lunch", body=f"lunch {MARKER}",
                      msgid="zq3@us.example", date=when)),
        sms(4, PHONE, f"sms {MARKER}", when=when),
    ]).ids
    others = store.ingest([
        item(make_raw(10, sender="Bob <bob@keep.example>", to="carol@keep.example",
                      subject="Budget", body="bystander budget talk", date=when)),
        sms(11, "+15550000001", "bystander text", when=when),
    ]).ids
    ContactsService(store).save(Contact(ADDRESS, PHONE, name="Zelda Quinterra"))
    ContactsService(store).save(Contact("bob@keep.example", name="Bob Keep"))
    enqueue(store, "work", make_raw(20, to=subject, body=f"queued {MARKER}"), "me@us.example",
            [ADDRESS], "<out1@us.example>")
    enqueue(store, "work", make_raw(21, to="bob@keep.example", body="queued for bob"),
            "me@us.example", ["bob@keep.example"], "<out2@us.example>")
    return {"subject": list(theirs), "others": list(others)}


def test_export_everything_about_a_contact(tmp_path: Path, audit: AuditLog) -> None:
    with _open(tmp_path) as store:
        ids = _seed(store)
        pki = SmimePKI(tmp_path / "pki")
        certs = CertificateDirectory(tmp_path / "certs")
        certs.import_certificate(pki.person(ADDRESS).cert_pem)
        gdpr = Gdpr(store, audit=audit, certificates=certs)
        report = gdpr.export(PHONE, tmp_path / "export.zip")  # by phone: finds the e-mails
        assert report.handles == (PHONE, ADDRESS)
        assert (report.messages, report.attachments) == (4, 1)
        with zipfile.ZipFile(tmp_path / "export.zip") as archive:
            names = set(archive.namelist())
            doc = json.loads(archive.read("subject.json"))
            assert {f"messages/{i}.eml" for i in ids["subject"]} <= names
            for mid in ids["subject"]:
                assert archive.read(f"messages/{mid}.eml") == store.raw(mid)
            att = doc["messages"][0]["attachments"][0]
            assert att["filename"] == f"{MARKER}-cv.pdf"
            assert archive.read(att["path"]) == b"%PDF-1.4 " + MARKER.encode()
        assert sorted(m["id"] for m in doc["messages"]) == sorted(ids["subject"])
        assert doc["messages"][0]["text"].startswith(f"Hi, {MARKER} here")
        assert [c["name"] for c in doc["contacts"]] == ["Zelda Quinterra"]
        assert [o["recipients"] for o in doc["outbox"]] == [[ADDRESS]]
        assert len(doc["certificates"]) == 1
        assert "bystander" not in json.dumps(doc)
        folder = gdpr.export(ADDRESS, tmp_path / "export-dir")
        assert (folder.path / "subject.json").is_file()
        with pytest.raises(SourceError, match="already exists"):
            gdpr.export(ADDRESS, tmp_path / "export.zip")
    exported = audit.entries(events=["exported"])
    assert len(exported) == 2
    assert exported[0].object_id == pseudonym(PHONE)
    assert exported[0].details["messages"] == "4"


def _db_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("commhub.sqlite3*"))


def _vocabulary(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, 'row')")
        return {str(r[0]) for r in conn.execute("SELECT term FROM temp.vocab")}
    finally:
        conn.close()


def test_erase_leaves_no_trace_but_keeps_the_audit_entry(tmp_path: Path,
                                                         audit: AuditLog) -> None:
    with _open(tmp_path) as store:
        ids = _seed(store)
        set_expiry(store, ids["subject"][0], 2_000_000_000)
        # the attachment analysed (text indexed) and a thumbnail cached under its hash
        att = store.get(ids["subject"][0]).attachments[0]
        record_attachment(store, ids["subject"][0], att.part_id, sha256=att.sha256,
                          kind="pdf", status="ok", text=f"curriculum {MARKER} Quinterra")
        StoreCache(store).put(f"thumb:{att.sha256}:64x64", b"PNG " + MARKER.encode())
        assert [m.id for m in store.search(EmailQuery.parse("curriculum"))] == [
            ids["subject"][0]]
        before = _db_bytes(tmp_path)
        assert ADDRESS.encode() in before and PHONE.encode() in before
        assert MARKER in _vocabulary(store.path)
        report = Gdpr(store, audit=audit).erase(ADDRESS)
        assert report.handles == (ADDRESS, PHONE)
        assert (report.messages, report.contacts, report.outbox) == (4, 1, 1)
        # searches find nothing of the subject; the bystanders are untouched
        assert store.search(EmailQuery.parse(MARKER)) == []
        assert store.search(EmailQuery.parse(f"from:{ADDRESS}")) == []
        assert store.search(EmailQuery.parse("zelda")) == []
        assert store.search(EmailQuery.parse("curriculum")) == []
        assert [m.id for m in store.search(EmailQuery.parse("bystander budget"))] == [
            ids["others"][0]]
        remaining = {int(r[0]) for r in store.read_rows("SELECT id FROM messages")}
        assert remaining == set(ids["others"])
        for key, codec, data in store.read_rows("SELECT key, codec, data FROM blobs"):
            plain = decode_blob(str(codec), bytes(data), store.codec)
            for needle in (ADDRESS.encode(), PHONE.encode(), MARKER.encode(), b"Quinterra"):
                assert needle not in plain, key
        assert store.read_rows("SELECT count(*) FROM outbox")[0][0] == 1
        assert store.read_rows("SELECT count(*) FROM msgids WHERE msgid LIKE 'zq%'") == [(0,)]
        assert store.read_rows("SELECT count(*) FROM message_expiry") == [(0,)]
        names = [r[0] for r in store.read_rows("SELECT name FROM contacts")]
        assert names == ["Bob Keep"]
    data = _db_bytes(tmp_path)
    for needle in (ADDRESS, PHONE, MARKER, "Quinterra", "subject.example"):
        assert needle.encode() not in data, needle
        assert needle.encode("utf-16-le") not in data, needle
    vocabulary = _vocabulary(tmp_path / "commhub.sqlite3")
    assert not {t for t in vocabulary if MARKER in t or "quinterra" in t or "zelda" in t}
    assert "bystander" in vocabulary
    erased = audit.entries(events=["erased"])
    assert len(erased) == 1
    assert erased[0].object_id == pseudonym(ADDRESS)
    assert erased[0].details["messages"] == "4"
    assert ADDRESS.encode() not in (tmp_path / "audit.sqlite3").read_bytes()
    assert audit.verify().ok


def test_erase_on_an_encrypted_store(tmp_path: Path) -> None:
    key = DatabaseKey.generate()
    with _open(tmp_path, key) as store:
        ids = _seed(store)
        assert Gdpr(store).erase(PHONE).messages == 4
        assert {int(r[0]) for r in store.read_rows("SELECT id FROM messages")} == set(
            ids["others"])
    with _open(tmp_path, key) as store:
        assert store.search(EmailQuery.parse(MARKER)) == []


def test_legal_hold_blocks_erasure(tmp_path: Path, audit: AuditLog) -> None:
    with _open(tmp_path) as store:
        ids = _seed(store)
        holds = LegalHolds(store)
        hold = holds.place("contact", ADDRESS, "pending lawsuit")
        gdpr = Gdpr(store, audit=audit)
        with pytest.raises(LegalHoldActive, match="pending lawsuit") as info:
            gdpr.erase(PHONE)  # the same person through another handle
        assert isinstance(info.value, ValidationError | ValueError)
        holds.release(hold.id)
        holds.place("message", ids["subject"][2])
        with pytest.raises(LegalHoldActive, match=f"message {ids['subject'][2]}"):
            gdpr.erase(ADDRESS)
        assert store.read_rows("SELECT count(*) FROM messages")[0][0] == 6  # nothing touched
        assert audit.entries(events=["erased"]) == []
        with pytest.raises(ValidationError):
            gdpr.erase("  ")
