"""A local mbox account (read and write): one file = INBOX, or a directory of mbox files
(Thunderbird layout: ``A`` and ``A.sbd/B`` for ``A/B``).  Writes are mboxrd-quoted and
locked with ``fcntl``; flags live in ``Status``/``X-Status`` headers.

Remote ids are ``mbox:<offset>``: ``set_flags`` and ``delete`` rewrite the file, so the
offsets of later messages change (list the folder again afterwards).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from services.email.sources import RawItem, os_reason, read_mbox
from services.errors import SourceError
from services.mime.rawheaders import header_block, header_value
from services.models import Flag

__all__ = [
    "MboxAccount",
    "escape_from",
    "flags_from_status",
    "from_line",
    "iter_mbox",
    "status_headers",
]

_FROM_LINE = re.compile(rb"From \S+.*\d\d?:\d\d")
_QUOTED_FROM = re.compile(rb"^(>+From )", re.M)
_ESCAPE_FROM = re.compile(rb"^(>*From )", re.M)
_BLANK = (b"\n", b"\r\n")


def iter_mbox(stream: BinaryIO, variant: str = "mboxrd") -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset_of_From_line, message_bytes)`` from an mbox stream, streaming.

    A separator is a ``From `` line at the start of the file, or after a blank line that
    looks like a real From_ line (has a time).  The blank line before a separator is
    dropped; ``>From`` quoting is undone per ``variant`` ("mboxrd": one ``>`` off every
    ``>+From ``; "mboxo": only ``>From ``; "none": untouched).  Content-Length is ignored.
    """
    offset = 0
    start = -1
    lines: list[bytes] = []
    previous_blank = True
    for line in stream:
        if line[:5] == b"From " and previous_blank and (start < 0 or _FROM_LINE.match(line)):
            if start >= 0:
                yield start, _finish(lines, variant)
            start = offset
            lines = []
            previous_blank = False
        else:
            if start < 0:
                start = offset  # junk before the first From_ line: keep it as a message
                lines = []
                if not line.strip():
                    offset += len(line)
                    start = -1
                    continue
            lines.append(line)
            previous_blank = line in _BLANK
        offset += len(line)
    if start >= 0:
        yield start, _finish(lines, variant)


def _finish(lines: list[bytes], variant: str) -> bytes:
    if lines and lines[-1] in _BLANK:
        lines.pop()
    raw = b"".join(lines)
    if variant == "mboxrd" and b">From " in raw:
        raw = _QUOTED_FROM.sub(lambda m: m.group(1)[1:], raw)
    elif variant == "mboxo" and b">From " in raw:
        raw = re.sub(rb"^>From ", b"From ", raw, flags=re.M)
    return raw


def escape_from(raw: bytes) -> bytes:
    """mboxrd quoting: one more ``>`` before every ``>*From `` line."""
    if b"From " not in raw:
        return raw
    return _ESCAPE_FROM.sub(lambda m: b">" + m.group(1), raw)


def from_line(raw: bytes, when: float | None = None) -> bytes:
    """A From_ separator line for ``raw`` (envelope sender from Return-Path or From)."""
    sender = b"MAILER-DAEMON"
    block = header_block(raw)
    for name in (b"return-path", b"from"):
        value = header_value(block, name)
        if value:
            match = re.search(rb"[^\s<>\"(),;:]+@[^\s<>\"(),;:]+", value)
            if match:
                sender = match.group(0)
                break
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(when)).encode()
    return b"From " + sender + b" " + stamp + b"\n"


def flags_from_status(block: bytes) -> frozenset[Flag]:
    """Flags from mbox ``Status:`` (R, O) and ``X-Status:`` (A, F, T, D) headers."""
    flags: set[Flag] = set()
    status = header_value(block, b"status") or b""
    xstatus = header_value(block, b"x-status") or b""
    if b"R" in status:
        flags.add(Flag.SEEN)
    for letter, flag in ((b"A", Flag.ANSWERED), (b"F", Flag.FLAGGED), (b"T", Flag.DRAFT)):
        if letter in xstatus:
            flags.add(flag)
    if b"D" in xstatus:
        flags.add(Flag.DELETED)
    return frozenset(flags)


def status_headers(flags: frozenset[Flag]) -> bytes:
    """``Status:``/``X-Status:`` lines for ``flags`` (empty bytes when there are none)."""
    status = b"RO" if Flag.SEEN in flags else b"O"
    letters = [
        letter
        for letter, flag in (
            (b"A", Flag.ANSWERED),
            (b"F", Flag.FLAGGED),
            (b"T", Flag.DRAFT),
            (b"D", Flag.DELETED),
        )
        if flag in flags
    ]
    if not flags:
        return b""
    out = b"Status: " + status + b"\n"
    if letters:
        out += b"X-Status: " + b"".join(letters) + b"\n"
    return out


_STATUS_LINE = re.compile(rb"(?im)^(?:x-)?status[ \t]*:.*\r?\n(?:[ \t].*\r?\n)*")
_SKIP_NAMES = (".msf", ".lock", ".dat", ".json", ".html")


def with_status(raw: bytes, flags: frozenset[Flag]) -> bytes:
    """``raw`` with its Status/X-Status headers replaced by ones for ``flags``."""
    block = header_block(raw)
    rest = raw[len(block) :]
    block = _STATUS_LINE.sub(b"", block)
    return block + status_headers(flags) + rest


