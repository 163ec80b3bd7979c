"""Importing hostile and historical mail: nothing raises, nothing is lost."""

from __future__ import annotations

import base64
import shutil
import sysconfig
from pathlib import Path

import pytest

from services import CommManager, EmailQuery

DATA = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"


def _messages_in_cpython_data() -> list[Path]:
    return sorted(p for p in DATA.glob("msg_*.txt") if p.is_file())


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present in this Python")
def test_every_cpython_test_email_message_imports(tmp_path: Path) -> None:
    files = _messages_in_cpython_data()
    assert len(files) >= 40
    folder = tmp_path / "cpython-msgs"
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    with CommManager(data_dir=tmp_path / "data") as comm:
        report = comm.import_path(folder)
        assert report.added == len(files) and report.skipped == []
        assert comm.count(EmailQuery()) == len(files)
        originals = {_without_from_line(f.read_bytes()) for f in folder.iterdir()}
        stored = {comm.raw(m.id or 0) for m in comm.search(EmailQuery())}
        assert stored == originals  # byte-exact, every one


def _without_from_line(data: bytes) -> bytes:
    """A file that starts with an mbox From_ line is a one-message mbox: the From_ line
    and the blank line that ends an mbox entry belong to the mbox, not to the message."""
    if data.startswith(b"From "):
        body = data.split(b"\n", 1)[1]
        return body[:-1] if body.endswith(b"\n\n") else body
    return data


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present in this Python")
def test_whole_cpython_data_dir_imports_messages_and_reports_the_rest(tmp_path: Path) -> None:
    everything = sorted(p for p in DATA.iterdir() if p.is_file())
    with CommManager(data_dir=tmp_path / "data") as comm:
        report = comm.import_path(DATA)
        assert report.added + len(report.skipped) == len(everything)
        assert report.added == len(_messages_in_cpython_data())
        assert all(reason for _, reason in report.skipped)


def _malformed() -> dict[str, bytes]:
    body_b64 = base64.b64encode(b"the quarterly zebrafish report").decode()
    return {
        "truncated-multipart.eml": (
            b"From: a@example.com\r\nSubject: truncated multipart\r\n"
            b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
            b"--XYZ\r\nContent-Type: text/plain\r\n\r\nfirst part about walruses\r\n--XYZ\r\n"
            b"Content-Type: application/pdf; name=cut.pdf\r\nContent-Transfer-Encoding: base64"
            b"\r\n\r\nJVBERi0xLjQK"
        ),
        "bad-base64.eml": (
            b"From: b@example.com\r\nSubject: bad base64\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000"
            b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64"
            b"\r\n\r\n" + body_b64.encode()[:-3] + b"!!@@##\r\n"
        ),
        "8bit-headers.eml": (
            "From: Jürgen Müller <j@example.com>\r\nSubject: Grüße aus Köln, ÄÖÜ\r\n"
            "Date: Wed, 3 Jan 2024 10:00:00 +0000\r\n\r\nDie Ölpreise steigen.\r\n"
        ).encode("latin-1"),
        "missing-date.eml": (
            b"From: c@example.com\r\nSubject: no date at all\r\n\r\nundated narwhal memo\r\n"
        ),
        "huge-header.eml": (
            b"From: d@example.com\r\nSubject: huge header\r\nX-Junk: "
            + b"A" * (10 * 1024 * 1024)
            + b"\r\nDate: Thu, 4 Jan 2024 10:00:00 +0000\r\n\r\nplatypus after the junk\r\n"
        ),
        "garbage.eml": b"\x00\x01\x02 this is not an email at all \xff\xfe okapi\r\n",
    }


def test_malformed_inputs_import_with_warnings_and_lose_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    inputs = _malformed()
    for name, raw in inputs.items():
        (folder / name).write_bytes(raw)
    with CommManager(data_dir=tmp_path / "data") as comm:
        report = comm.import_path(folder)
        assert report.added + len(report.skipped) == len(inputs)
        assert report.warnings_count >= 4
        stored = {comm.raw(m.id or 0) for m in comm.search(EmailQuery())}
        for name, raw in inputs.items():
            if any(p.endswith(name) for p, _ in report.skipped):
                continue
            assert raw in stored, f"{name} not stored byte-exact"
        for word in ("walruses", "zebrafish", "narwhal", "platypus"):
            found = comm.search(EmailQuery.parse(word))
            assert len(found) == 1, word
            assert comm.get(found[0].id or 0).parse_warnings, f"no warning for {word}"
        assert comm.search(EmailQuery.parse("subject:Grüße"))
        undated = comm.search(EmailQuery.parse("narwhal"))[0]
        assert undated.date is None
