"""End to end: the real app (``python -m app``, the demo) under Xvfb, driven by xdotool.

The fixture starts ``Xvfb :N``, runs the app with ``QT_QPA_PLATFORM=xcb`` and a temp
``COMMHUB_DATA_DIR``, and waits for ``commhub: window ready`` on stdout.  The test
types and clicks with real X input events and saves screenshots of the whole screen
(``import -window root``) to build/screenshots/e2e-*.png.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
TOOLS = ("Xvfb", "xdotool", "import")

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"
)


def _free_display() -> int:
    for n in range(90, 190):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


class App:
    def __init__(self, proc: subprocess.Popen[str], display: str) -> None:
        self.proc = proc
        self.display = display
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"app exited ({self.proc.returncode}): {self.seen}"
                    ) from None
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} within {timeout}s; saw {self.seen}")

    def xdo(self, *args: str, check: bool = True) -> str:
        env = {**os.environ, "DISPLAY": self.display}
        out = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True,
                             timeout=10, check=False)
        if check and out.returncode:
            raise AssertionError(f"xdotool {args}: {out.returncode} {out.stderr}")
        return out.stdout.strip()

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"e2e-{name}.png"
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)],
                       check=True, timeout=20)
        return path


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    n = _free_display()
    display = f":{n}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert xvfb.poll() is None, "Xvfb exited"
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "COMMHUB_DATA_DIR": str(tmp_path / "data"),
            "COMMHUB_CONFIG_DIR": str(tmp_path / "config"),
            "COMMHUB_TRACE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=open(tmp_path / "stderr.txt", "w"),  # noqa: SIM115
        )
        handle = App(proc, display)
        try:
            handle.wait_for("commhub: window ready", timeout=60)
            yield handle
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def colours(path: Path) -> int:
    with Image.open(path) as img:
        return len(img.convert("RGB").getcolors(1 << 20) or [])


def test_read_a_conversation_search_and_quit(app: App, tmp_path: Path) -> None:
    window = app.xdo("search", "--sync", "--onlyvisible", "--name", "Commhub").split()[0]
    geometry = app.xdo("getwindowgeometry", window)
    assert "Geometry:" in geometry
    # click into the message list (first row), then walk it with j/k
    app.xdo("mousemove", "--window", window, "420", "66", "click", "1")
    app.wait_for("commhub: reading")
    app.xdo("key", "--window", window, "j")
    app.wait_for("commhub: reading")
    app.xdo("key", "--window", window, "k")
    app.wait_for("commhub: reading")

    # "/" focuses the search field; type a query, Enter, Down into the results
    app.xdo("key", "--window", window, "slash")
    app.xdo("type", "--window", window, "--delay", "30", "has:attachment")
    app.xdo("key", "--window", window, "Return")
    line = app.wait_for("commhub: results")
    while "'has:attachment'" not in line:
        line = app.wait_for("commhub: results")
    found = int(line.split()[2])
    assert found >= 1
    app.xdo("key", "--window", window, "Down")
    reading = app.wait_for("commhub: reading")
    for _ in range(found):  # walk down to a conversation (2+ messages) with attachments
        if " 0 attachment(s)" not in reading and " in 1 message(s)" not in reading:
            break
        app.xdo("key", "--window", window, "j")
        reading = app.wait_for("commhub: reading")
    assert " 0 attachment(s)" not in reading
    time.sleep(1.5)  # thumbnails are rendered in a worker
    conversation = app.shot("conversation")
    assert colours(conversation) > 50  # a painted window, not a black screen

    # a live (debounced) search typed without Enter
    app.xdo("key", "--window", window, "slash")
    app.xdo("type", "--window", window, "--delay", "40", "from:ana")
    line = app.wait_for("commhub: results")
    while "'from:ana'" not in line:
        line = app.wait_for("commhub: results")
    time.sleep(0.5)
    search = app.shot("search")
    assert colours(search) > 50
    with Image.open(conversation) as a, Image.open(search) as b:
        assert a.convert("RGB").tobytes() != b.convert("RGB").tobytes()

    # the window is gone before xdotool sends the key release: do not check its status
    app.xdo("key", "--window", window, "ctrl+q", check=False)
    code = app.proc.wait(20)
    assert code == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    assert (tmp_path / "config" / "window.ini").is_file()  # window state saved on quit


def _audit_events(data_dir: Path) -> list[str]:
    import sqlite3

    path = data_dir / "demo" / "audit.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return [str(r[0]) for r in db.execute("SELECT event FROM audit_log ORDER BY seq")]


def test_compose_attach_send_then_contacts_and_audit_panes(app: App, tmp_path: Path) -> None:
    window = app.xdo("search", "--sync", "--onlyvisible", "--name", "Commhub").split()[0]
    attachment = tmp_path / "e2e-notes.txt"
    attachment.write_text("notes for the e2e test\n", encoding="utf-8")

    # from the message list, "c" opens the compose window with the cursor in To
    app.xdo("mousemove", "--window", window, "420", "66", "click", "1")
    app.wait_for("commhub: reading")
    app.xdo("key", "--window", window, "c")
    app.wait_for("commhub: compose editing")
    compose = app.xdo("search", "--sync", "--onlyvisible", "--name", "New message").split()[0]
    app.xdo("windowfocus", "--sync", compose)  # no window manager under Xvfb: focus it
    app.xdo("type", "--delay", "20", "ana.lima@northwind.example")
    app.xdo("key", "Tab", "Tab", "Tab")  # Cc, Bcc, Subject
    app.xdo("type", "--delay", "20", "E2E hello from Xvfb")
    # the text: click into the body, type
    app.xdo("mousemove", "--window", compose, "380", "380", "click", "1")
    app.xdo("type", "--delay", "10", "Typed with real key events.")
    # Attach… opens Qt's file dialog: type the path, Enter
    app.xdo("mousemove", "--window", compose, "708", "199", "click", "1")
    dialog = app.xdo("search", "--sync", "--onlyvisible", "--name", "Attach files").split()[0]
    app.xdo("windowfocus", "--sync", dialog)
    app.xdo("type", "--delay", "10", str(attachment))
    app.xdo("key", "Return")
    time.sleep(0.8)
    shot = app.shot("compose")
    assert colours(shot) > 50

    app.xdo("windowfocus", "--sync", compose)
    app.xdo("key", "ctrl+Return")  # send; 5 s to undo, then it goes
    app.wait_for("commhub: compose pending")
    app.wait_for("commhub: compose sent", timeout=30)
    deadline = time.monotonic() + 10  # the window closes itself a moment after sending
    while app.xdo("search", "--onlyvisible", "--name", "E2E hello", check=False):
        assert time.monotonic() < deadline, "the compose window stayed open"
        time.sleep(0.2)

    # the message arrives in the demo inbox (local SMTP server → Maildir → store)
    app.xdo("windowfocus", "--sync", window)
    app.xdo("key", "--window", window, "slash")
    app.xdo("type", "--window", window, "--delay", "20", "subject:e2e")
    app.xdo("key", "--window", window, "Return")
    line = app.wait_for("commhub: results")
    deadline = time.monotonic() + 20
    while not (line.startswith("commhub: results ") and "'subject:e2e'" in line
               and int(line.split()[2]) >= 1):
        assert time.monotonic() < deadline, app.seen[-10:]
        line = app.wait_for("commhub: results")
    app.xdo("key", "--window", window, "Down")
    reading = app.wait_for("commhub: reading")
    assert "1 attachment(s)" in reading
    time.sleep(0.8)
    assert colours(app.shot("sent")) > 50

    # the other panes, through the navigation on the left
    app.xdo("mousemove", "--window", window, "42", "90", "click", "1")
    time.sleep(1.0)
    app.xdo("mousemove", "--window", window, "140", "88", "click", "1")  # a contact's timeline
    time.sleep(1.0)
    assert colours(app.shot("contacts")) > 50
    app.xdo("mousemove", "--window", window, "42", "150", "click", "1")
    time.sleep(1.0)
    assert colours(app.shot("audit")) > 50
    events = _audit_events(tmp_path / "data")
    assert events[0] == "sign-in" and "received" in events and "sent" in events
    # the pane shows them too: the e2e-audit screenshot has the "sent" row

    app.xdo("key", "--window", window, "ctrl+q", check=False)
    code = app.proc.wait(20)
    assert code == 0, (tmp_path / "stderr.txt").read_text()[-3000:]


class Peer:
    """A stand-in file manager window (tests/e2e/dnd_peer.py) on the same display."""

    def __init__(self, app: App, kind: str, path: Path, x: int, y: int) -> None:
        env = {**os.environ, "DISPLAY": app.display, "QT_QPA_PLATFORM": "xcb",
               "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.dnd_peer", kind, str(path), str(x), str(y)],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.out = App(self.proc, app.display)  # reuse the line reader
        self.out.wait_for("peer ready", timeout=30)
        self.x, self.y = x, y

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _drag(app: App, start: tuple[int, int], end: tuple[int, int]) -> None:
    """A real pointer drag (XTEST): press, move past the drag distance in steps, release."""
    app.xdo("mousemove", str(start[0]), str(start[1]))
    app.xdo("mousedown", "1")
    x, y = start
    for step in range(1, 13):
        app.xdo("mousemove", str(x + (end[0] - x) * step // 12), str(y + (end[1] - y) * step // 12))
        time.sleep(0.05)
    time.sleep(0.3)
    app.xdo("mouseup", "1")


def test_drag_an_attachment_out_and_a_file_into_compose(app: App, tmp_path: Path) -> None:
    window = app.xdo("search", "--sync", "--onlyvisible", "--name", "Commhub").split()[0]
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    incoming = tmp_path / "from-the-file-manager.txt"
    incoming.write_text("dragged in from another application\n", encoding="utf-8")
    target = Peer(app, "target", dropped, 1000, 560)
    source = Peer(app, "source", incoming, 1000, 380)
    try:
        # a message with photos: its attachment strip shows thumbnails
        app.xdo("mousemove", "--window", window, "420", "66", "click", "1")
        app.wait_for("commhub: reading")
        app.xdo("key", "--window", window, "slash")
        app.xdo("type", "--window", window, "--delay", "20", "filename:jpg")
        app.xdo("key", "--window", window, "Return")
        line = app.wait_for("commhub: results")
        while "'filename:jpg'" not in line:
            line = app.wait_for("commhub: results")
        app.xdo("key", "--window", window, "Down")
        reading = app.wait_for("commhub: reading")
        assert " 0 attachment(s)" not in reading
        time.sleep(1.5)  # thumbnails and the files behind them are made in a worker

        # drag the first thumbnail out onto the "file manager": a real file arrives there
        _drag(app, (881, 670), (target.x + 150, target.y + 80))
        got = target.out.wait_for("dropped ", timeout=15).removeprefix("dropped ")
        with Image.open(dropped / got) as img:  # the real bytes: a JPEG that decodes
            assert img.format == "JPEG" and img.size[0] > 0

        # and a file from the "file manager" dropped on the compose window attaches it
        app.xdo("mousemove", "--window", window, "420", "66", "click", "1")  # the list
        app.xdo("key", "--window", window, "c")
        app.wait_for("commhub: compose editing attachments=0")
        _drag(app, (source.x + 150, source.y + 80), (380, 380))
        app.wait_for("commhub: compose editing attachments=1", timeout=15)
        time.sleep(0.5)
        assert colours(app.shot("drag-in")) > 50
    finally:
        target.stop()
        source.stop()
