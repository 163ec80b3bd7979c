"""Once analysed, a stored attachment knows its content hash: a fresh Message from the
store (what the reader gets on every open) finds its cached thumbnail without reading or
hashing the content again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from services import CommManager
from services.attachments import AttachmentManager
from services.security.secrets import MemorySecrets
from services.store.attachments import StoreCache
from tests.unit.attachments.samples import jpeg
from tests.unit.core.mailfactory import make_email, write_maildir


def test_fresh_store_attachments_hit_the_thumbnail_cache_without_reading(tmp_path: Path) -> None:
    photo = jpeg((1600, 1200))
    maildir = write_maildir(tmp_path / "Mail", [
        make_email(1, subject="Photo", body="see", attachment=("photo.jpg", photo))])
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets()) as comm:
        comm.import_path(maildir)
        (mid,) = [m.id for m in comm.search("subject:photo")]
        before = comm.get(mid).attachments[0]
        assert before._sha256 is None  # not analysed yet: nothing claimed
        assert comm.index_attachments() == 1
        with AttachmentManager(cache=StoreCache(comm.store)) as manager:
            first = manager.thumbnail_png(comm.get(mid).attachments[0], 256)
            fresh = comm.get(mid).attachments[0]
            reads: list[int] = []
            original = fresh.loader
            assert original is not None

            def counting() -> bytes:
                reads.append(1)
                return original()

            fresh.loader = counting
            assert fresh.sha256 == hashlib.sha256(photo).hexdigest()
            again = manager.thumbnail_png(fresh, 256)
        assert again == first and first.startswith(b"\x89PNG")
        assert reads == []  # the hash came from the store and the thumbnail from its cache
        summary = comm.search("subject:photo")[0].attachments[0]  # list rows know it too
        assert summary._sha256 == fresh.sha256
