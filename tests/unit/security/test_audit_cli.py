"""``commhub audit verify|export|list``, in-process (keyring: a small in-memory backend of the
real ``keyring`` library) and once end to end with gnome-keyring, where the spec's
Enterprise Security snippet runs exactly as written."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from services.manager import CommManager
from services.security.secrets import KeyringSecrets
from tests.support.keyrings import DictKeyring

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(tmp_path: Path, memory_keyring: DictKeyring) -> Iterator[Path]:
    with CommManager(data_dir=tmp_path, audit_logging=True, secrets=KeyringSecrets()) as comm:
        for i in range(12):
            comm.audit_log.record(("sent", "read", "deleted")[i % 3],
                                  user="admin@company.com" if i % 2 else "me@example.org",
                                  channel="email" if i % 4 else "sms", object_id=f"m{i}")
    yield tmp_path


def run(data_dir: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--data-dir", str(data_dir), *argv], out=out)
    return code, out.getvalue()


def test_verify_ok_then_tampered(data_dir: Path) -> None:
    code, text = run(data_dir, "audit", "verify")
    assert code == 0 and "verified: 12 entries" in text
    db = sqlite3.connect(data_dir / "audit.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET event = 'read' WHERE seq = 7")
    db.close()
    code, text = run(data_dir, "audit", "verify")
    assert code == 1
    assert "TAMPERED" in text and "#7: edited" in text


def test_export_csv_json_and_filters(data_dir: Path, tmp_path: Path) -> None:
    code, text = run(data_dir, "audit", "export", "--format", "json",
                     "--user", "admin@company.com", "--event", "sent")
    assert code == 0
    rows = json.loads(text)
    assert rows and all(r["user"] == "admin@company.com" and r["event"] == "sent" for r in rows)
    target = tmp_path / "audit.csv"
    code, _ = run(data_dir, "audit", "export", "--format", "csv", "-o", str(target),
                  "--channel", "sms")
    assert code == 0
    with target.open(newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and {r["channel"] for r in table} == {"sms"}
    assert run(data_dir, "audit", "export", "--since", "2000-01-01", "--until",
               "2000-12-31", "--format", "json")[1].strip() == "[]"
    code, listing = run(data_dir, "audit", "list", "--event", "exported")
    assert code == 0 and listing.count("exported") == 3  # each export is itself audited


def test_bad_date_is_a_usage_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(data_dir, "audit", "list", "--since", "last tuesday")
    assert code == 2 and "not a date" in capsys.readouterr().err


_SPEC = """
import sys
from services.manager import CommManager
# Secure communication configuration
comm = CommManager(
    encryption_enabled=True,
    audit_logging=True,
    compliance_mode="GDPR",
    data_retention_days=2555  # 7 years
)
comm.audit_log.record("sent", user="admin@company.com", channel="email", object_id="m1")
comm.audit_log.record("deleted", user="admin@company.com", channel="email", object_id="m2")
comm.audit_log.record("read", user="admin@company.com", channel="email", object_id="m3")

# Audit trail
audit_log = comm.get_audit_log(
    date_range=("2024-01-01", "2099-12-31"),
    message_types=["sent", "received", "deleted"],
    users=["admin@company.com"]
)
print("SPEC", [e.event for e in audit_log])
comm.close()
"""
_TAMPER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("DROP TRIGGER audit_log_no_delete")
db.execute("DELETE FROM audit_log WHERE seq = 2")
"""


@pytest.mark.real_keyring
@pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus and gnome-keyring (make test installs them)",
)
def test_spec_snippet_and_verify_with_the_real_keyring(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    home, runtime = tmp_path / "home", tmp_path / "run"
    for d in (home, runtime):
        d.mkdir()
    runtime.chmod(0o700)
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(runtime),
               COMMHUB_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    (tmp_path / "spec.py").write_text(_SPEC)
    (tmp_path / "tamper.py").write_text(_TAMPER)
    py = sys.executable
    script = "; ".join([
        "echo '' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1",
        f"{py} {tmp_path / 'spec.py'}",
        f"{py} -m app audit verify; echo EXIT=$?",
        f"{py} {tmp_path / 'tamper.py'} {data_dir / 'audit.sqlite3'}",
        f"{py} -m app audit verify; echo EXIT=$?",
    ])
    proc = subprocess.run(["dbus-run-session", "--", "sh", "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert "SPEC ['sent', 'deleted']" in out, proc.stderr
    first, second = out.split("EXIT=")[0], out.split("EXIT=")[1]
    assert "verified: 3 entries" in first and out.split("EXIT=")[1].startswith("0")
    assert "TAMPERED" in second and "#3: deleted" in second
    assert out.rstrip().endswith("EXIT=1")
