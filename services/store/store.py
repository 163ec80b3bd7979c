"""The local message store: one SQLite database (WAL) for every channel.

Thread-safe: writes go through one writer thread (:mod:`services.store.writer`),
reads use one connection per calling thread.  Change events reach subscribers
after each committed batch, on the writer thread.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from services.errors import NotFound, StoreError
from services.models import Account, ChannelKind, Flag, Message
from services.store.blobs import Codec, PlainCodec, decode_blob, read_blob
from services.store.checkpoint import BACKSTOP_PAGES, Checkpointer
from services.store.cipher import DB_ERRORS, DatabaseKey
from services.store.events import IngestResult, StoreEvent
from services.store.ingest import WriterState, delete_messages, ingest_batch
from services.store.migrations import migrate
from services.store.prepare import PreparedMessage, bits_to_flags, flags_to_bits, prepare
from services.store.rows import SUMMARY_FROM, SUMMARY_SELECT, load_summaries, rows_to_messages
from services.store.search import FTS_IN as _FTS_IN
from services.store.search import Compiled, QueryLike, compile_node, order_by
from services.store.writer import Writer, connect

__all__ = ["BATCH_SIZE", "Store"]

BATCH_SIZE = 1000
_SCAN_FACTOR = 20  # see Store._date_plan
_IDS_IN = "m.id IN (SELECT value FROM json_each(?))"
# Column-driven plans (see Store._column_side): the full-text hits become a lookup set
# and the index of the other conjunct drives.  Costs per row, measured on 100k
# messages: looking a hit's row up ~0.6 µs; putting a hit in the set ~0.1 µs; reading
# an index entry and probing the set ~0.13 µs (break-even measured at ~2.2 entries
# per hit).  A newest-first page walking the date index may read every entry when
# hits are rare (~25 ms on 100k), so a page reads a bounded index range instead.
_COLUMN_RATIO = 2
_COUNT_CAP = 4096  # the most index entries a count reads instead of looking hits up
_PAGE_CAP = 8192  # ... and a page (instead of walking the date index)
_FTS_PROBE = 1024  # fewer full-text hits than this: looking them up costs little
_log = logging.getLogger(__name__)
T = TypeVar("T")
Subscriber = Callable[[StoreEvent], None]


class Store:
    """Open with :meth:`open`; close with :meth:`close` (or use as a context manager)."""

    def __init__(self, path: Path, codec: Codec, writer_conn: sqlite3.Connection,
                 key: DatabaseKey | None = None) -> None:
        self.path = path
        self.codec = codec
        self._key = key
        self._state = WriterState()
        self._subscribers: list[Subscriber] = []
        self._sub_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        checkpointer = Checkpointer(lambda: connect(path, key=key))
        self._writer = Writer(writer_conn, self._dispatch, checkpointer=checkpointer)

    @classmethod
    def open(cls, path: Path | str, *, codec: Codec | None = None,
             key: DatabaseKey | None = None) -> Store:
        """Open (creating and migrating) the database at ``path``; ``key``: an encrypted
        store (see :mod:`services.security.encryption` for where keys come from)."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc}") from exc
        conn = connect(path, key=key)
        try:
            migrate(conn)
            conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
        except DB_ERRORS as exc:
            conn.close()
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(path, codec or PlainCodec(), conn, key)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True, key=self._key)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._reader().execute(sql, tuple(params)).fetchall()
        except DB_ERRORS as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    def _dispatch(self, events: list[StoreEvent]) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:
                    _log.exception("store subscriber %r failed", callback)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(StoreEvent)`` after each committed batch; returns unsubscribe."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # -- accounts ------------------------------------------------------------------
    def ensure_account(
        self,
        name: str,
        provider: str,
        channel: ChannelKind = ChannelKind.EMAIL,
        address: str = "",
        config: Mapping[str, Any] | None = None,
    ) -> Account:
        """Create the account or update its provider, channel, address and config."""
        cfg = json.dumps(dict(config or {}), sort_keys=True, default=str)

        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            conn.execute(
                "INSERT INTO accounts (name, provider, channel, address, config) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET provider = excluded."
                "provider, channel = excluded.channel, address = excluded.address, "
                "config = excluded.config",
                (name, provider, str(channel), address, cfg),
            )
            row = conn.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
            return int(row[0]), []

        ident = self._writer.call(task)
        return Account(name, provider, ChannelKind(channel), address, dict(config or {}), ident)

    def accounts(self) -> list[Account]:
        return [
            Account(n, p, ChannelKind(c), a, json.loads(cfg), i)
            for i, n, p, c, a, cfg in self._read(
                "SELECT id, name, provider, channel, address, config FROM accounts ORDER BY id"
            )
        ]

    def account_stats(self) -> dict[str, int]:
        """Message count per account name."""
        return {
            str(n): int(c)
            for n, c in self._read(
                "SELECT a.name, (SELECT count(*) FROM messages m WHERE m.account_id = a.id) "
                "FROM accounts a"
            )
        }

    def folders(self, account: str) -> list[str]:
        return [str(r[0]) for r in self._read(
            "SELECT f.name FROM folders f JOIN accounts a ON a.id = f.account_id "
            "WHERE a.name = ? ORDER BY f.name", (account,)
        )]

    def known_hashes(self, account: str) -> set[str]:
        """sha256 of every raw message stored for ``account`` (cheap pre-parse dedupe)."""
        return {str(r[0]) for r in self._read(
            "SELECT m.sha256 FROM messages m JOIN accounts a ON a.id = m.account_id "
            "WHERE a.name = ?", (account,)
        )}

    def known_remote_ids(self, account: str) -> set[tuple[str, str]]:
        """``(folder, remote_id)`` of every message of ``account`` that has one."""
        return {(str(f), str(r)) for f, r in self._read(
            "SELECT f.name, m.remote_id FROM messages m JOIN folders f ON f.id = m.folder_id "
            "JOIN accounts a ON a.id = m.account_id WHERE a.name = ? AND m.remote_id IS NOT NULL",
            (account,),
        )}

    # -- writing -------------------------------------------------------------------
    def ingest(
        self, items: Iterable[tuple[Message, bytes]], *, dedupe_content: bool = True
    ) -> IngestResult:
        """Store messages with their raw bytes; dedupes, threads and indexes them.

        ``dedupe_content=False`` for server accounts (see ``ingest_batch``)."""
        total = IngestResult()
        batch: list[PreparedMessage] = []
        for message, raw in items:
            if not isinstance(raw, bytes | bytearray):
                raise TypeError("raw must be bytes")
            batch.append(prepare(message, bytes(raw), self.codec))
            if len(batch) >= BATCH_SIZE:
                total += self.ingest_prepared(batch, dedupe_content=dedupe_content)
                batch = []
        if batch:
            total += self.ingest_prepared(batch, dedupe_content=dedupe_content)
        return total

    def submit_prepared(
        self, batch: Sequence[PreparedMessage], *, dedupe_content: bool = True
    ) -> Future[IngestResult]:
        """Queue one batch (one transaction) without waiting; blocks if the queue is full."""
        state = self._state
        items = list(batch)

        def task(conn: sqlite3.Connection) -> tuple[IngestResult, list[StoreEvent]]:
            try:
                return ingest_batch(conn, state, items, dedupe_content=dedupe_content)
            except BaseException:
                state.clear()  # ids cached during a rolled-back transaction are void
                raise

        return self._writer.submit(task)

    def ingest_prepared(
        self, batch: Sequence[PreparedMessage], *, dedupe_content: bool = True
    ) -> IngestResult:
        return self.submit_prepared(batch, dedupe_content=dedupe_content).result()

    # -- generic access for store extensions (sync state, outbox, ...) ---------------
    def write(self, fn: Callable[[sqlite3.Connection], tuple[T, list[StoreEvent]]]) -> T:
        """Run ``fn(conn) -> (result, events)`` on the writer thread in one transaction."""
        return self._writer.call(fn)

    def read_rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Rows of a read-only query on this thread's reader connection."""
        return self._read(sql, params)

    def set_flags(
        self,
        message_id: int,
        add: Iterable[Flag] = (),
        remove: Iterable[Flag] = (),
    ) -> frozenset[Flag]:
        """Add and remove flags; returns the message's flags afterwards."""
        plus, minus = flags_to_bits(frozenset(add)), flags_to_bits(frozenset(remove))

        def task(conn: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
            row = conn.execute(
                "UPDATE messages SET flags = (flags | ?) & ~? WHERE id = ? RETURNING flags",
                (plus, minus, message_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no message with id {message_id}")
            return int(row[0]), [StoreEvent("flags", (message_id,))]

        return bits_to_flags(self._writer.call(task))

    def delete(self, ids: Iterable[int]) -> int:
        """Remove messages (index rows and unused blobs too); returns how many."""
        wanted = list(ids)
        codec = self.codec
        return self._writer.call(lambda conn: delete_messages(conn, wanted, codec))

    def remove_account(self, name: str) -> None:
        """Delete an account with all its messages (index rows and blobs included)."""
        rows = self._read(
            "SELECT m.id FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.name = ?",
            (name,),
        )
        if not self._read("SELECT 1 FROM accounts WHERE name = ?", (name,)):
            raise NotFound(f"no account named {name!r}")
        self.delete(int(r[0]) for r in rows)

        def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
            conn.execute("DELETE FROM accounts WHERE name = ?", (name,))
            return None, []

        self._writer.call(task)

    # -- reading -------------------------------------------------------------------
    def _loader(self, message_id: int, part_id: str) -> Callable[[], bytes]:
        def load() -> bytes:
            from services.mime.parse import attachment_bytes

            return attachment_bytes(self.raw(message_id), part_id)

        return load

    def _has(self, sql: str, params: Sequence[object], n: int) -> bool:
        """Whether ``sql`` (a SELECT) yields at least ``n`` rows (it stops there)."""
        return bool(self._read(f"{sql} LIMIT 1 OFFSET ?", (*params, n - 1)))

    def _column_side(self, compiled: Compiled, *, fts_at_least: int = 0,
                     cap: int = _COUNT_CAP, ratio: int = _COLUMN_RATIO) -> int | None:
        """Index entries the conjunct after the full-text driver reads, when reading
        them and filtering by the hit set is cheaper than looking every hit up (fewer
        than ``ratio`` entries per hit, and fewer than ``cap``; ``ratio=0``: fewer than
        ``cap``, returned as ``cap - 1``); None otherwise.  Decided with bounded
        probes so that deciding costs a fraction of either plan.  ``fts_at_least``:
        hits already known to exist."""
        rest = compiled.rest
        if rest is None or not compiled.rest_indexed or compiled.fts_driver is None:
            return None
        fts = ("SELECT 1 FROM fts WHERE fts MATCH ?", (compiled.fts_driver,))
        known = fts_at_least
        if known < _FTS_PROBE:
            if not self._has(*fts, _FTS_PROBE):
                return None  # few hits: looking them up costs little
            known = _FTS_PROBE
        where, params = rest
        if self._has(f"SELECT 1 FROM messages m WHERE {where}", params, cap):
            return None
        if not ratio:
            return cap - 1
        side = int(self._read(f"SELECT count(*) FROM messages m WHERE {where}", params)[0][0])
        need = side // ratio  # the column side wins with more hits than this
        if need < known or self._has(*fts, need + 1):
            return side
        return None

    @staticmethod
    def _column_driven(compiled: Compiled) -> tuple[str, tuple[object, ...]]:
        """``compiled`` with the full-text part as a filter (``+m.id``: no rowid lookups,
        the hit set is built once and probed) after the indexed conjuncts."""
        assert compiled.rest is not None and compiled.fts_driver is not None
        where, params = compiled.rest
        return f"{where} AND +{_FTS_IN}", (*params, compiled.fts_driver)

    def _date_plan(self, compiled: Compiled) -> tuple[str, str, tuple[object, ...], bool]:
        """``(FROM source, where, params, sort_hits)`` for a newest-first page.

        With a full-text part every hit must satisfy (``fts_driver``), read up to
        ``sqrt(k * total)`` of its hits first (as one JSON array).  Few: every hit is
        in hand, so the page looks exactly those rows up and sorts them, without
        running the full-text query a second time.  Many, and the other conjuncts
        are served by a small index range (not a date range): read that range,
        filter by the hits and sort (``sort_hits``: order by ``+m.date``).
        Otherwise walk the date index newest first, probing the hit set (about
        ``limit * total / hits`` index entries).
        """
        default = ("messages m", compiled.where, compiled.params, False)
        if compiled.fts_driver is None:
            return default
        total = int(self._read("SELECT max(id) FROM messages")[0][0] or 0)  # bound
        enough = math.isqrt(_SCAN_FACTOR * total) + 1
        found, hits = self._read(
            "SELECT count(*), json_group_array(rowid) FROM "
            "(SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?)", (compiled.fts_driver, enough)
        )[0]
        if int(found) < enough:
            where = _IDS_IN + compiled.where[len(_FTS_IN):]
            return "messages m", where, (str(hits), *compiled.params[1:]), False
        if not compiled.rest_dated and self._column_side(
            compiled, fts_at_least=enough, cap=_PAGE_CAP, ratio=0
        ) is not None:  # reading < _PAGE_CAP entries and sorting beats a long walk
            return ("messages m", *self._column_driven(compiled), True)
        return "messages m INDEXED BY messages_date", compiled.where, compiled.params, False

    def search_ids(self, query: QueryLike) -> list[int]:
        compiled = compile_node(query.node)
        source, where, params, sort_hits = "messages m", compiled.where, compiled.params, False
        first = str(query.sort_keys[0][0]) if query.sort_keys else "date"
        if first == "date" and query.max_results is not None:
            source, where, params, sort_hits = self._date_plan(compiled)
        sql, args = self._paged(f"SELECT m.id FROM {source}", where, params, query,
                                sort_hits=sort_hits)
        return [int(r[0]) for r in self._read(sql, args)]

    def search(self, query: QueryLike) -> list[Message]:
        """Summaries (no body, no raw read) in the query's order."""
        ids = self.search_ids(query)  # ids first: the planner picks the best index alone
        return load_summaries(self._reader(), ids, self._loader)

    def count(self, query: QueryLike) -> int:
        compiled = compile_node(query.node)
        if compiled.fts_only is not None:
            rows = self._read("SELECT count(*) FROM fts WHERE fts MATCH ?", (compiled.fts_only,))
            return int(rows[0][0])
        where, params = compiled.where, compiled.params
        if self._column_side(compiled) is not None:
            where, params = self._column_driven(compiled)
        return int(self._read(f"SELECT count(*) FROM messages m WHERE {where}", params)[0][0])

    def page_after(
        self, query: QueryLike, last_date: int | None, last_id: int | None, n: int
    ) -> list[Message]:
        """Keyset page (newest first) after the row ``(last_date, last_id)``; pass
        ``last_id=None`` for the first page.  Ignores the query's sort and offset."""
        source, where, first_params, sort_hits = self._date_plan(compile_node(query.node))
        params = list(first_params)
        if last_id is not None:
            if last_date is None:
                where = f"({where}) AND m.date IS NULL AND m.id < ?"
                params.append(last_id)
            else:
                where = (f"({where}) AND (m.date < ? OR (m.date = ? AND m.id < ?) "
                         "OR m.date IS NULL)")
                params += [last_date, last_date, last_id]
        ids = [int(r[0]) for r in self._read(
            f"SELECT m.id FROM {source} WHERE {where} "
            f"ORDER BY {'+' if sort_hits else ''}m.date DESC, m.id DESC LIMIT ?",
            [*params, n],
        )]
        return load_summaries(self._reader(), ids, self._loader)

    @staticmethod
    def _paged(
        select: str, where: str, params: Sequence[object], query: QueryLike,
        *, sort_hits: bool = False,
    ) -> tuple[str, list[object]]:
        sql = f"{select} WHERE {where} {order_by(query.sort_keys, sort_hits=sort_hits)}"
        out = list(params)
        limit, offset = query.max_results, query.offset_value or 0
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            out += [-1 if limit is None else limit, offset]
        return sql, out

    def _summary(self, message_id: int) -> Message:
        found = load_summaries(self._reader(), [message_id], self._loader)
        if not found:
            raise NotFound(f"no message with id {message_id}")
        return found[0]

    def raw(self, message_id: int) -> bytes:
        """The byte-exact original."""
        rows = self._read(
            "SELECT m.raw_key, h.codec, h.data FROM messages m "
            "LEFT JOIN message_heads h ON h.message_id = m.id WHERE m.id = ?", (message_id,))
        if not rows:
            raise NotFound(f"no message with id {message_id}")
        key, head_codec, head = rows[0]
        if key is not None:
            return read_blob(self._reader(), str(key), self.codec)
        if head is not None:  # a header-only message's header block
            return decode_blob(str(head_codec), bytes(head), self.codec)
        return b""

    def body_text(self, message_id: int) -> str:
        """The indexed body text (what the FTS index holds), from the blob store."""
        rows = self._read("SELECT text_key FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise NotFound(f"no message with id {message_id}")
        if rows[0][0] is None:
            return ""
        return read_blob(self._reader(), str(rows[0][0]), self.codec).decode(
            "utf-8", "surrogatepass"
        )

    def get(self, message_id: int) -> Message:
        """The full message: e-mail re-parsed from the raw bytes, with attachment loaders."""
        summary = self._summary(message_id)
        if summary.channel != ChannelKind.EMAIL:
            return summary.with_changes(body_text=self.body_text(message_id))
        from services.mime.parse import parse_message

        raw = self.raw(message_id)
        full = parse_message(raw, account=summary.account, folder=summary.folder,
                             remote_id=summary.remote_id)
        hashes = {a.part_id: a._sha256 for a in summary.attachments}
        for att in full.attachments:
            att.loader = self._loader(message_id, att.part_id)
            att._sha256 = hashes.get(att.part_id)  # set once the attachment was analysed
        return full.with_changes(
            id=summary.id, channel=summary.channel, flags=summary.flags,
            thread_id=summary.thread_id, raw_key=summary.raw_key,
            received_at=summary.received_at,
            date=full.date or summary.date,
        )

    def thread(self, message_id: int) -> list[Message]:
        """Every message of ``message_id``'s thread, oldest first (summaries)."""
        rows = self._read("SELECT thread_id FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise NotFound(f"no message with id {message_id}")
        if rows[0][0] is None:
            return [self._summary(message_id)]
        found = self._read(
            f"{SUMMARY_SELECT}{SUMMARY_FROM} WHERE m.thread_id = ? "
            "ORDER BY m.date IS NULL, m.date, m.id",
            (rows[0][0],),
        )
        return rows_to_messages(self._reader(), found, self._loader)

    def set_fts_automerge(self, level: int) -> None:
        """FTS5 ``automerge`` (0 = off, for a bulk import that merges once at the end
        with :meth:`optimize`; the schema's default is 8).  Persistent setting."""
        def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
            conn.execute("INSERT INTO fts (fts, rank) VALUES ('automerge', ?)", (int(level),))
            return None, []

        self._writer.call(task)

    def optimize(self) -> None:
        """Refresh planner statistics and merge FTS segments (after a big import)."""
        def task(conn: sqlite3.Connection) -> tuple[None, list[StoreEvent]]:
            conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")
            conn.execute("PRAGMA analysis_limit = 1000")
            conn.execute("ANALYZE")
            return None, []

        self._writer.call(task)

    def compact(self, *, attempts: int = 20) -> bool:
        """``VACUUM`` and truncate the WAL so deleted content leaves the files (GDPR
        erasure); returns False if readers kept the WAL from being truncated."""
        conn = connect(self.path, key=self._key)
        try:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("VACUUM")
            for _ in range(attempts):
                row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if row is not None and int(row[0]) == 0:
                    return True
                time.sleep(0.05)
            return False
        except DB_ERRORS as exc:
            raise StoreError(f"cannot compact the database: {exc}") from exc
        finally:
            conn.close()
