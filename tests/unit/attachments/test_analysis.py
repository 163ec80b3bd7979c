from __future__ import annotations

import random
from pathlib import Path

import pytest

from services.attachments import AnalysisStatus, AttachmentManager, Risk
from services.models import Attachment
from tests.unit.attachments import samples


def analyze(manager: AttachmentManager, name: str, data: bytes, ctype: str = "") -> object:
    return manager.analyze_attachment(
        Attachment(name, ctype or "application/octet-stream", loader=lambda: data))


def test_pdf_type_pages_hash_from_content(manager: AttachmentManager) -> None:
    data = samples.make_pdf(["one", "two", "three"])
    a = manager.analyze_attachment(Attachment("scan.bin", loader=lambda: data))
    assert (a.file_type, a.mime_type, a.page_count) == ("pdf", "application/pdf", 3)
    assert a.size == len(data) and len(a.sha256) == 64 and a.status is AnalysisStatus.OK
    assert a.risks == frozenset()  # an unknown extension is no mismatch
    assert not a.encrypted


def test_image_size_and_declared_type_ignored(manager: AttachmentManager) -> None:
    a = manager.analyze_attachment(
        Attachment("photo.jpg", "application/pdf", loader=lambda: samples.jpeg((640, 480))))
    assert (a.file_type, a.mime_type, a.image_size) == ("image", "image/jpeg", (640, 480))
    assert a.declared_type == "application/pdf" and a.ok and not a.suspicious


def test_wrong_extension_is_flagged(manager: AttachmentManager) -> None:
    a = manager.analyze_attachment(Attachment("holiday.jpg", loader=lambda: samples.make_pdf(
        ["x"])))
    assert a.file_type == "pdf" and Risk.EXTENSION_MISMATCH in a.risks and a.extension_mismatch


def test_script_disguised_as_pdf(manager: AttachmentManager) -> None:
    a = manager.analyze_attachment(
        Attachment("invoice.pdf", loader=lambda: b"#!/bin/sh\nrm -rf ~\n"))
    assert a.file_type == "script"
    assert {Risk.SCRIPT, Risk.EXTENSION_MISMATCH} <= a.risks and a.suspicious


def test_real_executable(manager: AttachmentManager) -> None:
    elf = Path("/bin/true").read_bytes()
    a = manager.analyze_attachment(Attachment("cat.png", loader=lambda: elf))
    assert a.file_type == "executable"
    assert {Risk.EXECUTABLE, Risk.EXTENSION_MISMATCH} <= a.risks


def test_double_extension_and_bidi_names(manager: AttachmentManager) -> None:
    a = manager.analyze_attachment(Attachment("invoice.pdf.exe", loader=lambda: b"MZ" + bytes(
        200)))
    assert {Risk.DOUBLE_EXTENSION, Risk.EXECUTABLE} <= a.risks
    b = manager.analyze_attachment(Attachment("report\u202efdp.exe", loader=lambda: b"MZ"))
    assert Risk.DECEPTIVE_NAME in b.risks
    plain = manager.analyze_attachment(Attachment("v1.2.notes.txt", loader=lambda: b"hello"))
    assert plain.risks == frozenset() and plain.file_type == "text"


def test_macro_enabled_office(manager: AttachmentManager) -> None:
    a = manager.analyze_attachment(Attachment("budget.docx", loader=samples.docm))
    assert Risk.MACROS in a.risks and a.file_type in ("document", "archive")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600) + "_VBA_PROJECT".encode("utf-16-le")
    assert Risk.MACROS in manager.analyze_attachment(Attachment("old.doc", loader=lambda: ole)
                                                     ).risks
    assert Risk.MACROS in manager.analyze_attachment(
        Attachment("sheet.xlsm", loader=samples.docm)).risks


