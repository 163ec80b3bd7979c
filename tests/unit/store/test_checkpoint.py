"""WAL checkpoints run on the checkpointer's thread, not the writer's: after a big enough
commit the database file alone holds the data; small commits leave it to SQLite's
backstop; a checkpointer that cannot open its connection leaves writing intact; closing
the store ends the thread and removes the WAL."""

from __future__ import annotations

import functools
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.errors import StoreError
from services.store import Store
from services.store.checkpoint import BACKSTOP_PAGES, WAKE_CHANGES, Checkpointer
from services.store.cipher import DatabaseKey
from services.store.events import StoreEvent
from services.store.writer import Writer, connect
from tests.unit.store.helpers import item, make_raw


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _subjects_in_file_alone(db: Path, tmp_path: Path) -> set[str]:
    """The subjects the main database file holds without its WAL (a copy, opened alone;
    none before the first checkpoint has copied even the schema)."""
    copy = tmp_path / "alone.sqlite3"
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages'").fetchone() is None:
            return set()
        return {str(r[0]) for r in conn.execute("SELECT subject FROM messages")}
    finally:
        conn.close()


def _bulk(store: Store, start: int, n: int) -> None:
    store.ingest([item(make_raw(i, subject=f"bulk {i}")) for i in range(start, start + n)])


def test_a_big_commit_is_checkpointed_off_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "commhub.sqlite3"
    with Store.open(path) as store:
        checkpointer = store._writer._checkpointer
        assert checkpointer is not None
        _bulk(store, 0, 5)  # a handful of rows: no wake, SQLite's backstop is far away
        time.sleep(0.2)
        assert checkpointer.runs == 0
        assert _subjects_in_file_alone(path, tmp_path) == set()
        _bulk(store, 5, 200)  # participants, FTS, msgids...: over WAKE_CHANGES rows
        _wait_for(lambda: checkpointer.runs >= 1)
        assert _subjects_in_file_alone(path, tmp_path) == {f"bulk {i}" for i in range(205)}
        assert store.read_rows("SELECT count(*) FROM messages")[0][0] == 205


def test_the_write_connection_keeps_sqlite_s_checkpoint_as_a_backstop(tmp_path: Path) -> None:
    with Store.open(tmp_path / "commhub.sqlite3") as store:
        pages = store._writer.call(
            lambda conn: (conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0], []))
    assert pages == BACKSTOP_PAGES
    assert BACKSTOP_PAGES * 4096 <= 64 * 2**20 and WAKE_CHANGES > 0


def test_a_checkpointer_that_cannot_connect_leaves_writes_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse() -> sqlite3.Connection:
        raise StoreError("cannot open the database: disk I/O error")

    caplog.set_level(logging.WARNING, "services.store.checkpoint")
    checkpointer = Checkpointer(refuse)
    conn = connect(tmp_path / "db.sqlite3")
    conn.execute("CREATE TABLE t (x INTEGER)")
    writer = Writer(conn, lambda events: None, checkpointer=checkpointer)

    def insert(c: sqlite3.Connection, start: int) -> tuple[None, list[StoreEvent]]:
        rows = [(i,) for i in range(start, start + WAKE_CHANGES)]
        c.executemany("INSERT INTO t VALUES (?)", rows)
        return None, []

    def count(c: sqlite3.Connection) -> tuple[int, list[StoreEvent]]:
        return int(c.execute("SELECT count(*) FROM t").fetchone()[0]), []

    for start in range(0, 3 * WAKE_CHANGES, WAKE_CHANGES):
        writer.call(functools.partial(insert, start=start))
    total = writer.call(count)
    writer.close()
    assert total == 3 * WAKE_CHANGES
    assert checkpointer.runs == 0
    assert caplog.text.count("no background checkpoints") == 1  # said once


def test_closing_the_store_ends_the_thread_and_removes_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "commhub.sqlite3"
    store = Store.open(path)
    checkpointer = store._writer._checkpointer
    assert checkpointer is not None
    _bulk(store, 0, 200)
    _wait_for(lambda: checkpointer.runs >= 1)
    store.close()
    assert not checkpointer._thread.is_alive()
    assert not path.with_name(path.name + "-wal").exists()
    assert _subjects_in_file_alone(path, tmp_path) == {f"bulk {i}" for i in range(200)}


def test_an_encrypted_store_is_checkpointed_with_its_key(tmp_path: Path) -> None:
    path, key = tmp_path / "commhub.sqlite3", DatabaseKey.generate()
    with Store.open(path, key=key) as store:
        checkpointer = store._writer._checkpointer
        assert checkpointer is not None
        _bulk(store, 0, 200)
        _wait_for(lambda: checkpointer.runs >= 1)
    with Store.open(path, key=key) as store:
        assert store.read_rows("SELECT count(*) FROM messages")[0][0] == 200


def test_the_checkpoint_connection_is_opened_only_when_first_needed(tmp_path: Path) -> None:
    """A short-lived store (a command-line search) never opens it."""
    opened: list[Path] = []

    def spy() -> sqlite3.Connection:
        opened.append(tmp_path)
        return connect(tmp_path / "db.sqlite3")

    idle = Checkpointer(spy)
    idle.close()
    assert opened == [] and idle.runs == 0
    woken = Checkpointer(spy)
    woken.wake()
    _wait_for(lambda: woken.runs == 1)
    woken.close()
    assert len(opened) == 1
