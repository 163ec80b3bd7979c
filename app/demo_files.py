"""Real attachment bytes for the demo: small valid PDFs and JPEG photos, made from code."""

from __future__ import annotations

import io
import math

__all__ = ["jpeg_photo", "text_pdf"]


def _pdf_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF 1.4 (Helvetica) with a title and lines of text; valid xref table."""
    ops = [f"BT /F1 20 Tf 72 740 Td ({_pdf_text(title)}) Tj ET"]
    y = 700
    for line in lines:
        ops.append(f"BT /F1 12 Tf 72 {y} Td ({_pdf_text(line)}) Tj ET")
        y -= 18
    ops.append("0.2 0.4 0.8 RG 2 w 72 725 m 540 725 l S")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def jpeg_photo(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A landscape 'photo' (sky gradient, sun, hills) as JPEG bytes; ``seed`` varies it."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    top = (40 + seed * 30 % 120, 90 + seed * 17 % 80, 170 + seed * 11 % 70)
    bottom = (250, 200 - seed * 13 % 60, 150 + seed * 7 % 60)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom,
                                                                                      strict=True)))
    sx, sy, r = w * (0.2 + 0.15 * (seed % 4)), h * 0.3, h * 0.08
    draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 230, 140))
    for layer, colour in enumerate([(70, 110, 80), (40, 80, 55), (25, 55, 40)]):
        base = h * (0.55 + 0.13 * layer)
        points = [(0, h)]
        for x in range(0, w + 20, 20):
            wave = math.sin(x / (60 + 25 * layer) + seed + layer) * h * 0.06
            points.append((x, base + wave))
        points.append((w, h))
        draw.polygon(points, fill=colour)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=82)
    return buf.getvalue()
