"""Attachment analysis and text in the store: search finds words inside attachments,
the attachment view, derived caches through the store's codec."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from services.attachments import AttachmentManager, Limits, PdfWorker
from services.attachments.indexing import index_message_attachments, index_pending
from services.mime.parse import parse_message
from services.query.builder import EmailQuery
from services.store import Store
from services.store.attachments import (
    StoreCache,
    attachment_text,
    list_attachments,
    unanalysed_attachments,
)
from tests.unit.attachments import samples


class XorCodec:
    """A stand-in for an encrypting codec: stored bytes differ from the plaintext."""

    @property
    def name(self) -> str:
        return "xor1"

    def encode(self, data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)

    def decode(self, data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)


def raw_mail(n: int, sender: str, files: list[tuple[str, str, bytes]], day: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "me@example.org"
    msg["Subject"] = f"message {n}"
    msg["Message-ID"] = f"<m{n}@example.org>"
    msg["Date"] = format_datetime(datetime(2024, 5, day, 12, tzinfo=UTC))
    msg.set_content("see attached")
    for name, ctype, data in files:
        major, minor = ctype.split("/")
        msg.add_attachment(data, maintype=major, subtype=minor, filename=name)
    return msg.as_bytes()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "db.sqlite3", codec=XorCodec())
    yield s
    s.close()


@pytest.fixture
def store_manager(store: Store, pdf_worker: PdfWorker) -> AttachmentManager:
    return AttachmentManager(cache=StoreCache(store), worker=pdf_worker, limits=Limits())


def ingest(store: Store, *raws: bytes) -> list[int]:
    result = store.ingest((parse_message(r, account="acct", folder="INBOX"), r) for r in raws)
    return list(result.ids)


def hits(store: Store, text: str) -> list[int]:
    return store.search_ids(EmailQuery.parse(text))


def test_search_finds_words_inside_attachments(store: Store,
                                               store_manager: AttachmentManager) -> None:
    pdf = samples.make_pdf(["Zanzibarian quarterly figures", "appendix"])
    csv = b"city,total\nTimbuktu,12\n"
    ids = ingest(store,
                 raw_mail(1, "alice@example.org", [("report.pdf", "application/pdf", pdf),
                                                   ("data.csv", "text/csv", csv)]),
                 raw_mail(2, "bob@example.org", [("pic.jpg", "image/jpeg", samples.jpeg())],
                          day=2))
    assert hits(store, "Zanzibarian") == [] and len(unanalysed_attachments(store)) == 3
    assert index_pending(store_manager, store) == 3
    assert unanalysed_attachments(store) == []
    assert hits(store, "Zanzibarian") == [ids[0]] and hits(store, "Timbuktu") == [ids[0]]
    assert hits(store, "Zanzibarian Timbuktu") == [ids[0]]
    assert hits(store, "subject:Zanzibarian") == []  # attachment text is not the subject
    assert "Zanzibarian quarterly" in attachment_text(store, ids[0], "2")
    # re-indexing replaces the row (contentless FTS: deleted with the indexed values)
    assert index_message_attachments(store_manager, store, ids[0]) == 2
    assert hits(store, "Zanzibarian") == [ids[0]]
    store.delete([ids[0]])
    assert hits(store, "Zanzibarian") == [] and hits(store, "Timbuktu") == []
    assert list_attachments(store, text="Zanzibarian") == []
    # a new message with the same words is found exactly once (no stale index rows)
    (again,) = ingest(store, raw_mail(3, "carol@example.org",
                                      [("r.pdf", "application/pdf", pdf)]))
    index_pending(store_manager, store)
    assert hits(store, "Zanzibarian") == [again]


def test_attachment_view(store: Store, store_manager: AttachmentManager) -> None:
    pdf = samples.make_pdf(["Walrus migration notes"])
    ingest(store,
           raw_mail(1, "alice@example.org", [("notes.pdf", "application/pdf", pdf),
                                             ("run.pdf", "application/pdf", b"#!/bin/sh\n")]),
           raw_mail(2, "bob@example.org", [("photo.jpg", "image/jpeg", samples.jpeg())], day=9))
    index_pending(store_manager, store)
    everything = list_attachments(store)
    assert [r.filename for r in everything] == ["photo.jpg", "notes.pdf", "run.pdf"]  # newest
    assert {r.channel.value for r in everything} == {"email"}
    by_text = list_attachments(store, text="walrus")
    assert [(r.filename, r.kind, r.has_text) for r in by_text] == [("notes.pdf", "pdf", True)]
    assert [r.filename for r in list_attachments(store, text="photo")] == ["photo.jpg"]
    assert [r.filename for r in list_attachments(store, kind="image")] == ["photo.jpg"]
    assert [r.filename for r in list_attachments(store, sender="ALICE@example.org")] == [
        "notes.pdf", "run.pdf"]
    risky = [r for r in everything if r.risks]
    assert [(r.filename, set(r.risks)) for r in risky] == [
        ("run.pdf", {"script", "extension_mismatch"})]
    assert everything[0].sha256 == store_manager.analyze_attachment(
        store.get(everything[0].message_id).attachments[0]).sha256
    assert list_attachments(store, limit=1, offset=1)[0].filename == "notes.pdf"


def test_derived_data_goes_through_the_codec(store: Store,
                                             store_manager: AttachmentManager) -> None:
    pdf = samples.make_pdf(["Secretive Platypus"])
    (mid,) = ingest(store, raw_mail(1, "a@example.org", [("s.pdf", "application/pdf", pdf)]))
    index_pending(store_manager, store)
    att = store.get(mid).attachments[0]
    png = store_manager.thumbnail_png(att, 64)
    stored = b"".join(bytes(r[0]) for r in store.read_rows(
        "SELECT data FROM blobs WHERE key LIKE 'derived:%' OR key LIKE 'atext:%'"))
    assert stored and b"Platypus" not in stored and png[:8] not in stored
    assert store.read_rows("SELECT count(*) FROM blobs WHERE key LIKE 'derived:thumb:%'"
                           )[0][0] == 1
    # a second manager on the same store reuses the cached thumbnail and text
    other = AttachmentManager(cache=StoreCache(store), worker=store_manager.worker)
    assert other.thumbnail_png(att, 64) == png
    assert "Secretive Platypus" in other.extract_text(att)


def test_body_replacement_keeps_the_index_consistent(store: Store,
                                                     store_manager: AttachmentManager) -> None:
    from services.store.partial import replace_body
    from services.store.prepare import prepare

    pdf = samples.make_pdf(["Okapi census"])
    raw = raw_mail(1, "a@example.org", [("o.pdf", "application/pdf", pdf)])
    (mid,) = ingest(store, raw)
    index_pending(store_manager, store)
    assert hits(store, "Okapi") == [mid]
    replace_body(store, mid, prepare(parse_message(raw, account="acct", folder="INBOX"), raw,
                                     store.codec))
    assert hits(store, "Okapi") == [] and unanalysed_attachments(store) == [(mid, "2")]
    index_pending(store_manager, store)
    assert hits(store, "Okapi") == [mid]
    store.delete([mid])
    assert hits(store, "Okapi") == [] and hits(store, "census") == []


def test_prune_derived_after_delete(store: Store, store_manager: AttachmentManager) -> None:
    from services.store.attachments import prune_derived

    pdf_a, pdf_b = samples.make_pdf(["Narwhal"]), samples.make_pdf(["Axolotl"])
    a, b = ingest(store, raw_mail(1, "a@example.org", [("a.pdf", "application/pdf", pdf_a)]),
                  raw_mail(2, "b@example.org", [("b.pdf", "application/pdf", pdf_b)]))
    index_pending(store_manager, store)
    for mid in (a, b):
        store_manager.thumbnail_png(store.get(mid).attachments[0], 48)
    assert prune_derived(store) == 0
    store.delete([a])
    assert prune_derived(store) == 4  # a's text, analysis, extraction and thumbnail
    keys = [str(r[0]) for r in store.read_rows(
        "SELECT key FROM blobs WHERE key LIKE 'atext:%' OR key LIKE 'derived:%'")]
    sha_b = store.get(b).attachments[0].sha256
    assert len(keys) == 4 and all(sha_b in k for k in keys)
    assert hits(store, "Axolotl") == [b] and list_attachments(store, text="Axolotl")


def test_attachment_view_spans_channels(store: Store) -> None:
    from services.models import Address, Attachment, ChannelKind, Message

    sms = Message(channel=ChannelKind.SMS, account="phone", sender=Address("+15551234567"),
                  to=(Address("+15557654321"),), body_text="look",
                  date=datetime(2024, 6, 1, tzinfo=UTC),
                  attachments=[Attachment("mms.jpg", "image/jpeg", 1234, part_id="1")])
    store.ingest([(sms, b'{"sid": "SM1"}')])
    ingest(store, raw_mail(1, "a@example.org", [("x.txt", "text/plain", b"x")]))
    rows = list_attachments(store)
    assert [(r.filename, r.channel.value, r.account) for r in rows] == [
        ("mms.jpg", "sms", "phone"), ("x.txt", "email", "acct")]
    assert [r.filename for r in list_attachments(store, channel="sms")] == ["mms.jpg"]
