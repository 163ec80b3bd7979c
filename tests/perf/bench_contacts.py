"""``python -m tests.perf.bench_contacts``: the contacts service on a big store.

Builds (once, reused) a store of ``COMMHUB_BENCH_CONTACTS_N`` messages (default 100,000)
over 3,000 e-mail addresses and 300 phone numbers, then times, median and p95 of
``COMMHUB_BENCH_REPEATS`` runs: the whole list (cold and cached), a search, address completion (what
each keystroke in a To field costs) and one contact's timeline.  Writes
``build/bench/contacts.json``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.contacts import ContactsService
from services.models import Address, ChannelKind, Message
from services.store import Store

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("COMMHUB_BENCH_CONTACTS_N", "100000"))
REPEATS = int(os.environ.get("COMMHUB_BENCH_REPEATS", "21"))
DB = Path(os.environ.get("COMMHUB_BENCH_DIR", "/tmp/bench")) / f"contacts-{N}.sqlite3"
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jon"]
LAST = ["Lima", "Okafor", "Martin", "Petrov", "Sato", "Nguyen", "Smith", "Garcia", "Kim"]


def _messages(n: int) -> Iterator[tuple[Message, bytes]]:
    rnd = random.Random(7)
    people = [(f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", f"person{i}@example{i % 40}.org")
              for i in range(3000)]
    phones = [f"+1555{i:07d}" for i in range(300)]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    me = Address("me@example.org", "Me")
    for i in range(n):
        when = start + timedelta(minutes=37 * i)
        if i % 10 == 0:
            phone = rnd.choice(phones)
            yield Message(channel=ChannelKind.SMS, account="sms", folder="SMS",
                          remote_id=f"s{i}", sender=Address(phone), to=(Address("+15550000"),),
                          date=when, body_text=f"text {i}", snippet=f"text {i}"), b"sms%d" % i
            continue
        name, addr = rnd.choice(people)
        other = Address(*reversed(rnd.choice(people)))
        incoming = rnd.random() < 0.7
        them = Address(addr, name)
        sender, to = (them, (me, other)) if incoming else (me, (them,))
        yield Message(account="mail", folder="INBOX", remote_id=f"m{i}", sender=sender, to=to,
                      subject=f"subject {i}", date=when, body_text=f"body {i}",
                      message_id=f"<m{i}@bench>"), b"mail%d" % i


def _store() -> Store:
    fresh = not DB.exists()
    DB.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(DB)
    if fresh:
        store.ensure_account("mail", "maildir", address="me@example.org")
        store.ensure_account("sms", "twilio", channel=ChannelKind.SMS, address="+15550000")
        t = time.perf_counter()
        store.ingest(_messages(N))
        print(f"built {N} messages in {time.perf_counter() - t:.1f} s")
    return store


def _time(fn: Callable[[], object]) -> dict[str, float]:
    fn()  # warm
    runs = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return {"p50_ms": round(statistics.median(runs), 2),
            "p95_ms": round(runs[int(0.95 * (len(runs) - 1))], 2)}


def main() -> None:
    store = _store()
    service = ContactsService(store)
    entries = service.entries()
    busiest = max(entries, key=lambda e: e.message_count)
    results = {
        "messages": N,
        "contacts": len(entries),
        "list all, cold (new service: aggregates every participant)": _time(
            lambda: ContactsService(store).entries()),
        "list all, cached": _time(service.entries),
        "search 'okafor'": _time(lambda: service.search("okafor")),
        "complete 'an'": _time(lambda: service.complete("an")),
        f"timeline ({busiest.message_count} messages, first 200)": _time(
            lambda: service.timeline(busiest.key)),
    }
    store.close()
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "contacts.json").write_text(json.dumps(results, indent=2))
    print("| operation | p50 ms | p95 ms |\n|---|---|---|")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"| {key} | {value['p50_ms']} | {value['p95_ms']} |")
    print(f"{results['contacts']} contacts over {N} messages")


if __name__ == "__main__":
    main()