def test_encrypted_zip_and_pdfs(manager: AttachmentManager) -> None:
    z = manager.analyze_attachment(Attachment("x.zip", loader=samples.encrypted_zip))
    assert z.file_type == "archive" and Risk.ENCRYPTED in z.risks and z.encrypted
    assert not z.suspicious  # encryption alone is not a threat
    locked = samples.encrypt_pdf(samples.make_pdf(["secret words"]), "pw")
    p = manager.analyze_attachment(Attachment("x.pdf", loader=lambda: locked))
    assert p.status is AnalysisStatus.ENCRYPTED and p.encrypted and Risk.ENCRYPTED in p.risks
    open_pdf = samples.encrypt_pdf(samples.make_pdf(["a", "b"]), "")
    q = manager.analyze_attachment(Attachment("y.pdf", loader=lambda: open_pdf))
    assert q.ok and q.encrypted and q.page_count == 2  # owner password only: readable


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("empty.pdf", lambda: b"", AnalysisStatus.EMPTY),
        ("cut.pdf", lambda: samples.make_pdf(["a" * 50] * 8)[:300], AnalysisStatus.TRUNCATED),
        ("junk.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n",
         AnalysisStatus.CORRUPT),
        ("cut.jpg", lambda: samples.jpeg((800, 600))[:3000], AnalysisStatus.TRUNCATED),
        ("bomb.png", samples.png_bomb, AnalysisStatus.TOO_LARGE),
        ("cut.gif", lambda: samples.animated_gif()[:225], AnalysisStatus.CORRUPT),  # IndexError
        ("cut.zip", lambda: samples.zip_bytes({"a.bin": random.Random(1).randbytes(5000)})[:2000],
         AnalysisStatus.TRUNCATED),
    ],
)
def test_bad_input_gets_a_status(manager: AttachmentManager, name: str, make: object,
                                 status: AnalysisStatus) -> None:
    data = make()  # type: ignore[operator]
    a = manager.analyze_attachment(Attachment(name, loader=lambda: data))
    assert a.status is status, a
    assert a.detail and a.size == len(data)


def test_unloadable_content(manager: AttachmentManager) -> None:
    def fail() -> bytes:
        raise OSError("server went away")

    a = manager.analyze_attachment(Attachment("x.pdf", loader=fail))
    assert a.status is AnalysisStatus.UNAVAILABLE and "server went away" in a.detail


def test_oversized_content_is_typed_not_decoded(pdf_worker: object) -> None:
    from services.attachments import Limits, MemoryCache, PdfWorker

    assert isinstance(pdf_worker, PdfWorker)
    small = AttachmentManager(cache=MemoryCache(), worker=pdf_worker, limits=Limits(max_bytes=100))
    a = small.analyze_attachment(Attachment("p.png", loader=lambda: samples.png()))
    assert a.status is AnalysisStatus.TOO_LARGE and a.file_type == "image"
    assert a.image_size is None


def test_analysis_is_cached_by_hash(manager: AttachmentManager) -> None:
    data = samples.make_pdf(["cached"])
    first = manager.analyze_attachment(Attachment("a.pdf", loader=lambda: data))
    restarts = manager.worker.restarts
    second = manager.analyze_attachment(Attachment("a.exe", loader=lambda: data))
    assert second.page_count == first.page_count == 1
    assert Risk.EXTENSION_MISMATCH in second.risks and not first.risks  # names still checked
    assert manager.worker.restarts == restarts


def test_pixel_limit_enforced_before_decoding(pdf_worker: object) -> None:
    from services.attachments import Limits, MemoryCache, PdfWorker, UnreadableAttachment

    assert isinstance(pdf_worker, PdfWorker)
    tight = AttachmentManager(cache=MemoryCache(), worker=pdf_worker,
                              limits=Limits(max_pixels=100_000))
    big = Attachment("big.jpg", loader=lambda: samples.jpeg((640, 480)))
    a = tight.analyze_attachment(big)
    assert a.status is AnalysisStatus.TOO_LARGE and "640x480" in a.detail
    with pytest.raises(UnreadableAttachment) as info:
        tight.thumbnail_png(big)
    assert info.value.status is AnalysisStatus.TOO_LARGE
