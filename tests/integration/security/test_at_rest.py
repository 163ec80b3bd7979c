"""Encryption at rest: nothing of a message is readable anywhere in the data directory.

One message carries a marker in its subject, body, an address and an attachment (name
and content); it is imported through ``CommManager``, searched (plain word, prefix,
field queries), threaded, read back byte-exact, the manager closed, and then every
file under the data directory is scanned for the marker in many encodings.  With
encryption on: no hit.  With encryption off the same scan finds it, which proves the
scan looks in the right places.
"""

from __future__ import annotations

import base64
import io
import quopri
import unicodedata
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from services.attachments.manager import AttachmentManager
from services.errors import ConfigurationError, EncryptionKeyError, EncryptionKeyMissing
from services.manager import CommManager
from services.query.builder import EmailQuery
from services.security.config import SecurityConfig
from services.security.encryption import KEYRING_ACCOUNT, StoreKeys
from services.security.secrets import MemorySecrets
from services.store.attachments import StoreCache, attachment_text, record_attachment
from services.store.cipher import file_state

MARKER = "Zqxmarkerwvu"  # ASCII: addresses, attachment name and content
MARKER_U = "Zqxmärkerwvu"  # non-ASCII: subject and body (QP / RFC 2047 / UTF-16 forms differ)


