"""Byte-level header scanning for raw messages, without a full parse (used by the mbox and
Maildir readers to find flags, labels and envelope senders quickly)."""

from __future__ import annotations

import re

__all__ = ["header_block", "header_value"]


def header_block(raw: bytes, limit: int = 256 * 1024) -> bytes:
    """The header section of a message (without the blank line), at most ``limit`` bytes."""
    head = raw[:limit]
    ends = [p for p in (head.find(b"\n\n"), head.find(b"\n\r\n")) if p != -1]
    return head[: min(ends) + 1] if ends else head


def header_value(block: bytes, name: bytes) -> bytes | None:
    """The unfolded value of the first header ``name`` (lower-case bytes) in ``block``."""
    match = re.search(rb"(?im)^" + re.escape(name) + rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)", block)
    if match is None:
        return None
    return re.sub(rb"\r?\n[ \t]", b" ", match.group(1)).strip()
