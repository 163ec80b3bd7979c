"""Defences against absurd header blocks (a 10 MB header line, a million headers) applied
to the raw bytes before the standard-library parser sees them."""

from __future__ import annotations

from services.mime.headers import MAX_HEADER_CHARS

__all__ = ["header_end", "limit_headers"]

_HEADER_SCAN_THRESHOLD = 256 * 1024  # header blocks above this are trimmed before parsing
_MAX_HEADER_BLOCK = 1024 * 1024


def header_end(raw: bytes) -> int:
    """Index just past the last header line (before the blank line), or len(raw)."""
    best = len(raw)
    for sep in (b"\n\n", b"\n\r\n"):
        pos = raw.find(sep, 0, best)
        if pos != -1 and pos + 1 < best:
            best = pos + 1
    return best


def limit_headers(raw: bytes, warnings: list[str]) -> bytes:
    """Trim absurd header blocks (a 10 MB header line) before the parser sees them."""
    if len(raw) <= _HEADER_SCAN_THRESHOLD:
        return raw
    end = header_end(raw)
    if end <= _HEADER_SCAN_THRESHOLD:
        return raw
    out: list[bytes] = []
    kept = 0
    current = 0
    name = b""
    warned: set[bytes] = set()
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] not in (b" ", b"\t"):
            current = 0
            name = line.split(b":", 1)[0][:60]
        if current + len(line) > MAX_HEADER_CHARS:
            room = MAX_HEADER_CHARS - current
            if name not in warned:
                warned.add(name)
                label = name.decode("ascii", "replace")
                warnings.append(f"header {label} truncated to {MAX_HEADER_CHARS} characters")
            if room <= 0:
                continue
            line = line[:room].rstrip(b"\r\n") + b"\n"
        current += len(line)
        kept += len(line)
        if kept > _MAX_HEADER_BLOCK:
            warnings.append("header block larger than 1 MB: remaining headers dropped")
            break
        out.append(line)
    return b"".join(out) + raw[end:]
