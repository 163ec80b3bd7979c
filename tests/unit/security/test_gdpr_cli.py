"""``commhub gdpr``, ``commhub hold`` and ``commhub retention`` in-process, on a real data dir
(keyring: a small in-memory backend of the real ``keyring`` library)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cli import main
from services.manager import CommManager
from services.security.secrets import KeyringSecrets
from tests.support.keyrings import DictKeyring
from tests.unit.store.helpers import make_raw

WHO = "mallory.vantablack@subject.example"


@pytest.fixture
def data_dir(tmp_path: Path, memory_keyring: DictKeyring) -> Iterator[Path]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = datetime(2020, 1, 10, tzinfo=UTC)
    (inbox / "1.eml").write_bytes(make_raw(1, sender=f"M <{WHO}>", body="vantablack offer",
                                           date=old))
    (inbox / "2.eml").write_bytes(make_raw(2, to=WHO, body="answer", date=old))
    (inbox / "3.eml").write_bytes(make_raw(3, body="unrelated and old", date=old))
    (inbox / "4.eml").write_bytes(make_raw(4, body="unrelated and new",
                                           date=datetime(2029, 12, 1, tzinfo=UTC)))
    data = tmp_path / "data"
    with CommManager(data_dir=data, secrets=KeyringSecrets()) as comm:
        assert comm.import_path(inbox).added == 4
    yield data


def run(data_dir: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--data-dir", str(data_dir), *argv], out=out)
    return code, out.getvalue()


def _audit(data_dir: Path) -> list[tuple[str, dict[str, str]]]:
    with CommManager(data_dir=data_dir, secrets=KeyringSecrets()) as comm:
        assert comm.audit_log.verify().ok
        return [(e.event, dict(e.details)) for e in comm.audit_log.entries()]


def test_hold_export_erase(data_dir: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(data_dir, "hold", "add", "contact", WHO, "--reason", "case 12")
    assert code == 0 and text.startswith("hold 1: contact")
    assert run(data_dir, "gdpr", "erase", WHO, "--yes")[0] == 2
    assert "legal hold 1 (case 12)" in capsys.readouterr().err
    code, text = run(data_dir, "hold", "list", "--json")
    assert [h["value"] for h in json.loads(text)] == [WHO]
    assert run(data_dir, "hold", "release", "1") == (0, "released hold 1\n")

    code, text = run(data_dir, "gdpr", "export", WHO, "-o", str(tmp_path / "out.zip"))
    assert code == 0 and "exported 2 message(s)" in text
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert len(json.loads(archive.read("subject.json"))["messages"]) == 2

    code, text = run(data_dir, "gdpr", "erase", WHO)
    assert code == 2 and "would erase 2 message(s)" in text
    assert run(data_dir, "search", "--count", "vantablack")[1].strip() == "2"  # from + to
    code, text = run(data_dir, "gdpr", "erase", WHO, "--yes")
    assert code == 0 and text.startswith("erased 2 message(s)")
    assert run(data_dir, "search", "--count", "vantablack")[1].strip() == "0"
    assert WHO.encode() not in (data_dir / "commhub.sqlite3").read_bytes()
    events = [e for e, _ in _audit(data_dir)]
    assert events == ["legal-hold-placed", "legal-hold-released", "exported", "erased"]


def test_retention_purge(data_dir: Path) -> None:
    code, text = run(data_dir, "retention", "purge", "--policy", "emails=5_years",
                     "--as-of", "2030-01-01", "--dry-run")
    assert (code, text) == (0, "would remove 3 message(s) (3 email, 0 expired); "
                               "0 kept by legal holds\n")
    assert run(data_dir, "search", "--count", "unrelated")[1].strip() == "2"
    assert run(data_dir, "hold", "add", "message", "3")[0] == 0
    code, text = run(data_dir, "retention", "purge", "--compliance", "gdpr",
                     "--policy", "emails=5_years", "--as-of", "2030-01-01")
    assert text.startswith("removed 2 message(s)") and "1 kept by legal holds" in text
    assert run(data_dir, "search", "--count", "unrelated")[1].strip() == "2"
    assert run(data_dir, "search", "--count", "vantablack")[1].strip() == "0"
    assert run(data_dir, "retention", "purge", "--policy", "emails")[0] == 2
    assert run(data_dir, "retention", "purge", "--as-of", "soon")[0] == 2
    purges = [d for e, d in _audit(data_dir) if e == "retention-purge"]
    assert [p["removed"] for p in purges] == ["chat=0, email=2, expired=0, sms=0, socket=0"]
