from __future__ import annotations

from pathlib import Path

import pytest

from services.attachments.safe import safe_filename, save_into
from services.errors import UnsupportedOperation
from services.models import Attachment, Message


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../.bashrc", "bashrc"),
        ("..\\..\\Windows\\system32\\evil.exe", "evil.exe"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("con.txt", "_con.txt"),
        ("a\x00b\x1fc.txt", "a_b_c.txt"),
        ('what?*<>|":.doc', "what_______.doc"),
        ("", "attachment"),
        ("...", "attachment"),
        (".pdf", "pdf"),
        ("Résumé final.pdf", "Résumé final.pdf"),
    ],
)
def test_safe_filename(hostile: str, expected: str) -> None:
    assert safe_filename(hostile) == expected


def test_long_names_are_cut_below_255_bytes() -> None:
    name = safe_filename("ж" * 400 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 200


def test_save_into_never_escapes_or_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = save_into(out, "../../x.txt", b"one")
    second = save_into(out, "x.txt", b"two")
    assert first == out.resolve() / "x.txt" and first.read_bytes() == b"one"
    assert second.name == "x (1).txt" and second.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["x (1).txt", "x.txt"]


def test_message_download_attachments(tmp_path: Path) -> None:
    msg = Message(
        attachments=[
            Attachment("../evil.sh", loader=lambda: b"#!/bin/sh"),
            Attachment("logo.png", inline=True, loader=lambda: b"png"),
            Attachment("report.pdf", "application/pdf", loader=lambda: b"%PDF"),
        ]
    )
    paths = msg.download_attachments(tmp_path / "dl")
    assert [p.name for p in paths] == ["evil.sh", "report.pdf"]
    assert all(p.parent == (tmp_path / "dl").resolve() for p in paths)


def test_unbound_message_cannot_be_marked_read() -> None:
    with pytest.raises(UnsupportedOperation, match="not bound"):
        Message().mark_as_read()