def _strip(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _b64_inner(data: bytes) -> list[bytes]:
    """Base64 substrings that any base64 text containing ``data`` contains, whatever
    its alignment (the whole 3-byte groups inside ``data``, for each offset)."""
    out = []
    for start in range(3):
        body = data[start:]
        body = body[: len(body) - len(body) % 3]
        if len(body) >= 6:
            out.append(base64.b64encode(body))
    return out


def marker_forms() -> set[bytes]:
    texts = {MARKER, MARKER_U}
    texts |= {t.lower() for t in texts} | {t.upper() for t in texts}
    texts |= {_strip(t) for t in texts}
    forms: set[bytes] = set()
    for text in texts:
        for codec in ("utf-8", "utf-16-le", "utf-16-be", "latin-1"):
            try:
                data = text.encode(codec)
            except UnicodeEncodeError:
                continue
            forms.add(data)
            if codec in ("utf-8", "latin-1"):
                forms.add(quopri.encodestring(data, header=False).strip())
                forms.add(quopri.encodestring(data, header=True).strip())
                forms.update(_b64_inner(data))
    return forms


def scan(directory: Path) -> list[tuple[str, bytes]]:
    """``(file, form)`` for every marker form found in every file under ``directory``."""
    forms = marker_forms()
    hits = []
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files, f"nothing was written under {directory}"
    for path in files:
        data = path.read_bytes()
        hits += [(path.name, form) for form in forms if form in data]
    return hits


def marked_message(to: str = "bob@example.test", reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{MARKER} Sender <{MARKER.lower()}@example.test>"
    msg["To"] = to
    msg["Subject"] = f"quarterly report {MARKER_U}" if reply_to is None else "Re: follow-up"
    msg["Message-ID"] = make_msgid(domain="example.test")
    msg["Date"] = "Tue, 03 Sep 2024 10:00:00 +0000"
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    msg.set_content(f"Hello,\nthe body mentions {MARKER_U} twice: {MARKER_U}.\nbye\n")
    msg.add_attachment(
        f"attachment content {MARKER} and plinthword lines\n".encode() * 3,
        maintype="text", subtype="plain", filename=f"{MARKER}-notes.txt",
    )
    msg.add_attachment(_png(), maintype="image", subtype="png", filename=f"{MARKER}.png")
    return msg.as_bytes()


def _png() -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", f"picture of {MARKER}")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _attachment_caches(comm: CommManager, ident: int) -> None:
    """Extracted text (indexed, kept in the store) and a thumbnail (cached in the store)."""
    full = comm.get(ident)
    text_part, image_part = full.attachments
    manager = AttachmentManager(cache=StoreCache(comm.store))
    try:
        text = manager.extract_text(text_part)
        assert MARKER in text
        record_attachment(comm.store, ident, text_part.part_id, sha256=text_part.sha256,
                          kind="text", status="ok", text=text)
        assert MARKER in attachment_text(comm.store, ident, text_part.part_id)
        assert ident in comm.store.search_ids(EmailQuery.parse("plinthword"))
        png = manager.thumbnail_png(image_part, 16)
        assert png.startswith(b"\x89PNG")
        cached = comm.store.read_rows(
            "SELECT count(*) FROM blobs WHERE key LIKE 'derived:thumb:%' "
            "OR key LIKE 'derived:text:%'")
        assert cached[0][0] == 2  # the thumbnail and the extraction, in the store
        again = AttachmentManager(cache=StoreCache(comm.store))
        try:  # a second manager finds the thumbnail in the store's cache
            assert again.thumbnail_png(image_part, 16) == png
        finally:
            again.close()
    finally:
        manager.close()


def _exercise(comm: CommManager, maildir: Path) -> None:
    first = marked_message()
    first_id = next(line for line in first.split(b"\n") if line.startswith(b"Message-ID"))
    reply = marked_message(to="carol@example.test", reply_to=first_id.split(b": ", 1)[1].decode())
    (maildir / "1.eml").write_bytes(first)
    (maildir / "2.eml").write_bytes(reply)
    report = comm.import_path(maildir, account="local")
    assert report.added == 2
    word = MARKER.lower()
    assert comm.count(word) == 2
    assert comm.count(f"{word[:6]}*") == 2
    assert comm.count(f"from:{word}") == 2
    assert comm.count(f'subject:"report {MARKER_U}"') == 1
    assert comm.count(f"filename:{word}*") == 2
    assert comm.count("zqxnothere") == 0
    hits = comm.search(f"subject:{_strip(MARKER_U).lower()}")
    assert [m.subject for m in hits] == [f"quarterly report {MARKER_U}"]
    ident = hits[0].id
    assert ident is not None
    assert comm.raw(ident) == first
    full = comm.get(ident)
    assert [a.filename for a in full.attachments] == [f"{MARKER}-notes.txt", f"{MARKER}.png"]
    assert full.attachments[0].loader is not None
    assert MARKER.encode() in full.attachments[0].loader()
    assert len(comm.thread(ident)) == 2
    _attachment_caches(comm, ident)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_nothing_of_a_message_is_readable_in_the_data_directory(
    tmp_path: Path, encrypted: bool
) -> None:
    data_dir, maildir = tmp_path / "data", tmp_path / "in"
    maildir.mkdir()
    secrets = MemorySecrets()
    with CommManager(data_dir=data_dir, encryption_enabled=encrypted, secrets=secrets) as comm:
        _exercise(comm, maildir)
        comm.store.optimize()  # FTS segments merged, statistics written
    hits = scan(data_dir)
    if encrypted:
        assert hits == []
        assert file_state(data_dir / "commhub.sqlite3") == "encrypted"
        names = {p.name for p in data_dir.iterdir()}
        assert names <= {"commhub.sqlite3", "commhub.sqlite3-wal", "commhub.sqlite3-shm",
                         "commhub.sqlite3.keyid"}, names
        # and everything is still there after a reopen (no new empty store)
        config = SecurityConfig(encryption_enabled=True)
        with CommManager(data_dir=data_dir, security_config=config, secrets=secrets) as comm:
            assert comm.count(f"{MARKER.lower()[:5]}*") == 2
    else:
        found = {form for _, form in hits}
        assert MARKER.encode() in found  # subject/address/attachment name in plain text
        assert MARKER.lower().encode() in found  # index terms


def test_an_open_encrypted_store_keeps_its_wal_unreadable(tmp_path: Path) -> None:
    data_dir, maildir = tmp_path / "data", tmp_path / "in"
    maildir.mkdir()
    with CommManager(data_dir=data_dir, encryption_enabled=True,
                     secrets=MemorySecrets()) as comm:
        _exercise(comm, maildir)
        wal = data_dir / "commhub.sqlite3-wal"
        assert wal.exists() and wal.stat().st_size > 0  # content is in the WAL right now
        assert scan(data_dir) == []


def test_a_missing_key_is_a_clear_error_and_the_store_survives(tmp_path: Path) -> None:
    data_dir, maildir = tmp_path / "data", tmp_path / "in"
    maildir.mkdir()
    secrets = MemorySecrets()
    with CommManager(data_dir=data_dir, encryption_enabled=True, secrets=secrets) as comm:
        _exercise(comm, maildir)
    db = data_dir / "commhub.sqlite3"
    before = db.read_bytes()
    for enabled in (True, False):  # an encrypted store stays encrypted either way
        with CommManager(data_dir=data_dir, encryption_enabled=enabled,
                         secrets=MemorySecrets()) as comm, \
                pytest.raises(EncryptionKeyMissing, match="not in the keyring") as err:
            comm.count("anything")
        assert isinstance(err.value, PermissionError)
        assert "will not create a new store" in str(err.value)
    assert db.read_bytes() == before
    wrong = MemorySecrets()
    store_id = StoreKeys(db, secrets).status().store_id
    assert store_id
    wrong.set(KEYRING_ACCOUNT, store_id, "00" * 32)
    with CommManager(data_dir=data_dir, secrets=wrong) as comm, \
            pytest.raises(EncryptionKeyError, match="does not open"):
        comm.count("anything")
    (data_dir / "commhub.sqlite3.keyid").unlink()
    with CommManager(data_dir=data_dir, secrets=secrets) as comm, \
            pytest.raises(EncryptionKeyMissing, match="keyid"):
        comm.count("anything")
    assert db.read_bytes() == before


def test_encryption_enabled_on_a_plain_store_says_what_to_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with CommManager(data_dir=data_dir, secrets=MemorySecrets()) as comm:
        comm.store.ensure_account("a", "import")
    with CommManager(data_dir=data_dir, encryption_enabled=True,
                     secrets=MemorySecrets()) as comm, \
            pytest.raises(ConfigurationError, match="commhub key encrypt"):
        comm.accounts()
    assert file_state(data_dir / "commhub.sqlite3") == "plain"
