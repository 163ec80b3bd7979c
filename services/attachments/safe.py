"""Saving attachments without trusting their names.

A file name from a message is hostile input: ``../../.bashrc``, ``C:\\evil.exe``,
``con``, control characters, 4,000-character names.  :func:`safe_filename` keeps
the readable part of a name and nothing that can escape a folder;
:func:`save_into` never overwrites and never writes outside ``folder``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from services.errors import ValidationError

__all__ = ["safe_filename", "save_into"]

_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}
_BAD = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_MAX = 200  # bytes of UTF-8, below every common file system's 255


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A single path component derived from ``name`` that is safe on every OS."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # drop any directory part
    name = _BAD.sub("_", name).strip().strip(".")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.lower() in _RESERVED:
        stem = f"_{stem}"
    if not stem and not ext:
        return fallback
    if not stem:
        stem = fallback
    ext = ext[:20]
    while len(f"{stem}.{ext}".encode() if ext else stem.encode()) > _MAX:
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


def save_into(folder: str | os.PathLike[str], name: str, data: bytes) -> Path:
    """Write ``data`` as a new file in ``folder`` under a safe, unused name; returns the path.

    Exclusive creation (``O_EXCL``) means an existing file is never replaced; a
    clash gets `` (1)``, `` (2)`` ... appended.
    """
    base = Path(folder).resolve()
    base.mkdir(parents=True, exist_ok=True)
    clean = safe_filename(name)
    stem, dot, ext = clean.rpartition(".")
    if not dot:
        stem, ext = clean, ""
    for n in range(10_000):
        candidate = clean if n == 0 else (f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})")
        path = base / candidate
        if path.resolve().parent != base:
            raise ValidationError(f"refusing to write {name!r} outside {base}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path
    raise ValidationError(f"too many files named like {clean!r} in {base}")
