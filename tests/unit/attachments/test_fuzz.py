"""Hostile bytes never crash the manager: every outcome is a status or an
UnreadableAttachment (a ValueError), never a library exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.attachments import (
    AnalysisStatus,
    AttachmentManager,
    MemoryCache,
    PdfWorker,
    UnreadableAttachment,
)
from services.models import Attachment
from tests.unit.attachments import samples

_VALID = [samples.make_pdf(["fuzz"]), samples.jpeg((64, 48)), samples.png((40, 30)),
          samples.animated_gif(), samples.docm(), b"a,b\n1,2\n"]
_HEADS = [b"%PDF-1.7\n", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"GIF89a",
          b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<html>", b"#!/bin/sh\n", b""]


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):  # a valid file cut short or with bytes flipped
        data = bytearray(draw(st.sampled_from(_VALID)))
        for _ in range(draw(st.integers(0, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data[: draw(st.integers(0, len(data)))])
    return draw(st.sampled_from(_HEADS)) + draw(st.binary(max_size=600))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hostile(), name=st.sampled_from(["a.pdf", "b.jpg", "c.png", "d.docx", "e.csv",
                                             "f", "g.exe"]))
def test_hostile_bytes_never_crash(pdf_worker: PdfWorker, data: bytes, name: str) -> None:
    manager = AttachmentManager(cache=MemoryCache(), worker=pdf_worker)
    a = Attachment(name, loader=lambda: data)
    analysis = manager.analyze_attachment(a)
    assert isinstance(analysis.status, AnalysisStatus) and analysis.size == len(data)
    result = manager.extract(a)
    assert isinstance(result.status, AnalysisStatus) and isinstance(result.text, str)
    try:
        png = manager.thumbnail_png(a, 32)
    except UnreadableAttachment as exc:
        assert isinstance(exc.status, AnalysisStatus)
    else:
        assert png.startswith(b"\x89PNG")
