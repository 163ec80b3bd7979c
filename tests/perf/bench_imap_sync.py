"""IMAP header sync throughput: our ``ImapService.sync()`` against a bare imapclient loop.

1. A private Dovecot; N corpus messages (100,000 by default, ``COMMHUB_BENCH_IMAP_N`` or
   ``--messages`` to change) written straight into alice's Maildir, then indexed by
   ``doveadm force-resync`` (not timed).
2. One untimed pass fetches every message's sync header fields, so that Dovecot's cache is
   in the same state for every timed run (the first fetch of a header field fills it).
3. Three rounds (``--rounds``) of the following, their order rotated from round to round
   so that none always runs first or last (the first runs after the setup are slower:
   Dovecot's cache and this process settle):
   (a) raw loop: ``UID FETCH <1,000 UIDs> (UID FLAGS RFC822.SIZE INTERNALDATE
   BODY.PEEK[HEADER.FIELDS (...)])`` — the very items the sync fetches
   (``protocol.header_items()``) — over every UID with imapclient, data thrown away;
   (a') the same loop fetching the whole header (``BODY.PEEK[HEADER]``), for reference;
   (b) ``ImapService.sync()`` into a fresh store (fetch, parse, index, commit);
   (c) a no-change resync of the folder (target < 0.5 s).
4. Prints a Markdown table of the medians (and ranges) with msgs/s and the ratios
   (b)/(a) (target >= 0.8) and (b)/(a'), from the medians and per round, and the CPU
   time each side used (from /proc: the whole machine, this process, Dovecot).

Run: ``.venv/bin/python -m tests.perf.bench_imap_sync [--messages N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
ROUNDS = int(os.environ.get("COMMHUB_BENCH_IMAP_ROUNDS", "3"))
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


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by process ``root`` (Dovecot's master), its live descendants
    and the children it has reaped; 0.0 where /proc is missing."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
    if root not in stats:
        return 0.0
    total = int(stats[root][13]) + int(stats[root][14])  # reaped children: cutime + cstime
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, f in stats.items() if int(f[1]) in tree} - tree
        tree |= found
        grew = bool(found)
    return (total + sum(int(stats[p][11]) + int(stats[p][12]) for p in tree)) / ticks


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


@dataclass
class Timed:
    """One timed run: seconds, messages, and the CPU seconds the whole machine, this
    process and Dovecot used meanwhile."""

    seconds: float
    messages: int
    machine: float
    mine: float
    dovecot: float
    resync: float = 0.0


def timed(server: DovecotServer, run: Callable[[], tuple[float, int, float]]) -> Timed:
    cpu0, dovecot0 = cpu_seconds(), tree_cpu_seconds(server.pid)
    seconds, messages, resync = run()
    cpu1, dovecot1 = cpu_seconds(), tree_cpu_seconds(server.pid)
    return Timed(seconds, messages, cpu1[0] - cpu0[0], cpu1[1] - cpu0[1],
                 dovecot1 - dovecot0, resync)


def rounds(server: DovecotServer, count: int, data: Path) -> dict[str, list[Timed]]:
    """``count`` rounds of (a), (a') and (b) + (c), the order rotated each round so that
    none of them always runs first or last; a fresh store for every (b)."""

    def sync() -> tuple[float, int, float]:
        folder = Path(tempfile.mkdtemp(dir=data))
        try:
            return asyncio.run(our_sync(server, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    runs: dict[str, Callable[[], tuple[float, int, float]]] = {
        "a": lambda: (*raw_loop(server, ITEMS), 0.0),
        "full": lambda: (*raw_loop(server, FULL_ITEMS), 0.0),
        "b": sync,
    }
    order = list(runs)
    out: dict[str, list[Timed]] = {name: [] for name in runs}
    for i in range(count):
        for name in order[i % 3:] + order[: i % 3]:
            out[name].append(timed(server, runs[name]))
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _span(values: list[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}" if len(values) > 1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=N)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="commhub-bench-imap-"))
    try:
        with DovecotServer() as server:
            setup = populate(server, args.messages)
            warm_s, _ = raw_loop(server, ITEMS)
            results = rounds(server, args.rounds, data)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    med = {name: _median([r.seconds for r in runs]) for name, runs in results.items()}
    rate = {name: args.messages / seconds for name, seconds in med.items()}
    per_round_a = [a.seconds / b.seconds for a, b in zip(results["a"], results["b"], strict=True)]
    per_round_full = [a.seconds / b.seconds
                      for a, b in zip(results["full"], results["b"], strict=True)]
    resyncs = [r.resync for r in results["b"]]
    print(f"IMAP header sync, {args.messages:,} messages (setup + indexing {setup:.1f} s; "
          f"untimed first fetch of the sync's header fields {warm_s:.1f} s); {args.rounds} "
          "rounds of (a), (a') and (b), the order rotated; medians, then the range\n")
    print(f"Fetched items: {' '.join(ITEMS)}\n")
    print("| measurement | messages | seconds (median) | range | msgs/s | target |")
    print("|---|---:|---:|---:|---:|---|")
    labels = {"a": "(a) raw imapclient FETCH loop, the sync's items",
              "full": "(a') raw imapclient FETCH loop, whole header",
              "b": "(b) ImapService.sync() into a fresh store"}
    for name, label in labels.items():
        runs = results[name]
        target = ""
        if name == "b":
            target = (f"(b)/(a) {rate['b'] / rate['a']:.2f} (>= 0.8), per round "
                      f"{', '.join(f'{r:.2f}' for r in per_round_a)}; (b)/(a') "
                      f"{rate['b'] / rate['full']:.2f}, per round "
                      f"{', '.join(f'{r:.2f}' for r in per_round_full)}")
        print(f"| {label} | {runs[0].messages:,} | {med[name]:.2f} | "
              f"{_span([r.seconds for r in runs])} | {rate[name]:,.0f} | {target} |")
    print(f"| (c) no-change resync | 0 | {_median(resyncs):.3f} | {_span(resyncs, 3)} | "
          "| < 0.5 s |")
    if results["b"][0].machine:
        a, b = results["a"], results["b"]
        cpu = {key: _median([getattr(r, key) for r in b]) for key in ("machine", "mine",
                                                                      "dovecot")}
        raw_cpu = _median([r.machine for r in a])
        print(f"\nCPU on {os.cpu_count()} cores (medians), whole machine: raw loop "
              f"{raw_cpu:.1f} s ({raw_cpu / med['a']:.2f} cores busy; Dovecot "
              f"{_median([r.dovecot for r in a]):.1f} s); sync {cpu['machine']:.1f} s "
              f"({cpu['machine'] / med['b']:.2f} cores busy), of which this process "
              f"{cpu['mine']:.1f} s, Dovecot {cpu['dovecot']:.1f} s and the parse worker "
              f"{cpu['machine'] - cpu['mine'] - cpu['dovecot']:.1f} s.")
    ok = all(r.messages == args.messages for runs in results.values() for r in runs) \
        and max(resyncs) < 0.5
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
