from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.cli import main
from tests.unit.core.mailfactory import make_email, write_maildir


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    first = make_email(
        1,
        subject="Quarterly numbers",
        body="the revenue table is attached",
        attachment=("q3.pdf", b"%PDF-1.4"),
    )
    reply = make_email(
        2,
        sender="Bob <bob@example.org>",
        subject="Re: Quarterly numbers",
        reply_to=first,
        body="looks good",
    )
    other = make_email(3, subject="Lunch", body="ramen on thursday")
    maildir = write_maildir(tmp_path / "Mail", [first, reply, other])
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "import", str(maildir), "--quiet")
    assert code == 0
    assert "imported 3 new message(s) from maildir" in out
    return data


def test_reimport_adds_nothing(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--data-dir", str(imported), "import", str(tmp_path / "Mail"), "-q")
    assert code == 0 and "imported 0 new message(s)" in out and "3 already present" in out


def test_search_text_json_count(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--data-dir", str(imported), "search", "subject:quarterly")
    assert code == 0 and out.count("\n") == 2 and "Quarterly numbers" in out
    code, out, _ = run(capsys, "--data-dir", str(imported), "search", "--json", "from:bob")
    rows = json.loads(out)
    assert [r["subject"] for r in rows] == ["Re: Quarterly numbers"]
    code, out, _ = run(capsys, "--data-dir", str(imported), "search", "--count", "has:attachment")
    assert out.strip() == "1"
    code, out, _ = run(capsys, "--data-dir", str(imported), "search", "--limit", "1", "--json", "*")
    assert code == 0 and len(json.loads(out)) == 1


def test_show_thread_accounts(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--data-dir", str(imported), "search", "--json", "ramen")
    mid = json.loads(out)[0]["id"]
    code, out, _ = run(capsys, "--data-dir", str(imported), "show", str(mid))
    assert code == 0 and "Subject:  Lunch" in out and "ramen on thursday" in out
    _, out, _ = run(capsys, "--data-dir", str(imported), "search", "--json", "from:bob")
    reply_id = json.loads(out)[0]["id"]
    code, out, _ = run(capsys, "--data-dir", str(imported), "thread", str(reply_id))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert "Quarterly numbers" in lines[0] and lines[1].startswith("  └") and "Re:" in lines[1]
    code, out, _ = run(capsys, "--data-dir", str(imported), "accounts", "--json")
    assert json.loads(out)[0]["messages"] == 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["search", "(from:alice"], "bad query"),
        (["search", "frm:alice"], "bad query"),
        (["show", "999999"], "999999"),
        (["import", "/nonexistent/path/for/commhub"], "/nonexistent/path/for/commhub"),
    ],
)
def test_known_errors_exit_2_with_one_line(
    imported: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, _, err = run(capsys, "--data-dir", str(imported), *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("commhub: ") and needle in err


def test_progress_lines_on_a_pipe_and_redraws_on_a_terminal() -> None:
    from app.cli import _Progress

    pipe = io.StringIO()
    p = _Progress(pipe)
    p(10, 100)
    p(20, 100)  # within 2 s of the last line: not printed on a pipe
    p(100, 100)  # the last one always is
    lines = pipe.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("importing: 10/100 messages") and "100/100" in lines[1]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    t = _Progress(tty)
    t(5, None)
    t.finish()
    assert tty.getvalue().startswith("\rimporting: 5 messages") and tty.getvalue().endswith("\n")


def test_import_indexes_text_inside_attachments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.attachments.samples import make_pdf

    with_pdf = make_email(1, subject="Minutes", body="see the file",
                          attachment=("minutes.pdf", make_pdf(["the quokka budget was approved"])))
    with_csv = make_email(2, subject="Numbers", body="attached",
                          attachment=("numbers.csv", b"animal,count\nwombat,3\n"))
    maildir = write_maildir(tmp_path / "Mail", [with_pdf, with_csv])
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "import", str(maildir), "-q")
    assert code == 0 and "indexed 2 attachment(s)" in out
    code, out, _ = run(capsys, "--data-dir", str(data), "search", "--json", "quokka")
    assert [r["subject"] for r in json.loads(out)] == ["Minutes"]  # only inside the PDF
    code, out, _ = run(capsys, "--data-dir", str(data), "search", "--json", "wombat")
    assert [r["subject"] for r in json.loads(out)] == ["Numbers"]
    # a second import finds nothing new to index
    code, out, _ = run(capsys, "--data-dir", str(data), "import", str(maildir), "-q")
    assert code == 0 and "indexed" not in out
