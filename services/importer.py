"""Import a Maildir, mbox, folder of .eml files or one .eml into the store.

Pipeline: the main thread iterates ``detect_source(path)`` and drops what the
store already has *before parsing* (sha256 of the raw bytes and (folder,
remote id), checked against sets loaded once); the rest goes in chunks to a
process pool that parses and prepares rows (hashing, compression, codec); the
prepared batches go to the store's single writer, which commits them while the
pool keeps parsing.  ``workers=0`` parses in-process (small imports, tests).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from services.models import Flag, Message
from services.store import IngestResult, PreparedMessage, Store, prepare
from services.store.blobs import Codec

if TYPE_CHECKING:
    from services.email.sources import Source

__all__ = ["ImportReport", "import_path", "parse_chunk"]

Progress = Callable[[int, int | None], None]
Item = tuple[str, str | None, bytes, frozenset[Flag], tuple[str, ...]]

CHUNK = 200  # items per pool task
WRITE_BATCH = 2000  # messages per transaction
_PROVIDERS = {"maildir": "maildir", "mbox": "mbox"}
_SMALL = 300  # below this many messages (when known) a pool is not worth starting
_BULK = 5000  # from this many messages: FTS automerge off during the import, merge after
_AUTOMERGE = 8  # the schema's FTS automerge level, restored after a bulk import


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did.  ``seen`` counts messages read from the source;
    ``skipped`` lists ``(path, reason)`` of files that were not messages."""

    source_kind: str
    seen: int = 0
    added: int = 0
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings_count: int = 0
    seconds: float = 0.0


def _parse_one(raw: bytes, account: str, folder: str, remote_id: str | None) -> Message:
    from services.mime.parse import parse_message

    try:
        message = parse_message(raw, account=account, folder=folder, remote_id=remote_id)
    except Exception as exc:  # the parser promises not to raise; never lose the raw anyway
        message = Message(
            account=account, folder=folder, remote_id=remote_id, size=len(raw),
            parse_warnings=(f"message could not be parsed: {type(exc).__name__}: {exc}",),
        )
    if not message.body_text and not message.subject and not message.attachments:
        # nothing readable came out: index whatever text the bytes hold
        text = "".join(ch if ch.isprintable() or ch in "\n\t" else " "
                       for ch in raw.decode("utf-8", "replace"))
        message.body_text = text
        message.snippet = message.snippet or " ".join(text[:400].split())[:200]
        message.parse_warnings = (*message.parse_warnings, "indexed the raw bytes as text")
    return message


def parse_chunk(codec: Codec, account: str, items: list[Item]) -> list[PreparedMessage]:
    """Parse and prepare a chunk of raw items (runs in a worker process)."""
    out: list[PreparedMessage] = []
    for folder, remote_id, raw, flags, labels in items:
        message = _parse_one(raw, account, folder, remote_id)
        message.flags = flags
        out.append(prepare(message, raw, codec, labels=labels))
    return out


class _InlineExecutor(Executor):
    """Runs tasks at submit time (``workers=0``)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _Pipeline:
    def __init__(self, store: Store, account: str, executor: Executor, inflight: int,
                 progress: Progress | None, total: int | None) -> None:
        self.store = store
        self.account = account
        self.executor = executor
        self.inflight = inflight
        self.progress = progress
        self.total = total
        self.parsing: deque[tuple[Future[list[PreparedMessage]], int]] = deque()
        self.writing: deque[Future[IngestResult]] = deque()
        self.buffer: list[PreparedMessage] = []
        self.result = IngestResult()
        self.done = 0
        self._last_progress = 0.0

    def tick(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= 0.1:
            self._last_progress = now
            self.progress(self.done, self.total)

    def submit(self, chunk: list[Item]) -> None:
        future = self.executor.submit(parse_chunk, self.store.codec, self.account, chunk)
        self.parsing.append((future, len(chunk)))
        while len(self.parsing) > self.inflight:
            self._collect_one()

    def _collect_one(self) -> None:
        future, size = self.parsing.popleft()
        self.buffer.extend(future.result())
        self.done += size
        if len(self.buffer) >= WRITE_BATCH:
            self._flush()
        while self.writing and self.writing[0].done():
            self.result += self.writing.popleft().result()
        self.tick()

    def _flush(self) -> None:
        if self.buffer:
            self.writing.append(self.store.submit_prepared(self.buffer))
            self.buffer = []

    def finish(self) -> IngestResult:
        while self.parsing:
            self._collect_one()
        self._flush()
        while self.writing:
            self.result += self.writing.popleft().result()
        return self.result


def _executor(workers: int) -> Executor:
    if workers <= 0:
        return _InlineExecutor()
    # spawn: never fork a process that runs the store's writer thread; no sockets either
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def import_path(
    store: Store,
    path: Path | str,
    *,
    account: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import every message under ``path`` into ``account`` (default ``"local"``).

    Re-importing adds nothing.  Raises :class:`services.errors.SourceError` when
    ``path`` is not something we can read.
    """
    from services.email.sources import detect_source

    started = time.monotonic()
    source = detect_source(Path(path).expanduser())
    name = account or "local"
    if name not in {a.name for a in store.accounts()}:
        store.ensure_account(name, _PROVIDERS.get(source.kind, "import"))
    total = source.estimate()
    if workers is None:
        workers = os.cpu_count() or 1
        if total is not None and total < _SMALL:
            workers = 0
    bulk = total is not None and total >= _BULK
    if bulk:  # no segment merging while loading; one merge at the end
        store.set_fts_automerge(0)
    try:
        result, seen, duplicates, skipped = _run(store, source, name, workers, progress, total)
    finally:
        if bulk:
            store.set_fts_automerge(_AUTOMERGE)
    if bulk and result.added:
        store.optimize()  # merge the FTS segments, refresh planner statistics
    skipped = [(str(p), str(r)) for p, r in getattr(source, "skipped", [])] + skipped
    return ImportReport(
        source_kind=source.kind,
        seen=seen,
        added=result.added,
        duplicates=duplicates + result.duplicates,
        skipped=skipped,
        warnings_count=result.warnings,
        seconds=time.monotonic() - started,
    )


def _run(store: Store, source: Source, name: str, workers: int, progress: Progress | None,
         total: int | None) -> tuple[IngestResult, int, int, list[tuple[str, str]]]:
    known = store.known_hashes(name)
    known_remote = store.known_remote_ids(name)
    seen = duplicates = 0
    skipped: list[tuple[str, str]] = []
    with _executor(workers) as executor:
        pipe = _Pipeline(store, name, executor, max(2, 2 * workers), progress, total)
        chunk: list[Item] = []
        for item in source:
            seen += 1
            raw = item.raw
            if not raw.strip():
                skipped.append((f"{item.folder}/{item.remote_id}", "empty message"))
                pipe.done += 1
                continue
            sha = hashlib.sha256(raw).hexdigest()
            remote = (item.folder, item.remote_id)
            if sha in known or remote in known_remote:
                duplicates += 1
                pipe.done += 1
                pipe.tick()
                continue
            known.add(sha)
            known_remote.add(remote)
            chunk.append((item.folder, item.remote_id, raw, frozenset(item.flags),
                          tuple(item.labels)))
            if len(chunk) >= CHUNK:
                pipe.submit(chunk)
                chunk = []
        if chunk:
            pipe.submit(chunk)
        result = pipe.finish()
    pipe.tick(force=True)
    return result, seen, duplicates, skipped
