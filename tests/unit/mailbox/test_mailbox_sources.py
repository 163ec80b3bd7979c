"""Import sources and local Maildir/mbox accounts, on real files in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.email.maildir import MaildirAccount
from services.email.mbox import MboxAccount, escape_from, iter_mbox
from services.email.sources import RawItem, detect_source, takeout_meta
from services.errors import SourceError
from services.models import Flag

M1 = b"From: a@example.com\nSubject: one\nMessage-ID: <1@x>\n\nFrom the start\n>From quoted\nbye\n"
M2 = b"From: b@example.com\r\nSubject: two\r\n\r\nbody two\r\n"
M3 = b"From: c@example.com\nSubject: three\n\n>>From deep\nend"


def make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    return path


def items(path: Path) -> list[RawItem]:
    return list(detect_source(path))


def test_maildir_with_flags_and_maildirpp_folders(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Mail")
    (root / "cur" / "100.a.host:2,FS").write_bytes(M1)
    (root / "new" / "101.b.host").write_bytes(M2)
    (root / "cur" / ".hidden").write_bytes(b"x")
    sub = make_maildir(root / ".Archive.2024")
    (sub / "cur" / "102.c.host:2,RTD").write_bytes(M3)
    make_maildir(root / ".Entw&APw-rfe")
    source = detect_source(root)
    assert source.kind == "maildir"
    assert source.estimate() == 3
    got = {i.remote_id: i for i in source}
    assert set(got) == {"100.a.host", "101.b.host", "102.c.host"}
    assert got["100.a.host"].folder == "INBOX"
    assert got["100.a.host"].flags == {Flag.FLAGGED, Flag.SEEN}
    assert got["101.b.host"].flags == frozenset()
    assert got["102.c.host"].folder == "Archive/2024"
    assert got["102.c.host"].flags == {Flag.ANSWERED, Flag.DELETED, Flag.DRAFT}
    assert got["100.a.host"].raw == M1 and got["101.b.host"].raw == M2  # byte-exact
    assert "Entwürfe" in MaildirAccount(root).folders()


def test_directory_of_several_maildirs(tmp_path: Path) -> None:
    make_maildir(tmp_path / "Inbox")
    make_maildir(tmp_path / "Work" / "Projects")
    (tmp_path / "Inbox" / "cur" / "1.x:2,S").write_bytes(M1)
    (tmp_path / "Work" / "Projects" / "new" / "2.y").write_bytes(M2)
    got = sorted((i.folder, i.remote_id) for i in items(tmp_path))
    assert got == [("INBOX", "1.x"), ("Work/Projects", "2.y")]


def write_mbox(path: Path, *messages: bytes) -> None:
    out = b""
    for index, raw in enumerate(messages):
        out += f"From sender{index}@example.com Mon Jan  1 00:00:0{index} 2024\n".encode()
        out += escape_from(raw) + (b"" if raw.endswith(b"\n") else b"\n") + b"\n"
    path.write_bytes(out)


def test_mbox_from_quoting_and_byte_exactness(tmp_path: Path) -> None:
    path = tmp_path / "archive.mbox"
    write_mbox(path, M1, M2, M3)
    assert b"\n>From the start" in path.read_bytes()
    assert b"\n>>From quoted" in path.read_bytes()
    source = detect_source(path)
    assert source.kind == "mbox"
    got = list(source)
    assert [i.raw for i in got] == [M1, M2, M3 + b"\n"]
    assert all(i.folder == "INBOX" for i in got)
    assert got[0].remote_id == "mbox:0"
    with path.open("rb") as handle:
        offsets = [offset for offset, _ in iter_mbox(handle)]
    assert [f"mbox:{o}" for o in offsets] == [i.remote_id for i in got]


def test_mbox_body_from_lines_without_time_do_not_split(tmp_path: Path) -> None:
    path = tmp_path / "o.mbox"
    path.write_bytes(
        b"From x@y Mon Jan  1 00:00:00 2024\nSubject: a\n\nhello\n\nFrom here on, no.\n\n"
        b"From x@y Tue Jan  2 00:00:00 2024\nStatus: RO\nX-Status: AF\nSubject: b\n\nb\n"
    )
    got = list(detect_source(path))
    assert len(got) == 2
    assert b"From here on, no." in got[0].raw
    assert got[1].flags == {Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED}


def test_google_takeout_labels(tmp_path: Path) -> None:
    def gm(labels: str) -> bytes:
        return f"X-GM-THRID: 1\nX-Gmail-Labels: {labels}\nSubject: s\n\nb\n".encode()

    path = tmp_path / "All mail Including Spam and Trash.mbox"
    write_mbox(
        path,
        gm("Inbox,Unread,Important"),
        gm("Sent,Starred"),
        gm('Opened,"Work, Clients",Category Updates'),
        gm("Archived"),
    )
    got = list(detect_source(path))
    assert [i.folder for i in got] == ["INBOX", "Sent", "Work, Clients", "All Mail"]
    assert got[0].flags == frozenset()
    assert got[1].flags == {Flag.SEEN, Flag.FLAGGED}
    assert got[0].labels == ("Inbox", "Unread", "Important")
    assert got[2].labels == ("Opened", "Work, Clients", "Category Updates")
    assert takeout_meta(b"Subject: none\n") is None


def test_eml_directory_with_skipped_files(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(M1)
    (tmp_path / "notes.txt").write_bytes(M2)
    (tmp_path / "picture.gif").write_bytes(b"GIF89a\x00\x01binary")
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / ".hidden.eml").write_bytes(M1)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.eml").write_bytes(M3)
    write_mbox(tmp_path / "Sent", M1, M2)
    source = detect_source(tmp_path)
    assert source.kind == "eml-dir"
    got = {(i.folder, i.remote_id): i.raw for i in source}
    assert got[("INBOX", "a.eml")] == M1
    assert got[("INBOX", "notes.txt")] == M2
    assert got[("sub", "sub/c.eml")] == M3
    assert got[("Sent", "Sent:mbox:0")] == M1
    reasons = {p.name: r for p, r in source.skipped}
    assert set(reasons) == {"picture.gif", "empty.eml"}
    assert "not a message" in reasons["picture.gif"] and "empty" in reasons["empty.eml"]


def test_single_eml_file(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(M2)
    source = detect_source(path)
    assert source.kind == "eml" and source.estimate() == 1
    assert list(source) == [RawItem("INBOX", "one.eml", M2)]


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        detect_source(tmp_path / "missing")
    gif = tmp_path / "x.gif"
    gif.write_bytes(b"GIF89a\x00\x00")
    with pytest.raises(SourceError, match="not a mailbox"):
        detect_source(gif)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(SourceError, match="not a mailbox"):
        detect_source(tmp_path / "emptydir")
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        detect_source(empty)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked.mbox"
    locked.write_bytes(b"From x Mon Jan  1 00:00:00 2024\n\n")
    locked.chmod(0)
    try:
        with pytest.raises(SourceError, match="permission denied"):
            detect_source(locked)
    finally:
        locked.chmod(0o600)


def test_maildir_account_round_trip(tmp_path: Path) -> None:
    account = MaildirAccount(tmp_path / "md", create=True)
    assert account.folders() == ["INBOX"]
    rid = account.append("INBOX", M1, frozenset())
    rid2 = account.append("Archive/2024", M2, frozenset({Flag.SEEN}))
    assert account.folders() == ["INBOX", "Archive/2024"]
    assert (tmp_path / "md" / ".Archive.2024" / "cur").is_dir()
    assert [(i.remote_id, i.raw, i.flags) for i in account.iter_folder("INBOX")] == [
        (rid, M1, frozenset())
    ]
    [item] = account.iter_folder("Archive/2024")
    assert (item.remote_id, item.raw, item.flags) == (rid2, M2, {Flag.SEEN})
    account.set_flags("INBOX", rid, frozenset({Flag.FLAGGED, Flag.SEEN}))
    [moved] = account.iter_folder("INBOX")
    assert moved.flags == {Flag.FLAGGED, Flag.SEEN} and moved.raw == M1
    assert [p.name for p in (tmp_path / "md" / "cur").iterdir()] == [f"{rid}:2,FS"]
    account.delete("INBOX", rid)
    assert list(account.iter_folder("INBOX")) == []
    with pytest.raises(SourceError):
        account.delete("INBOX", rid)
    with pytest.raises(SourceError):
        MaildirAccount(tmp_path / "nope")
    assert not list((tmp_path / "md" / "tmp").iterdir())


def test_mbox_account_round_trip(tmp_path: Path) -> None:
    account = MboxAccount(tmp_path / "mail", create=True)
    r1 = account.append("INBOX", M1)
    r2 = account.append("INBOX", M2)
    r3 = account.append("Lists/python", M3, frozenset({Flag.SEEN, Flag.FLAGGED}))
    assert account.folders() == ["INBOX", "Lists/python"]
    assert (tmp_path / "mail" / "Lists.sbd" / "python").is_file()
    got = list(account.iter_folder("INBOX"))
    assert [(i.remote_id, i.raw) for i in got] == [(r1, M1), (r2, M2)]  # byte-exact
    [flagged] = account.iter_folder("Lists/python")
    assert flagged.remote_id == r3 and flagged.flags == {Flag.SEEN, Flag.FLAGGED}
    assert b">>From deep" in flagged.raw and b"Status: RO" in flagged.raw
    account.set_flags("INBOX", r1, frozenset({Flag.SEEN}))
    got = list(account.iter_folder("INBOX"))
    assert got[0].flags == {Flag.SEEN} and got[0].raw.startswith(M1.split(b"\n\n")[0])
    assert got[1].raw == M2
    account.delete("INBOX", got[0].remote_id)
    assert [i.raw for i in account.iter_folder("INBOX")] == [M2]
    with pytest.raises(SourceError):
        account.delete("INBOX", "mbox:12345")


def test_single_file_mbox_account(tmp_path: Path) -> None:
    account = MboxAccount(tmp_path / "box.mbox", create=True)
    assert account.folders() == ["INBOX"]
    account.append("INBOX", M1)
    assert [i.raw for i in account.iter_folder("INBOX")] == [M1]
    with pytest.raises(SourceError):
        account.append("Other", M1)
