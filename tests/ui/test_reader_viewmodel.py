"""The reader view-model as plain async Python over a real store (no Qt)."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.models import Flag
from services.query.builder import EmailQuery
from services.store import Store
from tests.ui.inbox_stores import mail_store, pdf_bytes, png_bytes
from ui.viewmodels.reader import (
    ReaderViewModel,
    SenderPrefs,
    link_warnings,
    sanitize_html,
    text_to_html,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = mail_store(tmp_path / "mail.sqlite3")
    yield s
    s.close()


def reader(store: Store, tmp_path: Path, **kw: Any) -> ReaderViewModel:
    prefs = SenderPrefs(tmp_path / "conf" / "senders.json")
    return ReaderViewModel(store, prefs, scratch_dir=tmp_path / "scratch", **kw)


def find(store: Store, text: str) -> int:
    found = store.search(EmailQuery.parse(text))
    assert found, text
    return found[0].id or 0


async def test_conversation_newest_last_and_opened_message_marked_read(
    store: Store, tmp_path: Path
) -> None:
    vm = reader(store, tmp_path)
    newest = find(store, "subject:quarterly has:attachment filename:report.pdf")
    changed: list[int] = []
    vm.on_changed(lambda: changed.append(1))
    await vm.open(newest)
    assert changed == [1]
    dates = [m.message.date for m in vm.messages]
    assert len(dates) == 3 and dates == sorted(dates)
    assert vm.messages[-1].message.id == newest
    html = vm.conversation_html()
    assert html.index("Draft attached") < html.index("Looks right") < html.index("Final version")
    assert Flag.SEEN in store.get(newest).flags
    names = [a.filename for a in vm.attachments]
    assert names == ["chart.png", "report.pdf", "notes.txt"]
    await vm.close()


async def test_html_is_sanitised_tracker_blocked_and_misleading_link_flagged(
    store: Store, tmp_path: Path
) -> None:
    vm = reader(store, tmp_path, fetch=None)
    await vm.open(find(store, "subject:account"))
    html = vm.conversation_html()
    assert "<script" not in html and "pwned" not in html and "onclick" not in html
    assert "tracker.example" not in html
    assert vm.blocked_senders == ["ben@okafor.example"]
    [warning] = vm.warnings
    assert (warning.shown_domain, warning.target_domain) == ("mybank.example", "evil.example")
    assert "docs.northwind.example" in html  # the honest link stays, without a warning
    await vm.close()


class _Images(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Images.hits.append(self.path)
        body = png_bytes(8, 8)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Images.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_load_images_from_this_sender_is_explicit_and_remembered(
    tmp_path: Path, image_server: str
) -> None:
    from services.mime.parse import parse_message
    from tests.ui.inbox_stores import BEN, NOW, email

    s = Store.open(tmp_path / "img.sqlite3")
    s.ensure_account("work", "maildir")
    em = email("Newsletter", BEN, "text", when=NOW, msgid="n1",
               html=f'<p>Hi</p><img src="{image_server}/logo.png" alt="logo">')
    raw = em.as_bytes()
    s.ingest([(parse_message(raw, account="work", folder="INBOX", remote_id="n1"), raw)])
    mid = find(s, "subject:newsletter")
    vm = reader(s, tmp_path)
    await vm.open(mid)
    assert _Images.hits == []  # nothing fetched before the user says so
    assert vm.blocked_senders == ["ben@okafor.example"] and not vm.resources
    await vm.allow_images("ben@okafor.example")
    assert _Images.hits == ["/logo.png"]
    assert vm.blocked_senders == []
    url = f"{image_server}/logo.png"
    assert vm.resources[url].startswith(b"\x89PNG") and url in vm.conversation_html()
    again = SenderPrefs(tmp_path / "conf" / "senders.json")
    assert again.allows_images("BEN@okafor.example")
    await vm.close()
    s.close()


async def test_plain_text_fallback_escapes_and_links(store: Store, tmp_path: Path) -> None:
    vm = reader(store, tmp_path)
    await vm.open(find(store, "channel:sms"))
    assert "white-space: pre-wrap" in vm.conversation_html()
    html = text_to_html("<b>not bold</b> see https://example.org/x?a=1")
    assert "&lt;b&gt;" in html and '<a href="https://example.org/x?a=1">' in html
    await vm.close()


async def test_save_and_export_use_safe_names_and_never_overwrite(
    store: Store, tmp_path: Path
) -> None:
    vm = reader(store, tmp_path)
    await vm.open(find(store, "filename:report.pdf"))
    notes = next(a for a in vm.attachments if a.filename.endswith("notes.txt"))
    pdf = next(a for a in vm.attachments if a.filename == "report.pdf")
    out = tmp_path / "Downloads"
    first = await vm.save_attachment(notes, out)
    second = await vm.save_attachment(notes, out)
    assert first.parent == out.resolve() and first.name == "notes.txt"
    assert second.name == "notes (1).txt" and second.read_bytes() == b"line one\nline two\n"
    exported = vm.export_for_drag(pdf)
    assert exported.read_bytes() == pdf_bytes()
    assert (tmp_path / "scratch").resolve() in exported.resolve().parents
    await vm.close()


def test_link_warning_rules() -> None:
    def shown(text: str, href: str) -> list[str]:
        return [w.target_domain for w in link_warnings(f'<a href="{href}">{text}</a>')]

    assert shown("paypal.com", "https://paypal.com.evil.ru/x") == ["paypal.com.evil.ru"]
    assert shown("https://www.bank.example/login", "https://bank.example/login") == []
    assert shown("Click here", "https://anything.example") == []
    assert shown("mail.example.org", "https://example.org/") == []


_TAGS = st.sampled_from(["script", "img", "a", "p", "iframe", "style", "svg", "object", "b"])
_ATTRS = st.sampled_from(["onerror", "onclick", "src", "href", "style", "onload", "srcdoc"])
_VALUES = st.sampled_from(["javascript:alert(1)", "https://t.example/p.png", "x", "file:///etc"])


@given(st.lists(st.tuples(_TAGS, _ATTRS, _VALUES, st.text(max_size=8)), max_size=6))
def test_sanitiser_never_lets_active_content_through(parts: list[tuple[str, ...]]) -> None:
    source = "".join(f'<{t} {a}="{v}">{txt}</{t}>' for t, a, v, txt in parts)
    clean = sanitize_html(source, allow_remote=False).html.lower()
    assert not re.search(r"<(script|iframe|style|svg|object)\b", clean)
    assert not re.search(r"\son\w+\s*=", clean)
    assert "javascript:" not in clean and "file:" not in clean and "srcdoc" not in clean
    assert "t.example" not in re.sub(r">[^<]*<", "><", clean)  # no remote URL in attributes


async def test_headers_show_readable_names(tmp_path: Path) -> None:
    from services.mime.parse import parse_message
    from tests.ui.inbox_stores import NOW, email

    s = Store.open(tmp_path / "names.sqlite3")
    s.ensure_account("work", "maildir")
    raw = email("Отчёт", ("Дмитрий Петров", "dmitri@petrov.example"), "Привет",
                when=NOW, msgid="r1").as_bytes()
    s.ingest([(parse_message(raw, account="work", folder="INBOX", remote_id="r1"), raw)])
    vm = reader(s, tmp_path)
    await vm.open(find(s, "from:dmitri"))
    html = vm.conversation_html()
    assert "Дмитрий Петров &lt;dmitri@petrov.example&gt;" in html and "=?utf-8?" not in html
    await vm.close()
    s.close()
