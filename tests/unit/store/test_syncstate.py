from __future__ import annotations

from pathlib import Path

import pytest

from services.errors import NotFound
from services.models import Message
from services.store import Store
from services.store.syncstate import (
    SyncState,
    delete_sync_state,
    get_sync_state,
    put_sync_state,
    remote_ids,
)


def test_sync_state_round_trip_and_remote_ids(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        store.ensure_account("work", "imap")
        assert get_sync_state(store, "work", "INBOX") is None
        put_sync_state(store, "work", "INBOX", SyncState(7, 101, 555))
        put_sync_state(store, "work", "INBOX", SyncState(7, 102, 560, None))
        assert get_sync_state(store, "work", "INBOX") == SyncState(7, 102, 560, None)
        raw = b"From: a@x.example\r\nSubject: same bytes\r\n\r\nbody\r\n"
        result = store.ingest(
            [(Message(account="work", folder="INBOX", remote_id="5", subject="x"), raw),
             (Message(account="work", folder="Archive", remote_id="9", subject="x"), raw)],
            dedupe_content=False,
        )
        assert result.added == 2  # same bytes in two server folders: two objects
        assert remote_ids(store, "work", "INBOX") == {"5": result.ids[0]}
        again = store.ingest([(Message(account="work", folder="INBOX", remote_id="5"), raw)],
                             dedupe_content=False)
        assert again.added == 0 and again.duplicates == 1
        delete_sync_state(store, "work", "INBOX")
        assert get_sync_state(store, "work", "INBOX") is None
        with pytest.raises(NotFound):
            put_sync_state(store, "nobody", "INBOX", SyncState())


def test_import_still_dedupes_by_content(tmp_path: Path) -> None:
    raw = b"From: a@x.example\r\nSubject: once\r\n\r\nbody\r\n"
    with Store.open(tmp_path / "db.sqlite3") as store:
        store.ensure_account("local", "maildir")
        first = store.ingest([(Message(account="local", folder="INBOX", remote_id="a"), raw)])
        second = store.ingest([(Message(account="local", folder="Old", remote_id="b"), raw)])
        assert (first.added, second.added, second.duplicates) == (1, 0, 1)