class MboxAccount:
    """mbox folders on disk: a single file (INBOX) or a directory of mbox files."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            if not create:
                raise SourceError(f"{self.path}: no such mbox (use create=True to make one)")
            try:
                if self.path.suffix.lower() in (".mbox", ".mbx"):
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.path.touch()
                else:
                    self.path.mkdir(parents=True)
            except OSError as exc:
                raise SourceError(f"{self.path}: cannot create: {os_reason(exc)}") from exc
        self.single = self.path.is_file()

    def folders(self) -> list[str]:
        if self.single:
            return ["INBOX"]
        found: list[str] = []
        try:
            self._scan(self.path, "", found)
        except OSError as exc:
            raise SourceError(f"{self.path}: {os_reason(exc)}") from exc
        return sorted(found, key=lambda n: (n != "INBOX", n.lower()))

    def _scan(self, directory: Path, prefix: str, found: list[str]) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                sub = entry.name.removesuffix(".sbd")
                self._scan(Path(entry.path), f"{prefix}{sub}/", found)
            elif entry.is_file() and not entry.name.endswith(_SKIP_NAMES):
                with open(entry.path, "rb") as handle:
                    head = handle.read(5)
                if head in (b"", b"From "):
                    name = prefix + entry.name.removesuffix(".mbox")
                    found.append("INBOX" if name.lower() == "inbox" else name)

    def _file(self, folder: str, *, create: bool = False) -> Path:
        if self.single:
            if folder.upper() != "INBOX":
                raise SourceError(f"{self.path}: a single mbox file has only INBOX, not {folder!r}")
            return self.path
        parts = [p for p in folder.split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            raise SourceError(f"bad folder name {folder!r}")
        base = self.path.joinpath(*(p + ".sbd" for p in parts[:-1]))
        for candidate in (base / parts[-1], base / (parts[-1] + ".mbox")):
            if candidate.is_file():
                return candidate
        if folder.upper() == "INBOX":
            for name in ("INBOX", "Inbox", "inbox", "Inbox.mbox", "INBOX.mbox"):
                if (self.path / name).is_file():
                    return self.path / name
        if not create:
            raise SourceError(f"{self.path}: no folder {folder!r}")
        try:
            base.mkdir(parents=True, exist_ok=True)
            (base / parts[-1]).touch()
        except OSError as exc:
            raise SourceError(f"{base}: cannot create folder: {os_reason(exc)}") from exc
        return base / parts[-1]

    def iter_folder(self, name: str) -> Iterator[RawItem]:
        path = self._file(name)
        for item in read_mbox(path, name):
            yield RawItem(name, item.remote_id, item.raw, item.flags, item.labels)

    def append(self, folder: str, raw: bytes, flags: frozenset[Flag] = frozenset()) -> str:
        """Append ``raw`` with a From_ line (and Status headers when flags are given)."""
        path = self._file(folder, create=True)
        body = with_status(raw, flags) if flags else raw
        data = escape_from(body)
        if not data.endswith(b"\n"):
            data += b"\n"
        try:
            with path.open("r+b") as handle:
                fcntl.lockf(handle, fcntl.LOCK_EX)
                try:
                    end = handle.seek(0, os.SEEK_END)
                    prefix = self._separator_prefix(handle, end)
                    handle.write(prefix + from_line(raw, time.time()) + data + b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    fcntl.lockf(handle, fcntl.LOCK_UN)
        except OSError as exc:
            raise SourceError(f"{path}: cannot append: {os_reason(exc)}") from exc
        return f"mbox:{end + len(prefix)}"

    @staticmethod
    def _separator_prefix(handle: BinaryIO, end: int) -> bytes:
        """What to write so the next From_ line follows a blank line."""
        if end == 0:
            return b""
        handle.seek(max(0, end - 2))
        tail = handle.read(2)
        handle.seek(end)
        if tail.endswith(b"\n\n") or tail == b"\n":
            return b""
        return b"\n" if tail.endswith(b"\n") else b"\n\n"

    def _rewrite(self, folder: str, remote_id: str, flags: frozenset[Flag] | None) -> None:
        path = self._file(folder)
        try:
            offset = int(remote_id.removeprefix("mbox:"))
        except ValueError as exc:
            raise SourceError(f"bad mbox remote id {remote_id!r}") from exc
        try:
            with path.open("r+b") as handle:
                fcntl.lockf(handle, fcntl.LOCK_EX)
                try:
                    self._rewrite_locked(path, handle, offset, flags, remote_id)
                finally:
                    fcntl.lockf(handle, fcntl.LOCK_UN)
        except OSError as exc:
            raise SourceError(f"{path}: cannot rewrite: {os_reason(exc)}") from exc

    def _rewrite_locked(
        self, path: Path, handle: BinaryIO, offset: int, flags: frozenset[Flag] | None, rid: str
    ) -> None:
        handle.seek(0)
        spans = [start for start, _ in iter_mbox(handle, "none")]
        if offset not in spans:
            raise SourceError(f"{path}: no message {rid!r} in folder")
        index = spans.index(offset)
        end = spans[index + 1] if index + 1 < len(spans) else handle.seek(0, os.SEEK_END)
        handle.seek(offset)
        chunk = handle.read(end - offset)
        if flags is None:
            replacement = b""
        else:
            first, _, message = chunk.partition(b"\n")
            replacement = first + b"\n" + with_status(message, flags)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                handle.seek(0)
                out.write(handle.read(offset))
                out.write(replacement)
                handle.seek(end)
                while block := handle.read(1024 * 1024):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def set_flags(self, folder: str, remote_id: str, flags: frozenset[Flag]) -> None:
        self._rewrite(folder, remote_id, flags)

    def delete(self, folder: str, remote_id: str) -> None:
        self._rewrite(folder, remote_id, None)
