"""Reader view-model: a conversation, newest last, rendered safely.

Pure Python (no Qt).  HTML goes through nh3 (no script, no event handler, no
style, no form survives); remote images are dropped unless the sender was
explicitly allowed (:class:`SenderPrefs`, remembered in a JSON file); a link
whose text names another domain than its target gets a warning.  Attachment
bytes are read and written in worker threads.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol

import nh3

from services.attachments.safe import save_into
from services.errors import CommError
from services.models import Address, Attachment, Flag, Message

Listener = Callable[[], None]
Fetcher = Callable[[str], bytes]

MAX_THREAD = 25  # messages of a conversation rendered in full
MAX_REMOTE = 20  # remote images fetched per message once allowed
MAX_REMOTE_BYTES = 5 * 1024 * 1024

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "font": {"color"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "*": {"align", "dir", "lang"},
}
_SCHEMES = {"http", "https", "mailto", "cid"}
_DOMAIN = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,63})(?:[:/?#]\S*)?\s*$",
    re.IGNORECASE,
)
_IMG_NO_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
_ALT = re.compile(r'\salt="([^"]*)"', re.IGNORECASE)
_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)


class ReaderStore(Protocol):
    def thread(self, message_id: int) -> list[Message]: ...
    def get(self, message_id: int) -> Message: ...
    def set_flags(
        self, message_id: int, add: Sequence[Flag] = (), remove: Sequence[Flag] = ()
    ) -> frozenset[Flag]: ...


class SenderPrefs:
    """Senders whose remote images the user chose to load, kept in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text("utf-8"))
            self._allowed = {str(a).lower() for a in data.get("load_images_from", [])}
        except (OSError, ValueError, AttributeError):
            self._allowed = set()

    def allows_images(self, sender: str) -> bool:
        return sender.lower() in self._allowed

    def allow_images(self, sender: str) -> None:
        self._allowed.add(sender.lower())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"load_images_from": sorted(self._allowed)}), "utf-8")
        tmp.replace(self.path)


@dataclass(frozen=True, slots=True)
class LinkWarning:
    text: str
    href: str
    shown_domain: str
    target_domain: str


@dataclass(frozen=True, slots=True)
class Sanitized:
    html: str
    blocked: tuple[str, ...]  # remote URLs left out
    remote: tuple[str, ...]  # remote URLs kept (sender allowed)
    cids: tuple[str, ...]  # inline images referenced as cid:


def sanitize_html(source: str, *, allow_remote: bool) -> Sanitized:
    """``source`` with nothing active left; remote images only when ``allow_remote``."""
    blocked: list[str] = []
    remote: list[str] = []
    cids: list[str] = []

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if tag == "img" and attr == "src":
            scheme = urllib.parse.urlsplit(value).scheme.lower()
            if scheme == "cid":
                cids.append(value)
                return value
            if scheme in ("http", "https"):
                (remote if allow_remote else blocked).append(value)
                return value if allow_remote else None
            return None
        return value

    clean = nh3.clean(
        source,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        clean_content_tags={"script", "style", "title", "head"},
        attribute_filter=attribute_filter,
        link_rel="noopener noreferrer",
    )
    # an image whose source was dropped becomes its alt text (no empty resource loads)
    clean = _IMG_NO_SRC.sub(_alt_text, clean)
    return Sanitized(clean, tuple(blocked), tuple(remote), tuple(cids))


