"""Text of non-PDF attachments: plain text, HTML (as text) and CSV.

Bytes are decoded as UTF-8 (with or without BOM), else the encoding
charset-normalizer finds, else Latin-1 (which never fails).  Output is capped at
``max_chars``.
"""

from __future__ import annotations

import csv
import io

from charset_normalizer import from_bytes

from services.mime.text import html_to_text

__all__ = ["decode_text", "extract_plain"]

_TEXT_KINDS = frozenset(("text", "html", "csv", "script", "email"))


def decode_text(data: bytes) -> str:
    """Best-effort decoding of text bytes of unknown encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[: 1 << 20]).best()
    if best is not None and best.encoding:
        return data.decode(best.encoding, "replace")
    return data.decode("latin-1")


def _csv_text(text: str, max_chars: int) -> str:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    out: list[str] = []
    size = 0
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            line = "\t".join(cell.strip() for cell in row)
            out.append(line)
            size += len(line) + 1
            if size > max_chars:
                break
    except csv.Error:  # a malformed CSV is still text
        return text
    return "\n".join(out)


def extract_plain(data: bytes, kind: str, max_chars: int) -> str | None:
    """Text of a text-like attachment of ``kind``; None for kinds without plain text."""
    if kind not in _TEXT_KINDS:
        return None
    text = decode_text(data[: max_chars * 4])
    if kind == "html":
        text = html_to_text(text)
    elif kind == "csv":
        text = _csv_text(text, max_chars)
    return text.replace("\x00", "")[:max_chars]
