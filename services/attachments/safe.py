"""Saving attachments without trusting their names.

A file name from a message is hostile input: ``../../.bashrc``, ``C:\\evil.exe``,
``con``, ``CON.tar.gz``, control characters, 4,000-character names.
:func:`safe_filename` keeps the readable part of a name and nothing that can escape a
folder; :func:`save_into` never overwrites (a clash gets a numbered name) and never
writes outside ``folder``; the file appears complete or not at all (written to a
temporary file, synced, then hard-linked into place, which fails instead of replacing
an existing file).  :func:`save_to` gives ``Attachment.save(path)`` its meaning.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

from services.errors import ValidationError

__all__ = ["safe_filename", "save_into", "save_to", "split_target", "write_atomic"]

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
    if stem.split(".", 1)[0].strip().lower() in _RESERVED:  # CON, con.tar, nul .txt
        stem = f"_{stem}"
    if not stem and not ext:
        return fallback
    if not stem:
        stem = fallback
    ext = ext[:20]
    while len(f"{stem}.{ext}".encode() if ext else stem.encode()) > _MAX:
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


def _link_new(tmp: str, path: Path) -> bool:
    """Put the finished temporary file at ``path`` unless something is there already."""
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: claim the name, then replace it
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        os.replace(tmp, path)
        return True


def write_atomic(path: Path, data: bytes, *, replace: bool = False) -> bool:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder.

    With ``replace=False`` an existing file is left alone and False returned."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".commhub-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        return _link_new(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def save_into(folder: str | os.PathLike[str], name: str, data: bytes) -> Path:
    """Write ``data`` as a new file in ``folder`` under a safe, unused name; returns the path.

    An existing file is never replaced: a clash gets `` (1)``, `` (2)`` ... appended.
    """
    base = Path(folder).resolve()
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot create the folder {base}: {exc}") from exc
    clean = safe_filename(name)
    stem, dot, ext = clean.rpartition(".")
    if not dot:
        stem, ext = clean, ""
    for n in range(10_000):
        candidate = clean if n == 0 else (f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})")
        path = base / candidate
        if path.resolve().parent != base:
            raise ValidationError(f"refusing to write {name!r} outside {base}")
        if path.exists():
            continue
        try:
            if write_atomic(path, data):
                return path
        except OSError as exc:
            raise ValidationError(f"cannot write {path}: {exc}") from exc
    raise ValidationError(f"too many files named like {clean!r} in {base}")


def split_target(target: str | os.PathLike[str], filename: str) -> tuple[str, str]:
    """``(folder, wanted name)`` for a target given with an attachment's own name.

    * ``target`` is a folder (exists, or ends with a separator): ``(target, filename)``;
    * ``target`` ends with the attachment's own ``filename`` (the idiom
      ``f"docs/{attachment.filename}"``): the part before the name is the folder, so a
      hostile name such as ``../../evil.sh`` or ``/etc/passwd`` still lands inside it;
    * otherwise the last component is the wanted name in its parent folder.
    The name is not yet safe: pass it through :func:`safe_filename`."""
    text = os.fspath(target)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return text, filename
    if filename and text.endswith(filename) and len(text) > len(filename):
        return text[: len(text) - len(filename)] or ".", filename
    path = Path(text)
    return str(path.parent), path.name


def save_to(target: str | os.PathLike[str], filename: str, data: bytes) -> Path:
    """``Attachment.save(target)``: save under a safe, unused name (see
    :func:`split_target` for what ``target`` may be); returns the path."""
    folder, name = split_target(target, filename)
    return save_into(folder, name, data)
