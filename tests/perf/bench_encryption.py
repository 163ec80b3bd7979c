"""``python -m tests.perf.bench_encryption``: the cost of encryption at rest.

Imports the same seeded Maildir (``tests.support.corpus``; 5,000 messages by default,
``COMMHUB_BENCH_ENC_N`` to change) into a plain and into an encrypted (SQLCipher)
store, in-process, then times the same queries (count, newest-50 page, plain word,
prefix and field queries) on both, a cold open (first query on a fresh store object),
and ``key rotate`` of the encrypted store.  Prints a Markdown table and writes
``build/bench/encryption.{json,md}``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path

from services.importer import import_path
from services.query.builder import EmailQuery
from services.security.encryption import StoreKeys
from services.security.secrets import MemorySecrets
from services.store import Store
from services.store.cipher import DatabaseKey

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("COMMHUB_BENCH_ENC_N", "5000"))
BENCH = Path(os.environ.get("COMMHUB_BENCH_DIR", "/tmp/bench")) / "encryption"
REPEATS = int(os.environ.get("COMMHUB_BENCH_REPEATS", "21"))
OUT = ROOT / "build" / "bench"
QUERIES = [
    "from:johnson",
    "subject:budget",
    "quixotron",
    "budg*",
    '"best regards"',
    "is:unread",
    "from:johnson subject:budget",
    "has:attachment",
]


def ensure_corpus(maildir: Path) -> None:
    marker = maildir / ".complete"
    if marker.exists() and marker.read_text().strip() == f"{N} seed=0":
        return
    shutil.rmtree(maildir, ignore_errors=True)
    from tests.support.corpus import generate_messages, write_maildir

    write_maildir(maildir, generate_messages(N, seed=0))
    marker.write_text(f"{N} seed=0\n")


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bench(maildir: Path, data: Path, key: DatabaseKey | None) -> dict[str, object]:
    db = data / "commhub.sqlite3"
    with Store.open(db, key=key) as store:
        t0 = time.perf_counter()
        report = import_path(store, maildir, account="bench")
        seconds = time.perf_counter() - t0
        assert report.added == N, report
    t0 = time.perf_counter()
    with Store.open(db, key=key) as store:
        store.count(EmailQuery.parse("quixotron"))
        cold = time.perf_counter() - t0
        rows: dict[str, dict[str, float]] = {}
        for text in QUERIES:
            counts, pages, found = [], [], 0
            for _ in range(REPEATS):
                t1 = time.perf_counter()
                found = store.count(EmailQuery.parse(text))
                counts.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                store.search(EmailQuery.parse(text).limit(50))
                pages.append(time.perf_counter() - t1)
            rows[text] = {"hits": found, "count_ms": p50(counts), "page_ms": p50(pages)}
    size = sum(p.stat().st_size for p in data.iterdir())
    return {"import_s": seconds, "rate": N / seconds, "cold_open_ms": cold * 1000,
            "queries": rows, "bytes": size}


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def main() -> int:
    maildir = BENCH / "maildir"
    ensure_corpus(maildir)
    plain = bench(maildir, fresh(BENCH / "plain"), None)
    keys = StoreKeys(fresh(BENCH / "enc") / "commhub.sqlite3", MemorySecrets())
    enc = bench(maildir, keys.db_path.parent, keys.key_for_open(True))
    t0 = time.perf_counter()
    keys.rotate()
    rotate_s = time.perf_counter() - t0
    lines = [
        f"# Encryption at rest: {N} messages (p50 of {REPEATS})",
        "",
        "| | plain | encrypted | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| import (msg/s) | {plain['rate']:,.0f} | {enc['rate']:,.0f} | "
        f"{float(enc['import_s']) / float(plain['import_s']):.2f}x time |",
        f"| cold open + first query (ms) | {plain['cold_open_ms']:.1f} | "
        f"{enc['cold_open_ms']:.1f} | |",
        f"| data dir size (MB) | {int(plain['bytes']) / 1e6:.1f} | "
        f"{int(enc['bytes']) / 1e6:.1f} | |",
    ]
    pq, eq = plain["queries"], enc["queries"]
    assert isinstance(pq, dict) and isinstance(eq, dict)
    for text in QUERIES:
        a, b = pq[text], eq[text]
        assert a["hits"] == b["hits"], (text, a, b)
        lines.append(f"| `{text}` ({a['hits']} hits) count / page ms | "
                     f"{a['count_ms']:.2f} / {a['page_ms']:.2f} | "
                     f"{b['count_ms']:.2f} / {b['page_ms']:.2f} | "
                     f"{b['page_ms'] / max(a['page_ms'], 1e-9):.2f}x |")
    lines.append(f"| `commhub key rotate` (s) | | {rotate_s:.2f} | |")
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "encryption.md").write_text(text + "\n")
    (OUT / "encryption.json").write_text(json.dumps(
        {"n": N, "plain": plain, "encrypted": enc, "rotate_s": rotate_s}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
