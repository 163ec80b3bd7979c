"""``make bench``: Commhub against notmuch on the same Maildir.

1. Generate a seeded Maildir (``tests.support.corpus``; 100,000 messages by default,
   ``COMMHUB_BENCH_N`` to change; reused between runs).
2. Time ``commhub import`` and ``notmuch new`` (isolated config) on it.
3. Run the same queries through both, in-process on each side (our ``Store`` in this
   Python; notmuch through its Python bindings under Debian's /usr/bin/python3), for
   two operations — count all matches, and the newest 50 message ids — and compare
   result counts and p50/p95 latency.  Also times the two command lines
   (``commhub search --count`` vs ``notmuch count``), process start-up included.

Prints a Markdown table and writes ``build/bench/results.{json,md}``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("COMMHUB_BENCH_N", "100000"))
BENCH = Path(os.environ.get("COMMHUB_BENCH_DIR", "/tmp/bench"))
REPEATS = int(os.environ.get("COMMHUB_BENCH_REPEATS", "21"))
OUT = ROOT / "build" / "bench"
SYSTEM_PYTHON = "/usr/bin/python3"

# (label, commhub query, notmuch query): the same meaning on both sides.
QUERIES: list[tuple[str, str, str]] = [
    ("sender word", "from:johnson", "from:johnson"),
    ("recipient word", "to:peggy", "to:peggy"),
    ("subject word", "subject:budget", "subject:budget"),
    ("body word, 1 %", "quixotron", "quixotron"),
    ("body word, 0.1 %", "blorptastic", "blorptastic"),
    ("phrase", '"best regards"', '"best regards"'),
    ("unread", "is:unread", "tag:unread"),
    ("flagged", "is:flagged", "tag:flagged"),
    ("has attachment", "has:attachment", "tag:attachment"),
    ("date range", "after:2024-01-01 before:2024-07-01", "date:2024-01-01..2024-06-30"),
    ("folder", "folder:Sent", "folder:.Sent"),
    ("sender AND subject", "from:johnson subject:budget", "from:johnson and subject:budget"),
    ("OR", "quixotron OR blorptastic", "quixotron or blorptastic"),
    ("NOT", "zorbulate -quixotron", "zorbulate and not quixotron"),
    ("sender AND unread", "from:bob is:unread", "from:bob and tag:unread"),
]


@dataclass
class Side:
    count: int
    count_times: list[float]
    page_times: list[float]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def env_for(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["TZ"] = "UTC"
    env.update(extra)
    return env


def ensure_corpus(maildir: Path) -> None:
    marker = maildir / ".complete"
    if marker.exists() and marker.read_text().strip() == f"{N} seed=0":
        print(f"corpus: reusing {maildir} ({N} messages)")
        return
    shutil.rmtree(maildir, ignore_errors=True)
    from tests.support.corpus import generate_messages, write_maildir

    t0 = time.perf_counter()
    stats = write_maildir(maildir, generate_messages(N, seed=0))
    marker.write_text(f"{N} seed=0\n")
    print(f"corpus: wrote {stats.count} messages ({stats.bytes / 1e6:.0f} MB) "
          f"in {time.perf_counter() - t0:.1f}s")


def time_commhub_import(maildir: Path, data: Path) -> tuple[float, float, int]:
    """(seconds the message import took by the command's own report, seconds of the whole
    command, attachments indexed).  After importing, ``commhub import`` extracts the text
    of every attachment, which ``notmuch new`` does not do: timed apart."""
    shutil.rmtree(data, ignore_errors=True)
    cmd = [str(ROOT / ".venv" / "bin" / "commhub"), "import", str(maildir), "--quiet"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env_for({"COMMHUB_DATA_DIR": str(data)}),
                         capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    print("commhub:", *lines, sep="\n  ")
    reported = re.search(r" in ([0-9.]+)s ", lines[0])
    indexed = re.search(r"indexed ([0-9]+) attachment", out.stdout)
    assert reported is not None, lines[0]
    return float(reported.group(1)), seconds, int(indexed.group(1)) if indexed else 0


def notmuch_env(home: Path) -> dict[str, str]:
    return env_for({"NOTMUCH_CONFIG": str(home / "config"), "HOME": str(home)})


def time_notmuch_new(maildir: Path, home: Path) -> float:
    shutil.rmtree(maildir / ".notmuch", ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "config").write_text(
        f"[database]\npath={maildir}\nmail_root={maildir}\n"
        "[user]\nname=Bench\nprimary_email=alice@example.test\n"
        "[new]\ntags=unread;inbox\nignore=.complete\n"
        "[maildir]\nsynchronize_flags=true\n"
    )
    t0 = time.perf_counter()
    subprocess.run(["notmuch", "new", "--quiet"], env=notmuch_env(home), check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def run_commhub_queries(data: Path) -> list[Side]:
    from services.query.builder import EmailQuery
    from services.store import Store

    store = Store.open(data / "commhub.sqlite3")
    sides = []
    try:
        for _, text, _ in QUERIES:
            count_times, page_times = [], []
            count = 0
            for _ in range(REPEATS + 1):
                t0 = time.perf_counter()
                count = store.count(EmailQuery.parse(text))
                count_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                ids = store.search_ids(EmailQuery.parse(text).limit(50))
                page_times.append(time.perf_counter() - t0)
                assert len(ids) == min(50, count)
            sides.append(Side(count, count_times[1:], page_times[1:]))
    finally:
        store.close()
    return sides


def run_notmuch_queries(maildir: Path, home: Path) -> list[Side]:
    script = ROOT / "tests" / "perf" / "notmuch_timer.py"
    out = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(maildir), str(REPEATS + 1)],
        input=json.dumps([q for _, _, q in QUERIES]), capture_output=True, text=True,
        check=True, env=notmuch_env(home),
    )
    return [Side(r["count"], r["count_times"][1:], r["page_times"][1:])
            for r in json.loads(out.stdout)]


def cli_times(data: Path, home: Path, runs: int = 5) -> list[tuple[float, float]]:
    commhub = str(ROOT / ".venv" / "bin" / "commhub")
    rows = []
    for _, ours, theirs in QUERIES[:5]:
        a, b = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([commhub, "search", "--count", ours], check=True, capture_output=True,
                           env=env_for({"COMMHUB_DATA_DIR": str(data)}))
            a.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run(["notmuch", "count", theirs], check=True, capture_output=True,
                           env=notmuch_env(home))
            b.append(time.perf_counter() - t0)
        rows.append((statistics.median(a), statistics.median(b)))
    return rows


def main() -> int:
    if shutil.which("notmuch") is None or not Path(SYSTEM_PYTHON).exists():
        print("make bench needs notmuch and python3-notmuch2 (make deps installs them)")
        return 2
    BENCH.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    maildir, data, home = BENCH / "maildir", BENCH / "data", BENCH / "notmuch-home"
    ensure_corpus(maildir)

    ours_import, ours_command, attachments = time_commhub_import(maildir, data)
    nm_import = time_notmuch_new(maildir, home)
    ours_q = run_commhub_queries(data)
    nm_q = run_notmuch_queries(maildir, home)
    cli = cli_times(data, home)

    lines = [
        f"Corpus: {N:,} generated messages (seed 0) in a Maildir++ tree; "
        f"{os.cpu_count()} cores; {REPEATS} timed runs per query after one warm-up.",
        "",
        "| import | seconds | messages/s |",
        "|---|---:|---:|",
        f"| `commhub import`, the messages (the command's own timer) | {ours_import:.1f} "
        f"| {N / ours_import:,.0f} |",
        f"| `notmuch new` | {nm_import:.1f} | {N / nm_import:,.0f} |",
        f"| ratio (commhub / notmuch rate) | | {nm_import / ours_import:.2f}× |",
        f"| `commhub import`, the whole command: then the text of {attachments:,} "
        f"attachments extracted and indexed | {ours_command:.1f} | |",
        "",
        "In-process query latency in ms (p50 / p95). *count*: count every match; "
        "*page*: ids of the newest 50.",
        "",
        "| query | commhub | notmuch | matches (ours / notmuch) | count ours | count notmuch "
        "| page ours | page notmuch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_ours_p95: list[float] = []
    all_nm_p95: list[float] = []
    for (label, ours_text, nm_text), o, n in zip(QUERIES, ours_q, nm_q, strict=True):
        same = "=" if o.count == n.count else "≠"
        lines.append(
            f"| {label} | `{ours_text}` | `{nm_text}` | {o.count:,} {same} {n.count:,} "
            f"| {ms(pct(o.count_times, 50))} / {ms(pct(o.count_times, 95))} "
            f"| {ms(pct(n.count_times, 50))} / {ms(pct(n.count_times, 95))} "
            f"| {ms(pct(o.page_times, 50))} / {ms(pct(o.page_times, 95))} "
            f"| {ms(pct(n.page_times, 50))} / {ms(pct(n.page_times, 95))} |"
        )
        all_ours_p95 += o.count_times + o.page_times
        all_nm_p95 += n.count_times + n.page_times
    lines += [
        "",
        f"All queries pooled: p95 commhub {ms(pct(all_ours_p95, 95))} ms, "
        f"notmuch {ms(pct(all_nm_p95, 95))} ms; "
        f"p50 commhub {ms(pct(all_ours_p95, 50))} ms, notmuch {ms(pct(all_nm_p95, 50))} ms.",
        "",
        "Command line, process start-up included (median of 5, ms):",
        "",
        "| query | `commhub search --count` | `notmuch count` |",
        "|---|---:|---:|",
    ]
    for (label, _, _), (a, b) in zip(QUERIES[:5], cli, strict=True):
        lines.append(f"| {label} | {ms(a)} | {ms(b)} |")
    report = "\n".join(lines)
    print(report)
    (OUT / "results.md").write_text(report + "\n")
    (OUT / "results.json").write_text(json.dumps({
        "n": N,
        "import_seconds": {"commhub": ours_import, "notmuch": nm_import,
                           "commhub_command_with_attachment_text": ours_command},
        "queries": [
            {"label": q[0], "commhub_query": q[1], "notmuch_query": q[2],
             "commhub": vars(o), "notmuch": vars(n)}
            for q, o, n in zip(QUERIES, ours_q, nm_q, strict=True)
        ],
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
