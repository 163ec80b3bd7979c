"""Writers: Maildir++ (with a background writer thread), mboxrd and one ``.eml`` per message."""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from tests.support.corpus.model import GeneratedMessage


@dataclass
class WriteStats:
    count: int = 0
    bytes: int = 0
    folders: dict[str, int] = field(default_factory=dict)


FolderChoice = bool | Callable[[GeneratedMessage], str]


def write_maildir(
    path: str | os.PathLike[str],
    messages: Iterable[GeneratedMessage],
    folders: FolderChoice = True,
    *,
    set_mtime: bool = True,
    chown: tuple[int, int] | None = None,
) -> WriteStats:
    """Write a Maildir++ tree: ``path`` is INBOX, subfolders are ``path/.Name`` (``.``-separated).

    ``folders``: True uses each message's ``folder``; False puts everything in INBOX; a callable
    maps a message to a folder name. Unseen, unflagged mail goes to ``new/``, the rest to
    ``cur/`` with ``:2,<flags>``. Files get LF line ends (as Dovecot and notmuch store them) and,
    with ``set_mtime``, the message date as mtime (Dovecot's INTERNALDATE for Maildir).
    ``chown=(uid, gid)`` hands the files to a Dovecot mail user (e.g. 65534 when root).
    """
    root = Path(path)
    stats = WriteStats()
    made: dict[str, Path] = {}

    def folder_dir(name: str) -> Path:
        d = made.get(name)
        if d is None:
            d = root if name == "INBOX" else root / f".{name}"
            for sub in ("cur", "new", "tmp"):
                (d / sub).mkdir(parents=True, exist_ok=True)
            if name != "INBOX":
                (d / "maildirfolder").touch()
            if chown is not None:
                for p in (d, d / "cur", d / "new", d / "tmp"):
                    os.chown(p, *chown)
                if d != root:
                    os.chown(root, *chown)
            made[name] = d
        return d

    folder_dir("INBOX")

    def write(target: Path, data: bytes, ts: int) -> None:
        with open(target, "wb") as f:
            f.write(data)
        if set_mtime:
            os.utime(target, (ts, ts))
        if chown is not None:
            os.chown(target, *chown)

    # File I/O releases the GIL: writer threads overlap it with generating the next messages.
    with _BackgroundWriter(write) as writer:
        for msg in messages:
            if folders is True:
                name = msg.folder
            elif folders is False:
                name = "INBOX"
            else:
                name = folders(msg)
            d = folder_dir(name)
            data = msg.raw.replace(b"\r\n", b"\n")
            ts = int(msg.date.timestamp())
            info = msg.maildir_info
            base = f"{ts}.M{msg.index:06d}P0.corpus,S={len(data)}"  # deterministic names
            target = d / "cur" / f"{base}:2,{info}" if info else d / "new" / base
            writer.submit(target, data, ts)
            stats.count += 1
            stats.bytes += len(data)
            stats.folders[name] = stats.folders.get(name, 0) + 1
    return stats


class _BackgroundWriter:
    """Run ``fn(*args)`` on a writer thread through a bounded queue; re-raise the first error.

    One thread measured best here (100k messages: 31.6 s vs 35.5 s inline, 45.9 s with two).
    """

    def __init__(self, fn: Callable[..., None], threads: int = 1, depth: int = 512) -> None:
        self.fn = fn
        self.queue: queue.Queue[tuple[object, ...] | None] = queue.Queue(depth)
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if not self.errors:
                try:
                    self.fn(*item)
                except BaseException as exc:
                    self.errors.append(exc)

    def submit(self, *args: object) -> None:
        if self.errors:
            raise self.errors[0]
        self.queue.put(args)

    def __enter__(self) -> _BackgroundWriter:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        if self.errors and exc[0] is None:
            raise self.errors[0]


_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def write_mbox(path: str | os.PathLike[str], messages: Iterable[GeneratedMessage]) -> WriteStats:
    """Write one mboxrd file (``From `` separators, ``>From`` quoting, LF line ends)."""
    stats = WriteStats()
    with open(path, "wb") as f:
        for msg in messages:
            data = _FROM_LINE.sub(rb">\1", msg.raw.replace(b"\r\n", b"\n"))
            when = msg.date.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
            f.write(f"From {msg.sender} {when}\n".encode("ascii"))
            f.write(data)
            if not data.endswith(b"\n"):
                f.write(b"\n")
            f.write(b"\n")
            stats.count += 1
            stats.bytes += len(data)
    stats.folders["INBOX"] = stats.count
    return stats


def write_eml_dir(path: str | os.PathLike[str], messages: Iterable[GeneratedMessage]) -> WriteStats:
    """Write one ``NNNNNN.eml`` file per message (CRLF line ends, as mail clients export)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    stats = WriteStats()
    for msg in messages:
        (root / f"{msg.index:06d}.eml").write_bytes(msg.raw)
        stats.count += 1
        stats.bytes += len(msg.raw)
    stats.folders["INBOX"] = stats.count
    return stats
