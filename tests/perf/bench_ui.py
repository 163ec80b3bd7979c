"""UI benchmark (offscreen): ``python -m tests.perf.bench_ui [--quick]``.

Figures and targets:
  * warm start to a painted inbox, 100k messages in the store      ≤ 1 s
    (in-process: store open, view-models, window, first page, first paint;
    also the cold ``python -m app``-style process start, for information)
  * first paint of a 1,000,000-row list                            ≤ 150 ms
  * p95 frame time while scrolling the 1M list                     ≤ 16 ms
  * RSS with 100k messages (after scrolling through them)          ≤ 300 MB

The stores are generated once (store.ingest of small chat-like messages, fast)
and cached under /tmp/commhub-bench-ui.  ``--quick`` uses 10k/100k rows instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CACHE = Path("/tmp/commhub-bench-ui")
ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
_WORDS = ("report", "invoice", "lunch", "meeting", "release", "server", "budget", "travel")


def build_store(path: Path, n: int) -> None:
    """A store with ``n`` messages (several accounts and channels), built once."""
    from services.models import Address, ChannelKind, Flag, Message
    from services.store import Store

    done = path.with_suffix(".done")
    if done.exists() and path.exists():
        return
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    store = Store.open(path)
    store.ensure_account("work", "imap", address="me@example.org")
    store.ensure_account("phone", "twilio", channel=ChannelKind.SMS)
    store.set_fts_automerge(0)
    batch: list[tuple[Message, bytes]] = []
    for i in range(n):
        sms = i % 10 == 0
        text = f"{_WORDS[i % 8]} number {i} for {_WORDS[(i * 7) % 8]}"
        raw = f"{i}:{text}".encode()
        flags = frozenset() if i % 4 == 0 else frozenset({Flag.SEEN})
        batch.append((Message(
            channel=ChannelKind.SMS if sms else ChannelKind.EMAIL,
            account="phone" if sms else "work", folder="SMS" if sms else "INBOX",
            remote_id=f"r{i}", sender=Address(f"p{i % 997}@example.org", f"Person {i % 997}"),
            subject="" if sms else f"{_WORDS[i % 8].title()} {i}",
            date=END - timedelta(seconds=37 * i), snippet=text, body_text=text,
            size=len(raw), flags=flags,
        ), raw))
        if len(batch) == 5000:
            store.ingest(batch)
            batch.clear()
    if batch:
        store.ingest(batch)
    store.optimize()
    store.set_fts_automerge(8)
    store.close()
    done.touch()
    print(f"  (generated {n:,} messages in {time.perf_counter() - t0:.1f} s: {path})")


def rss_mb(kind: str = "VmRSS") -> float:
    """Resident memory (``VmRSS``; ``RssAnon``: private memory, ``RssFile``: mapped files
    such as the SQLite database read through mmap) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Bench:
    def __init__(self) -> None:
        import qasync

        from ui.qt import QtWidgets

        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        self.loop = qasync.QEventLoop(self.app, already_running=False)
        asyncio.set_event_loop(self.loop)

    def open_window(self, db: Path, tmp: Path) -> tuple[object, object, float]:
        """Open store + view-models + window; wait for the first page; paint. Seconds."""
        from services.store import Store
        from ui.viewmodels.inbox import InboxViewModel
        from ui.viewmodels.reader import ReaderViewModel, SenderPrefs
        from ui.viewmodels.sidebar import SavedSearches, SidebarViewModel
        from ui.views.main_window import MainWindow

        t0 = time.perf_counter()
        store = Store.open(db)
        inbox = InboxViewModel(store)
        reader = ReaderViewModel(store, SenderPrefs(tmp / "s.json"), scratch_dir=tmp)
        sidebar = SidebarViewModel(store, SavedSearches(tmp / "saved.json"))
        window = MainWindow(inbox, reader=reader, sidebar=sidebar)
        window.resize(1280, 800)
        window.show()

        async def first() -> None:
            await asyncio.gather(sidebar.refresh(), inbox.search("", immediate=True))

        self.loop.run_until_complete(first())
        window.table.viewport().repaint()
        elapsed = time.perf_counter() - t0
        assert window.model.data(window.model.index(0, 3)) not in (None, "…")
        return store, window, elapsed

    def close(self, store: object, window: object) -> None:
        window.close()  # type: ignore[attr-defined]
        self.loop.run_until_complete(window.close_tasks())  # type: ignore[attr-defined]
        self.loop.run_until_complete(window.vm.close())  # type: ignore[attr-defined]
        store.close()  # type: ignore[attr-defined]

    def scroll(self, window: object, frames: int = 600) -> list[float]:
        """Scroll like a user (wheel steps of 3 rows, and every 100th frame a drag of the
        thumb far down), inside the running event loop so that rows becoming visible
        request their pages.  A frame = handling the scroll and repainting the list, plus
        the GUI-thread work that runs before the next frame (pages landing).  Between
        frames the loop idles for the rest of a 60 Hz frame while workers fetch.  ms."""
        table = window.table  # type: ignore[attr-defined]
        bar = table.verticalScrollBar()
        step = table.verticalHeader().defaultSectionSize() * 3

        async def run() -> list[float]:
            times: list[float] = []
            value = 0
            for i in range(frames):
                if i % 100 == 99:
                    value = min(bar.maximum(), value + bar.maximum() // 7)
                else:
                    value = min(bar.maximum(), value + step)
                t = time.perf_counter()
                bar.setValue(value)
                table.viewport().repaint()
                await asyncio.sleep(0)  # landed pages, dataChanged: part of this frame
                times.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(max(0.0, 1 / 60 - times[-1] / 1000))
            await asyncio.sleep(0.2)
            return times

        return self.loop.run_until_complete(run())


def cold_start(db_dir: Path) -> float:
    """``python -m app`` (offscreen) until it prints 'commhub: window ready'."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COMMHUB_DATA_DIR": str(db_dir),
           "COMMHUB_CONFIG_DIR": str(db_dir / "config")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "window ready" in line:
            break
    elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.wait(10)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows")
    args = parser.parse_args()
    small, big = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    small_db = CACHE / f"store-{small}" / "commhub.sqlite3"
    big_db = CACHE / f"store-{big}" / "commhub.sqlite3"
    print(f"stores under {CACHE} ({small:,} and {big:,} messages)")
    build_store(small_db, small)
    build_store(big_db, big)
    tmp = CACHE / "scratch"
    tmp.mkdir(parents=True, exist_ok=True)

    bench = Bench()
    results: list[tuple[str, float, float, str]] = []

    store, window, _ = bench.open_window(small_db, tmp)  # warms the file cache and imports
    bench.close(store, window)
    starts = []
    for _ in range(3):
        store, window, seconds = bench.open_window(small_db, tmp)
        starts.append(seconds)
        bench.close(store, window)
    results.append((f"warm start to painted inbox ({small:,})", min(starts) * 1000, 1000, "ms"))

    store, window, _ = bench.open_window(small_db, tmp)
    bench.scroll(window, frames=400)
    results.append((f"RSS with {small:,} messages", rss_mb(), 300, "MB"))
    breakdown = f"anon {rss_mb('RssAnon'):.0f} MB + files {rss_mb('RssFile'):.0f} MB"
    bench.close(store, window)

    store, window, _ = bench.open_window(big_db, tmp)
    bench.close(store, window)
    paints = []
    for _ in range(3):
        store, window, seconds = bench.open_window(big_db, tmp)
        paints.append(seconds)
        if _ < 2:
            bench.close(store, window)
    rows = window.model.rowCount()  # type: ignore[attr-defined]
    results.append((f"first paint of a {rows:,}-row list", min(paints) * 1000, 150, "ms"))
    frames = bench.scroll(window)
    p95 = statistics.quantiles(frames, n=20)[-1]
    results.append((f"p95 frame while scrolling {rows:,} rows", p95, 16, "ms"))
    cached = len(window.vm.cached_pages())  # type: ignore[attr-defined]
    bench.close(store, window)
    bench.loop.run_until_complete(bench.loop.shutdown_default_executor())
    bench.loop.close()

    print(f"\n{'figure':<48} {'value':>10} {'target':>10}")
    failed = 0
    for name, value, target, unit in results:
        ok = value <= target
        failed += not ok
        print(f"{name:<48} {value:>8.1f} {unit} {'≤':>3} {target:g} {unit}  "
              f"{'ok' if ok else 'OVER'}")
    print(f"(RSS: {breakdown}; max frame {max(frames):.1f} ms, "
          f"median {statistics.median(frames):.1f} ms; "
          f"{cached} pages cached at the end)")
    print(f"cold process start to 'window ready' (demo, incl. imports): "
          f"{cold_start(tmp / 'cold'):.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
