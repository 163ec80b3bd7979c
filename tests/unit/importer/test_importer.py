from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from services.errors import SourceError
from services.importer import import_path
from services.models import Flag
from services.query.ast import FlagIs, Term, TextField
from services.store import Store
from tests.unit.store.helpers import Q, make_raw

GARBAGE = b"\x00\x01\x02garbage\xff\xfe not a message at all \x80\x81 readablebit\n"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "db" / "commhub.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def _maildir(root: Path, raws: list[bytes], folder: str = "", flags: str = "S") -> Path:
    base = root / f".{folder}" if folder else root
    for sub in ("cur", "new", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (base / "cur" / f"17000000{i:02d}.M{i}P1.test:2,{flags}").write_bytes(raw)
    return root


@pytest.mark.parametrize("workers", [0, 2])
def test_maildir_import_then_reimport_adds_nothing(
    store: Store, tmp_path: Path, workers: int
) -> None:
    root = _maildir(tmp_path / "Maildir", [make_raw(i) for i in range(30)])
    _maildir(root, [make_raw(100 + i, subject=f"sent {i}") for i in range(5)], "Sent", "")
    calls: list[tuple[int, int | None]] = []
    report = import_path(store, root, progress=lambda d, t: calls.append((d, t)),
                         workers=workers)
    assert (report.source_kind, report.seen, report.added, report.duplicates) == (
        "maildir", 35, 35, 0)
    assert report.seconds > 0 and report.skipped == []
    assert calls and calls[-1][0] == 35
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert store.count(Q(FlagIs(Flag.SEEN))) == 30
    assert store.count(Q(Term(TextField.FOLDER, "sent"))) == 5
    assert [a.provider for a in store.accounts()] == ["maildir"]
    again = import_path(store, root, workers=workers)
    assert (again.added, again.duplicates, again.seen) == (0, 35, 35)
    assert store.account_stats() == {"local": 35}


def test_mbox_import_with_a_parse_failure_kept_raw(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mail.mbox"
    box = mailbox.mbox(str(path))
    for i in range(4):
        box.add(make_raw(i, body=f"mbox body {i}"))
    box.add(GARBAGE)
    box.flush()
    box.close()
    report = import_path(store, path, account="archive", workers=0)
    assert report.source_kind == "mbox"
    assert report.added == 5 and report.warnings_count >= 1
    [bad] = store.search_ids(Q(Term(TextField.ANY, "readablebit")))
    message = store.get(bad)
    assert message.parse_warnings
    assert GARBAGE.rstrip(b"\n") in store.raw(bad)
    assert store.count(Q(Term(TextField.BODY, "mbox body", phrase=True))) == 4
    assert import_path(store, path, account="archive", workers=0).added == 0


def test_eml_dir_with_skipped_files(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "emls"
    folder.mkdir()
    for i in range(3):
        (folder / f"m{i}.eml").write_bytes(make_raw(i))
    (folder / "notes.txt").write_bytes(b"\x89PNG\r\n\x1a\n binary stuff")
    (folder / ".hidden").write_bytes(make_raw(9))
    report = import_path(store, folder, workers=0)
    assert report.source_kind == "eml-dir"
    assert report.added == 3
    assert any("notes.txt" in p for p, _ in report.skipped)
    single = import_path(store, folder / "m0.eml", account="one", workers=0)
    assert single.added == 1


def test_missing_path_is_a_source_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        import_path(store, tmp_path / "nope")


def test_pool_import_matches_inline_import(tmp_path: Path) -> None:
    root = _maildir(tmp_path / "md", [make_raw(i, in_reply_to=f"m{i - 1}@test.example" if i
                                               else None) for i in range(450)])
    results = []
    for workers in (0, 2):
        with Store.open(tmp_path / f"db{workers}.sqlite3") as s:
            report = import_path(s, root, workers=workers)
            assert report.added == 450
            results.append(sorted((m.message_id, m.subject) for m in s.search(Q())))
            assert len({m.thread_id for m in s.search(Q())}) == 1
    assert results[0] == results[1]
