"""IMAP header sync throughput: our ``ImapService.sync()`` against a bare imapclient loop.

1. A private Dovecot; N corpus messages (100,000 by default, ``COMMHUB_BENCH_IMAP_N`` or
   ``--messages`` to change) written straight into alice's Maildir, then indexed by
   ``doveadm force-resync`` (not timed).
2. One untimed pass fetches every message's sync header fields, so that Dovecot's cache is
   in the same state for every timed run (the first fetch of a header field fills it).
3. (a) raw loop: ``UID FETCH <1,000 UIDs> (UID FLAGS RFC822.SIZE INTERNALDATE
   BODY.PEEK[HEADER.FIELDS (...)])`` — the very items the sync fetches
   (``protocol.header_items()``) — over every UID with imapclient, data thrown away;
   (a') the same loop fetching the whole header (``BODY.PEEK[HEADER]``), for reference;
   (b) ``ImapService.sync()`` into a fresh store (fetch, parse, index, commit);
   (c) a no-change resync of the folder (target < 0.5 s).
4. Prints a Markdown table with msgs/s and the ratios (b)/(a) (target >= 0.8) and
   (b)/(a'), and the CPU time each side used (from /proc: the whole machine, and this
   process).

Run: ``.venv/bin/python -m tests.perf.bench_imap_sync [--messages N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.email.imap import ImapConfig, ImapService  # noqa: E402
from services.email.imap.protocol import header_items  # noqa: E402
from services.security.secrets import MemorySecrets  # noqa: E402
from services.store import Store  # noqa: E402
from tests.support.corpus import generate_messages, write_maildir  # noqa: E402
from tests.support.servers.dovecot import NOBODY, DovecotServer  # noqa: E402

N = int(os.environ.get("COMMHUB_BENCH_IMAP_N", "100000"))
CHUNK = 1000
ITEMS = list(header_items())  # what ImapService.sync() fetches with the default settings
FULL_ITEMS = list(header_items(full=True))


def populate(server: DovecotServer, n: int) -> float:
    t0 = time.monotonic()
    maildir = server.mail_dir("alice")
    owner = (NOBODY, NOBODY) if os.geteuid() == 0 else None
    maildir.parent.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(maildir.parent, *owner)
    write_maildir(maildir, generate_messages(n, seed=7), folders=False, chown=owner)
    server.doveadm("force-resync", "-u", "alice", "INBOX")
    with server.imap("alice", tls="plain") as c:  # the first SELECT builds the index
        c.select_folder("INBOX", readonly=True)
    return time.monotonic() - t0


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds used by the whole machine, by this process) so far; zeros where /proc
    is missing."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        mine = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return 0.0, 0.0
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return busy / ticks, (int(mine[11]) + int(mine[12])) / ticks


def raw_loop(server: DovecotServer, items: list[str]) -> tuple[float, int]:
    with server.imap("alice", tls="plain") as c:
        c.select_folder("INBOX", readonly=True)
        t0 = time.monotonic()
        uids = sorted(c.search(["ALL"]), reverse=True)
        n = 0
        for i in range(0, len(uids), CHUNK):
            n += len(c.fetch(uids[i : i + CHUNK], items))
        return time.monotonic() - t0, n


async def our_sync(server: DovecotServer, data: Path) -> tuple[float, int, float]:
    store = Store.open(data / "commhub.sqlite3")
    try:
        account = store.ensure_account("bench", "imap")
        secrets = MemorySecrets()
        secrets.set("bench", "password", server.users["alice"])
        config = ImapConfig.from_mapping({
            "host": server.host, "port": server.imap_port, "security": "plain",
            "allow_plaintext": True, "username": "alice", "include_folders": ["INBOX"],
            "fetch_chunk": CHUNK, "timeout": 120.0,
        })
        service = ImapService(account, store, config, secrets)
        await service.connect()
        t0 = time.monotonic()
        report = await service.sync()
        first = time.monotonic() - t0
        t1 = time.monotonic()
        again = await service.sync()
        second = time.monotonic() - t1
        assert again.added == 0 and again.removed == 0, again
        await service.aclose()
        return first, report.added, second
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=N)
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="commhub-bench-imap-"))
    try:
        with DovecotServer() as server:
            setup = populate(server, args.messages)
            warm_s, _ = raw_loop(server, ITEMS)
            full_s, full_n = raw_loop(server, FULL_ITEMS)
            cpu0 = cpu_seconds()
            raw_s, raw_n = raw_loop(server, ITEMS)
            cpu1 = cpu_seconds()
            ours_s, ours_n, resync_s = asyncio.run(our_sync(server, data))
            cpu2 = cpu_seconds()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    raw_rate, ours_rate, full_rate = raw_n / raw_s, ours_n / ours_s, full_n / full_s
    ratio = ours_rate / raw_rate
    print(f"IMAP header sync, {args.messages:,} messages (setup + indexing {setup:.1f} s; "
          f"untimed first fetch of the sync's header fields {warm_s:.1f} s)\n")
    print(f"Fetched items: {' '.join(ITEMS)}\n")
    print("| measurement | messages | seconds | msgs/s | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| (a) raw imapclient FETCH loop, the sync's items | {raw_n:,} | {raw_s:.2f} | "
          f"{raw_rate:,.0f} | |")
    print(f"| (a') raw imapclient FETCH loop, whole header | {full_n:,} | {full_s:.2f} | "
          f"{full_rate:,.0f} | |")
    print(f"| (b) ImapService.sync() into a fresh store | {ours_n:,} | {ours_s:.2f} | "
          f"{ours_rate:,.0f} | (b)/(a) {ratio:.2f} (>= 0.8); (b)/(a') "
          f"{ours_rate / full_rate:.2f} |")
    print(f"| (c) no-change resync | 0 | {resync_s:.3f} | | < 0.5 s |")
    if cpu2[0]:
        raw_cpu, ours_cpu, ours_main = cpu1[0] - cpu0[0], cpu2[0] - cpu1[0], cpu2[1] - cpu1[1]
        print(f"\nCPU on {os.cpu_count()} cores, whole machine (Dovecot included): raw loop "
              f"{raw_cpu:.1f} s ({raw_cpu / raw_s:.2f} cores busy); sync {ours_cpu:.1f} s "
              f"({ours_cpu / ours_s:.2f} cores busy), of which this process {ours_main:.1f} s "
              f"and the parse worker and Dovecot {ours_cpu - ours_main:.1f} s.")
    ok = raw_n == ours_n == full_n == args.messages and resync_s < 0.5
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
