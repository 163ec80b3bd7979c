"""A local Maildir account (read and write): Maildir++ folders, delivery through ``tmp/``,
flags in the ``:2,`` info suffix."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from services.email.sources import RawItem, find_maildirs, os_reason, read_maildir
from services.errors import SourceError
from services.mime.mutf7 import mutf7_encode
from services.models import Flag

__all__ = [
    "MAILDIR_LETTERS",
    "MaildirAccount",
    "flags_from_maildir",
    "maildir_info",
    "maildir_suffix",
]

MAILDIR_LETTERS = {
    "D": Flag.DRAFT,
    "F": Flag.FLAGGED,
    "R": Flag.ANSWERED,
    "S": Flag.SEEN,
    "T": Flag.DELETED,
}
_LETTER_OF = {flag: letter for letter, flag in MAILDIR_LETTERS.items()}


def maildir_info(name: str) -> tuple[str, frozenset[Flag], str]:
    """``"123.abc.host:2,FSx"`` → (unique name, flags, unknown letters kept as they were)."""
    unique, sep, info = name.partition(":")
    if not sep or not info.startswith("2,"):
        return unique, frozenset(), ""
    letters = info[2:]
    flags = frozenset(MAILDIR_LETTERS[c] for c in letters if c in MAILDIR_LETTERS)
    other = "".join(c for c in letters if c not in MAILDIR_LETTERS)
    return unique, flags, other


def flags_from_maildir(name: str) -> frozenset[Flag]:
    return maildir_info(name)[1]


def maildir_suffix(flags: frozenset[Flag], other: str = "") -> str:
    letters = sorted({_LETTER_OF[f] for f in flags} | set(other))
    return ":2," + "".join(letters)


_counter = itertools.count()


def _unique_name() -> str:
    now = time.time()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_counter)}.{host}"


class MaildirAccount:
    """A Maildir++ mailbox: the root is INBOX, ``.A.B`` is folder ``A/B``."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            if not create:
                raise SourceError(f"{self.path}: no such Maildir (use create=True to make one)")
            self._make(self.path)
        elif not self.path.is_dir():
            raise SourceError(f"{self.path}: not a Maildir (not a directory)")

    @staticmethod
    def _make(path: Path) -> None:
        try:
            for sub in ("cur", "new", "tmp"):
                (path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"{path}: cannot create Maildir: {os_reason(exc)}") from exc

    def folders(self) -> list[str]:
        try:
            return [name for name, _ in find_maildirs(self.path)]
        except OSError as exc:
            raise SourceError(f"{self.path}: {os_reason(exc)}") from exc

    def _dir(self, folder: str, *, create: bool = False) -> Path:
        for name, path in find_maildirs(self.path):
            if name == folder or (folder.upper() == "INBOX" and name == "INBOX"):
                return path
        if not create:
            raise SourceError(f"{self.path}: no folder {folder!r}")
        parts = [p for p in folder.split("/") if p]
        if not parts or any(p in (".", "..") or "." in p for p in parts):
            raise SourceError(f"bad folder name {folder!r}: empty part or '.' in a name")
        path = self.path / ("." + ".".join(mutf7_encode(p) for p in parts))
        self._make(path)
        (path / "maildirfolder").touch()
        return path

    def iter_folder(self, name: str) -> Iterator[RawItem]:
        folder = self._dir(name)
        return read_maildir(name, folder, None)

    def append(self, folder: str, raw: bytes, flags: frozenset[Flag] = frozenset()) -> str:
        """Deliver ``raw`` (through tmp/, then new/ or cur/ with flags); returns its unique name."""
        target = self._dir(folder, create=True)
        unique = _unique_name()
        tmp = target / "tmp" / unique
        final = (
            target / "cur" / (unique + maildir_suffix(flags)) if flags else target / "new" / unique
        )
        try:
            with tmp.open("xb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"{target}: cannot deliver message: {os_reason(exc)}") from exc
        return unique

    def _find(self, folder: str, remote_id: str) -> Path:
        path = self._dir(folder)
        for sub in ("cur", "new"):
            try:
                names = os.listdir(path / sub)
            except OSError:
                continue
            for name in names:
                if name.partition(":")[0] == remote_id:
                    return path / sub / name
        raise SourceError(f"{path}: no message {remote_id!r} in folder {folder!r}")

    def set_flags(self, folder: str, remote_id: str, flags: frozenset[Flag]) -> None:
        """Replace the message's flags (renaming it into cur/; unknown letters are kept)."""
        current = self._find(folder, remote_id)
        _unique, _old, other = maildir_info(current.name)
        target = current.parent.parent / "cur" / (remote_id + maildir_suffix(flags, other))
        if target != current:
            try:
                os.rename(current, target)
            except OSError as exc:
                raise SourceError(f"{current}: cannot set flags: {os_reason(exc)}") from exc

    def delete(self, folder: str, remote_id: str) -> None:
        current = self._find(folder, remote_id)
        try:
            current.unlink()
        except OSError as exc:
            raise SourceError(f"{current}: cannot delete: {os_reason(exc)}") from exc