def _alt_text(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    return f"<i>[{alt.group(1) if alt else 'image'}]</i>"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append(("".join(self._text).strip(), self._href))
            self._href = None


def _same_site(a: str, b: str) -> bool:
    a, b = a.lower().removeprefix("www."), b.lower().removeprefix("www.")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def link_warnings(clean_html: str) -> list[LinkWarning]:
    """Links whose visible text names a domain other than the one they lead to."""
    parser = _Links()
    parser.feed(clean_html)
    out: list[LinkWarning] = []
    for text, href in parser.links:
        shown = _DOMAIN.match(text)
        target = (urllib.parse.urlsplit(href).hostname or "").lower()
        if shown and target and not _same_site(shown.group(1), target):
            out.append(LinkWarning(text, href, shown.group(1).lower(), target))
    return out


def text_to_html(text: str) -> str:
    """Plain text shown as HTML: escaped, line breaks kept, URLs clickable."""
    escaped = html.escape(text)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return f'<div style="white-space: pre-wrap">{linked}</div>'


def fetch_url(url: str) -> bytes:
    """Fetch a remote image (http/https only, bounded size and time)."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValueError(f"not a web URL: {url}")
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read(MAX_REMOTE_BYTES + 1)
    if len(data) > MAX_REMOTE_BYTES:
        raise ValueError(f"{url} is larger than {MAX_REMOTE_BYTES} bytes")
    return data


@dataclass(slots=True)
class RenderedMessage:
    message: Message
    html: str
    blocked: tuple[str, ...] = ()
    warnings: list[LinkWarning] = field(default_factory=list)
    resources: dict[str, bytes] = field(default_factory=dict)

    @property
    def sender_address(self) -> str:
        return self.message.sender.address if self.message.sender else ""


def display_address(a: Address) -> str:
    """``Name <address>`` for people to read (never RFC 2047 encoded)."""
    return f"{a.name} <{a.address}>" if a.name else a.address


def _header(m: Message) -> str:
    sender = html.escape(display_address(m.sender) if m.sender else "")
    to = html.escape(", ".join(display_address(a) for a in m.to))
    when = m.date.strftime("%Y-%m-%d %H:%M") if m.date else ""
    subject = html.escape(m.subject or "")
    rows = f"<b>{sender}</b> &nbsp; <span>{when}</span>"
    if to:
        rows += f"<br/><small>To: {to}</small>"
    if subject:
        rows += f"<br/><small>Subject: {subject}</small>"
    return rows


class ReaderViewModel:
    def __init__(
        self,
        store: ReaderStore,
        prefs: SenderPrefs,
        *,
        scratch_dir: Path,
        fetch: Fetcher | None = fetch_url,
        mark_read: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        # tells the message's server it was read (blocking; run in a worker thread after
        # the local flag is set); None: local only
        self._mark_read = mark_read
        self._newly_read: set[int] = set()
        self.prefs = prefs
        self.scratch_dir = scratch_dir
        self._fetch = fetch
        self.messages: list[RenderedMessage] = []
        self.current_id: int | None = None
        self.error: str | None = None
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._export_seq = 0

    def on_changed(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- loading ---------------------------------------------------------------------
    def open(self, message_id: int) -> asyncio.Task[None]:
        """Show ``message_id``'s conversation; a load still running is cancelled."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self._load(message_id))
        self._tasks.add(self._task)
        self._task.add_done_callback(self._tasks.discard)
        return self._task

    def clear(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.messages, self.current_id = [], None
        self._emit()

    async def _load(self, message_id: int) -> None:
        try:
            rendered = await asyncio.to_thread(self._render_thread, message_id)
        except CommError as exc:
            self.error = str(exc)
            self.messages = []
        else:
            self.error = None
            self.messages = rendered
            if message_id in self._newly_read:
                self._newly_read.discard(message_id)
                self._push_read(message_id)
        self.current_id = message_id
        self._emit()

    def _render_thread(self, message_id: int) -> list[RenderedMessage]:
        summaries = self._store.thread(message_id)[-MAX_THREAD:]
        ids = [m.id for m in summaries if m.id is not None]
        if message_id not in ids:
            ids = [*ids[1:], message_id] if len(ids) >= MAX_THREAD else [*ids, message_id]
        out = [self.render(self._store.get(i)) for i in ids]
        for m in out:
            if m.message.id == message_id and m.message.is_unread:
                self._store.set_flags(message_id, add=[Flag.SEEN])
                m.message.flags = m.message.flags | {Flag.SEEN}
                self._newly_read.add(message_id)
        return out

    def _push_read(self, message_id: int) -> None:
        """Tell the server (a tracked task; the local flag is already set)."""
        mark = self._mark_read
        if mark is None:
            return

        async def push() -> None:
            try:
                await asyncio.to_thread(mark, message_id)
            except CommError as exc:  # offline, refused: the local flag stays; say so
                self.error = f"could not mark as read on the server: {exc}"
                self._emit()

        task: asyncio.Task[object] = asyncio.ensure_future(push())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def render(self, m: Message) -> RenderedMessage:
        """One message as safe HTML (runs in a worker thread: may fetch remote images)."""
        sender = m.sender.address if m.sender else ""
        resources: dict[str, bytes] = {}
        blocked: tuple[str, ...] = ()
        warnings: list[LinkWarning] = []
        if m.body_html:
            clean = sanitize_html(m.body_html, allow_remote=self.prefs.allows_images(sender))
            blocked = clean.blocked
            warnings = link_warnings(clean.html)
            body = clean.html
            for url in clean.remote[:MAX_REMOTE]:
                if self._fetch is not None:
                    try:
                        resources[url] = self._fetch(url)
                    except (OSError, ValueError):
                        continue
            by_cid = {f"cid:{a.content_id.strip('<>')}": a for a in m.attachments if a.content_id}
            for cid in clean.cids:
                att = by_cid.get(cid)
                if att is not None:
                    try:
                        resources[cid] = att.read()
                    except (CommError, OSError):
                        continue
        else:
            body = text_to_html(m.body_text or m.snippet)
        page = f"<div>{_header(m)}</div><hr/>{body}"
        return RenderedMessage(m, page, blocked, warnings, resources)

    # -- what the view shows -------------------------------------------------------------
    @property
    def blocked_senders(self) -> list[str]:
        """Senders of shown messages whose remote images were blocked."""
        seen: list[str] = []
        for m in self.messages:
            if m.blocked and m.sender_address and m.sender_address not in seen:
                seen.append(m.sender_address)
        return seen

    @property
    def warnings(self) -> list[LinkWarning]:
        return [w for m in self.messages for w in m.warnings]

    @property
    def attachments(self) -> list[Attachment]:
        return [a for m in self.messages for a in m.message.attachments if not a.inline]

    @property
    def resources(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for m in self.messages:
            out.update(m.resources)
        return out

    @property
    def current(self) -> Message | None:
        for m in self.messages:
            if m.message.id == self.current_id:
                return m.message
        return self.messages[-1].message if self.messages else None

    def conversation_html(self) -> str:
        """Every message of the conversation, oldest first and newest last."""
        blocks = [f'<div class="message">{m.html}</div>' for m in self.messages]
        return "<br/><br/>".join(blocks)

    async def allow_images(self, sender: str) -> None:
        """Remember ``sender`` as trusted for remote images and re-render."""
        await asyncio.to_thread(self.prefs.allow_images, sender)
        if self.current_id is not None:
            await self.open(self.current_id)

    # -- attachments -------------------------------------------------------------------------
    async def read_attachment(self, attachment: Attachment) -> bytes:
        return await asyncio.to_thread(attachment.read)

    async def save_attachment(self, attachment: Attachment, folder: Path) -> Path:
        """Save into ``folder`` under a safe name that never overwrites."""
        data = await self.read_attachment(attachment)
        return await asyncio.to_thread(save_into, folder, attachment.filename, data)

    def export_for_drag(self, attachment: Attachment) -> Path:
        """Write ``attachment`` as a real file in a fresh folder under the scratch dir (for a
        drag to a file manager or for opening it); blocking, so call it from a thread or
        for small files only."""
        self._export_seq += 1
        folder = self.scratch_dir / f"drag-{self._export_seq}"
        return save_into(folder, attachment.filename, attachment.read())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
