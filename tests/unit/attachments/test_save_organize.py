from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.attachments import AttachmentManager, Organizer, dedupe, safe_filename
from services.attachments.safe import save_into
from services.models import Address, Attachment, Message
from tests.unit.attachments import samples

HOSTILE = ["../../evil.sh", "/etc/passwd", "CON.txt", "con", "nul.tar.gz", "LPT1 .doc",
           "a\x00b\nc.txt", "..\\..\\win.ini", "C:\\Windows\\x.exe", "....", "", "a" * 600]


@pytest.mark.parametrize("name", HOSTILE)
def test_attachment_save_stays_inside_folder(tmp_path: Path, name: str) -> None:
    target = tmp_path / "documents" / "pdfs"
    a = Attachment(name, loader=lambda: b"payload")
    path = a.save(f"{target}/{a.filename}")  # the spec's idiom
    assert path.parent == target.resolve() and path.read_bytes() == b"payload"
    stem = path.name.split(".")[0].strip().lower()
    assert stem not in {"con", "nul", "lpt1", "prn", "aux"}
    assert not any(ord(ch) < 32 for ch in path.name) and len(path.name.encode()) <= 200
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]


def test_named_cases(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()  # an existing folder (or a path ending in "/") takes the attachment's name
    names = [Attachment(n, loader=lambda: b"x").save(out) for n in
             ("../../evil.sh", "/etc/passwd", "CON.txt")]
    assert [p.name for p in names] == ["evil.sh", "passwd", "_CON.txt"]
    assert all(p.parent == out.resolve() for p in names)


def test_never_overwrites_numbered_names(tmp_path: Path) -> None:
    a = Attachment("report.pdf", loader=lambda: b"one")
    b = Attachment("report.pdf", loader=lambda: b"two")
    first, second = a.save(tmp_path), b.save(tmp_path)
    third = Attachment("report.pdf", loader=lambda: b"3").save(tmp_path / "report.pdf")
    assert [first.name, second.name, third.name] == ["report.pdf", "report (1).pdf",
                                                     "report (2).pdf"]
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".commhub-")]  # no temp left


def test_download_attachments_uses_safe_names(tmp_path: Path) -> None:
    msg = Message(attachments=[Attachment("../../evil.sh", loader=lambda: b"#!"),
                               Attachment("CON.txt", loader=lambda: b"c")])
    paths = msg.download_attachments(tmp_path / "dl")
    assert [p.name for p in paths] == ["evil.sh", "_CON.txt"]
    assert all(p.parent == (tmp_path / "dl").resolve() for p in paths)


@given(st.text(min_size=0, max_size=300))
def test_safe_filename_is_one_component(name: str) -> None:
    clean = safe_filename(name)
    assert clean and "/" not in clean and "\\" not in clean and "\x00" not in clean
    assert clean not in (".", "..") and len(clean.encode()) <= 200
    assert clean.split(".")[0].strip().lower() not in {"con", "prn", "aux", "nul"}


def test_save_into_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ValueError, match="cannot create"):
        save_into(blocker / "sub", "a.txt", b"x")


def msg(sender: str, day: datetime, *atts: Attachment) -> Message:
    return Message(sender=Address(sender), date=day, attachments=list(atts))


def test_organize_by_type_sender_date_with_dedupe(manager: AttachmentManager,
                                                  tmp_path: Path) -> None:
    pdf, jpg = samples.make_pdf(["invoice"]), samples.jpeg((64, 64))
    m1 = msg("Alice@Example.org", datetime(2024, 3, 5, tzinfo=UTC),
             Attachment("invoice.pdf", loader=lambda: pdf),
             Attachment("pic.jpg", loader=lambda: jpg),
             Attachment("run.pdf", loader=lambda: b"#!/bin/sh\n"))
    m2 = msg("bob@example.org", datetime(2024, 4, 1, tzinfo=UTC),
             Attachment("copy-of-invoice.pdf", loader=lambda: pdf))
    by_type = Organizer(manager, tmp_path / "t")
    saved = by_type.save_message(m1) + by_type.save_message(m2)
    rel = [p.path.relative_to((tmp_path / "t").resolve()).as_posix() for p in saved]
    assert rel == ["documents/pdfs/invoice.pdf", "images/pic.jpg", "quarantine/run.pdf",
                   "documents/pdfs/invoice.pdf"]
    assert [s.duplicate for s in saved] == [False, False, False, True]
    again = Organizer(manager, tmp_path / "t").save_message(m2)  # a new run finds the copy
    assert again[0].duplicate and len(list((tmp_path / "t").rglob("*.pdf"))) == 2

    nested = Organizer(manager, tmp_path / "n", rules=("sender", "date", "type"))
    paths = [s.path.relative_to((tmp_path / "n").resolve()).as_posix()
             for s in nested.save_message(m1)]
    assert paths[0] == "alice@example.org/2024/03/documents/pdfs/invoice.pdf"
    assert Organizer(manager, tmp_path / "u", rules=("sender",)).save(
        Attachment("x.txt", loader=lambda: b"t")).path.parent.name == "unknown-sender"


def test_dedupe_by_hash() -> None:
    same = [Attachment(n, loader=lambda: b"same") for n in ("a", "b")]
    other = Attachment("c", loader=lambda: b"other")
    assert dedupe([same[0], other, same[1]]) == [same[0], other]
    assert os.sep not in same[0].sha256 and len(same[0].sha256) == 64
