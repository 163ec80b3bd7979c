"""Read mailboxes on disk for import: Maildir (and Maildir++ trees, and directories of
several maildirs), mbox files (Google Takeout included), directories of message files and
single ``.eml`` files.  Raw bytes are returned exactly as stored (mbox: minus the From_
line and the blank line before the next one, with ``>From`` quoting undone).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from services.errors import SourceError
from services.mime.headers import decode_header_value
from services.mime.mutf7 import mutf7_decode
from services.mime.rawheaders import header_block, header_value
from services.models import Flag

__all__ = [
    "EmlDirSource",
    "EmlFileSource",
    "MaildirSource",
    "MboxSource",
    "RawItem",
    "Source",
    "detect_source",
    "find_maildirs",
    "is_maildir",
    "looks_like_message",
    "read_maildir",
    "read_mbox",
    "takeout_meta",
]

_SNIFF = 4096


@dataclass(frozen=True, slots=True)
class RawItem:
    """One message read from disk."""

    folder: str
    remote_id: str
    raw: bytes
    flags: frozenset[Flag] = frozenset()
    labels: tuple[str, ...] = ()


class Source(Protocol):
    """Something to import from.  ``skipped`` lists (path, reason) of files not read."""

    kind: str
    skipped: list[tuple[Path, str]]

    def estimate(self) -> int | None: ...

    def __iter__(self) -> Iterator[RawItem]: ...


def os_reason(exc: OSError) -> str:
    """A one-line reason for an OSError."""
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)


_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,76}:")


# Names under which a headerless text file is still taken as a message (MH folders use
# bare numbers; CPython's own test corpus has a body-only msg_19.txt).
_MESSAGE_SUFFIXES = frozenset({".eml", ".txt", ".msg", ".mail", ".rfc822", ""})


def looks_like_message(head: bytes, name: str = "") -> bool:
    """True for bytes that start like a message: a header line or an mbox From_ line.

    With the file ``name``, a text file (no NUL bytes) with a message-like suffix is a
    message too, even without headers: the parser then records a warning.
    """
    head = head.lstrip(b"\r\n")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith(b"From ") or _HEADER_LINE.match(head) is not None:
        return True
    return bool(name) and Path(name).suffix.lower() in _MESSAGE_SUFFIXES and _is_text(head)


_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r\f\x1b")


def _is_text(head: bytes) -> bool:
    """No NUL and (almost) no other control bytes: binary formats trip this at once."""
    if not head or b"\x00" in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls * 100 <= len(head)


# -- Maildir ------------------------------------------------------------------------------


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def maildir_folder_name(root: Path, path: Path) -> str:
    """Folder name of a maildir below ``root``: Maildir++ ``.A.B`` → ``A/B``; other
    directories by relative path; the root itself is INBOX."""
    if path == root:
        return "INBOX"
    parts: list[str] = []
    for part in path.relative_to(root).parts:
        if part.startswith(".") and len(part) > 1:
            parts.extend(p for p in part[1:].split(".") if p)
        else:
            parts.append(part)
    name = "/".join(mutf7_decode(p) for p in parts)
    return "INBOX" if name.lower() == "inbox" else name


def find_maildirs(root: Path) -> list[tuple[str, Path]]:
    """Every maildir at or below ``root`` as (folder name, directory), sorted by name."""
    found: list[tuple[str, Path]] = []
    for current, dirs, _files in os.walk(root, onerror=None, followlinks=False):
        here = Path(current)
        if is_maildir(here):
            found.append((maildir_folder_name(root, here), here))
        dirs[:] = sorted(d for d in dirs if d not in ("cur", "new", "tmp"))
    return sorted(found, key=lambda pair: (pair[0] != "INBOX", pair[0].lower()))


def maildir_files(path: Path) -> list[tuple[str, Path]]:
    """(sub, file) for the message files in ``cur/`` and ``new/``, sorted by name."""
    out: list[tuple[str, Path]] = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(path / sub)
        except FileNotFoundError:
            continue
        out.extend((sub, path / sub / n) for n in sorted(names) if not n.startswith("."))
    return out


def read_maildir(
    folder: str, path: Path, skipped: list[tuple[Path, str]] | None = None
) -> Iterator[RawItem]:
    """The messages of one maildir; unreadable files are added to ``skipped``."""
    from services.email.maildir import maildir_info

    for sub, file in maildir_files(path):
        unique, flags, _other = maildir_info(file.name)
        if sub == "new":
            flags = frozenset()
        try:
            raw = file.read_bytes()
        except OSError as exc:
            if skipped is not None:
                skipped.append((file, f"unreadable: {os_reason(exc)}"))
            continue
        yield RawItem(folder=folder, remote_id=unique, raw=raw, flags=flags)


@dataclass
class MaildirSource:
    """A Maildir, a Maildir++ tree, or a directory holding several maildirs."""

    root: Path
    kind: str = "maildir"
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def folders(self) -> list[tuple[str, Path]]:
        return find_maildirs(self.root)

    def estimate(self) -> int | None:
        return sum(len(maildir_files(p)) for _, p in self.folders())

    def __iter__(self) -> Iterator[RawItem]:
        for folder, path in self.folders():
            yield from read_maildir(folder, path, self.skipped)


# -- mbox ---------------------------------------------------------------------------------

_SYSTEM_LABELS = frozenset({"unread", "opened", "starred", "important", "archived"})
_LABEL = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)')


def takeout_meta(block: bytes) -> tuple[str, frozenset[Flag], tuple[str, ...]] | None:
    """Folder, flags and labels from a Google Takeout ``X-Gmail-Labels`` header, if any."""
    value = header_value(block, b"x-gmail-labels")
    if value is None:
        return None
    text = decode_header_value(value.decode("ascii", "surrogateescape"))
    labels: list[str] = []
    for match in _LABEL.finditer(text):
        label = (match.group(1) or match.group(2) or "").strip()
        if label and label not in labels:
            labels.append(label)
        if match.end() >= len(text):
            break
    lowered = {label.lower() for label in labels}
    flags: set[Flag] = set()
    if "unread" not in lowered:
        flags.add(Flag.SEEN)
    if "starred" in lowered:
        flags.add(Flag.FLAGGED)
    if "drafts" in lowered or "draft" in lowered:
        flags.add(Flag.DRAFT)
    if "inbox" in lowered:
        folder = "INBOX"
    elif "sent" in lowered:
        folder = "Sent"
    else:
        folders = [
            label
            for label in labels
            if label.lower() not in _SYSTEM_LABELS and not label.startswith("Category ")
        ]
        folder = folders[0] if folders else "All Mail"
    return folder, frozenset(flags), tuple(labels)


def read_mbox(
    path: Path, folder: str, *, variant: str = "mboxrd", id_prefix: str = ""
) -> Iterator[RawItem]:
    """Stream the messages of an mbox file (Takeout labels and Status flags read)."""
    from services.email.mbox import flags_from_status, iter_mbox

    try:
        stream = path.open("rb", buffering=1024 * 1024)
    except OSError as exc:
        raise SourceError(f"{path}: {os_reason(exc)}") from exc
    with stream:
        for offset, raw in iter_mbox(stream, variant):
            block = header_block(raw, 64 * 1024)
            meta = (
                takeout_meta(block) if b"X-Gmail-Labels" in block or b"x-gmail" in block else None
            )
            remote_id = f"{id_prefix}mbox:{offset}"
            if meta is not None:
                item_folder, flags, labels = meta
                yield RawItem(item_folder, remote_id, raw, flags, labels)
            else:
                yield RawItem(folder, remote_id, raw, flags_from_status(block))


@dataclass
class MboxSource:
    """One mbox file (mboxrd/mboxo; Google Takeout labels become folders and flags)."""

    path: Path
    folder: str = "INBOX"
    variant: str = "mboxrd"
    kind: str = "mbox"
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def estimate(self) -> int | None:
        return None  # counting would mean reading the whole file

    def __iter__(self) -> Iterator[RawItem]:
        return read_mbox(self.path, self.folder, variant=self.variant)


# -- message files ------------------------------------------------------------------------


def _sniff(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_SNIFF)


@dataclass
class EmlDirSource:
    """A directory (searched recursively) of message files: ``.eml``, ``.txt``, anything
    that starts like a message.  Files starting with a From_ line are read as mbox files
    (folder = file name).  Other files go to ``skipped`` with a reason."""

    root: Path
    kind: str = "eml-dir"
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def _files(self) -> Iterator[Path]:
        for current, dirs, files in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(current) / name

    def estimate(self) -> int | None:
        return sum(1 for _ in self._files())

    def _folder(self, path: Path) -> str:
        parent = path.parent.relative_to(self.root)
        return "INBOX" if parent == Path(".") else parent.as_posix()

    def __iter__(self) -> Iterator[RawItem]:
        for path in self._files():
            rel = path.relative_to(self.root).as_posix()
            if path.is_symlink() or not path.is_file():
                self.skipped.append((path, "not a regular file"))
                continue
            try:
                head = _sniff(path)
                if not head.strip():
                    self.skipped.append((path, "empty file"))
                    continue
                if not looks_like_message(head, path.name):
                    self.skipped.append((path, "not a message: no header or From_ line"))
                    continue
                if head.startswith(b"From "):
                    name = path.name.removesuffix(".mbox").removesuffix(".mbx")
                    parent = self._folder(path)
                    folder = name if parent == "INBOX" else f"{parent}/{name}"
                    yield from read_mbox(path, folder, id_prefix=f"{rel}:")
                    continue
                raw = path.read_bytes()
            except (OSError, SourceError) as exc:
                reason = (
                    os_reason(exc)
                    if isinstance(exc, OSError) and not isinstance(exc, SourceError)
                    else str(exc)
                )
                self.skipped.append((path, f"unreadable: {reason}"))
                continue
            yield RawItem(folder=self._folder(path), remote_id=rel, raw=raw)


@dataclass
class EmlFileSource:
    """A single message file."""

    path: Path
    folder: str = "INBOX"
    kind: str = "eml"
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def estimate(self) -> int | None:
        return 1

    def __iter__(self) -> Iterator[RawItem]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: {os_reason(exc)}") from exc
        yield RawItem(folder=self.folder, remote_id=self.path.name, raw=raw)


def _has_message_files(root: Path) -> bool:
    source = EmlDirSource(root)
    for path in source._files():
        try:
            if path.is_file() and looks_like_message(_sniff(path), path.name):
                return True
        except OSError:
            continue
    return False


def detect_source(path: Path) -> Source:
    """What ``path`` is: a Maildir (tree), an mbox, a directory of messages or one message.

    Raises SourceError with a one-line reason when it cannot be read or is not a mailbox.
    """
    path = Path(path).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise SourceError(f"{path}: {os_reason(exc)}") from exc
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"{path}: permission denied")
        if is_maildir(path) or find_maildirs(path):
            return MaildirSource(path)
        if _has_message_files(path):
            return EmlDirSource(path)
        raise SourceError(f"{path}: not a mailbox (no Maildir, mbox or message files inside)")
    if not path.is_file():
        raise SourceError(f"{path}: not a mailbox (not a regular file or directory)")
    if info.st_size == 0:
        raise SourceError(f"{path}: not a mailbox (empty file)")
    try:
        head = _sniff(path)
    except OSError as exc:
        raise SourceError(f"{path}: {os_reason(exc)}") from exc
    if head.lstrip(b"\r\n").startswith(b"From "):
        return MboxSource(path)
    if looks_like_message(head, path.name):
        return EmlFileSource(path)
    raise SourceError(f"{path}: not a mailbox (neither an mbox nor a message file)")
