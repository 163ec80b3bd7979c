"""IMAP modified UTF-7 (RFC 3501 section 5.1.3), used for Maildir++ folder names."""

from __future__ import annotations

import base64
import re

__all__ = ["mutf7_decode", "mutf7_encode"]


def mutf7_decode(name: str) -> str:
    """IMAP modified UTF-7 (RFC 3501 5.1.3) to text; invalid input is returned unchanged."""
    if "&" not in name:
        return name

    def repl(match: re.Match[str]) -> str:
        chunk = match.group(1)
        if not chunk:
            return "&"
        data = chunk.replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


def mutf7_encode(name: str) -> str:
    """Text to IMAP modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)
