"""Header decoding: raw 8-bit headers, RFC 2047 encoded-words, RFC 2231 parameters,
addresses, dates and message ids.  Lenient and fast; never raises on bad input."""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_tz
from urllib.parse import unquote_to_bytes

from services.mime.text import decode_bytes
from services.models import Address, Priority

__all__ = [
    "HeaderMap",
    "addresses_from_pairs",
    "decode_header_value",
    "decode_words",
    "parse_addresses",
    "parse_date",
    "parse_msgid",
    "parse_msgid_list",
    "parse_priority",
    "split_params",
]

MAX_HEADER_CHARS = 65_536


class HeaderMap(Mapping[str, str]):
    """Decoded headers with case-insensitive lookup.

    Iteration yields the names as first spelled in the message; a header that occurs
    several times (``Received``) maps to its values joined with newlines.
    """

    __slots__ = ("_items",)

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        if pairs:
            for name, value in pairs.items():
                self.add(name, value)

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        old = self._items.get(key)
        if old is None:
            self._items[key] = (name, value)
        else:
            self._items[key] = (old[0], old[1] + "\n" + value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"HeaderMap({dict(self.items())!r})"

    def __getstate__(self) -> dict[str, tuple[str, str]]:
        return self._items

    def __setstate__(self, state: dict[str, tuple[str, str]]) -> None:
        self._items = state


def raw_to_text(value: str) -> str:
    """Undo compat32's surrogate escaping of 8-bit header bytes: UTF-8, else cp1252."""
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def unfold(value: str) -> str:
    if "\n" in value or "\r" in value:
        value = value.replace("\r\n", "").replace("\n", "").replace("\r", "")
    return value


_EW = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def _ew_bytes(kind: str, text: str, warnings: list[str] | None) -> bytes:
    data = text.encode("ascii", "replace")
    if kind in "qQ":
        return binascii.a2b_qp(data, header=True)
    try:
        return binascii.a2b_base64(data, strict_mode=False)
    except binascii.Error:
        clean = _B64_JUNK.sub(b"", data)
        if len(clean) % 4 == 1:
            clean = clean[:-1]
        clean += b"=" * (-len(clean) % 4)
        if warnings is not None:
            warnings.append("malformed base64 encoded-word in header")
        try:
            return binascii.a2b_base64(clean)
        except binascii.Error:  # pragma: no cover
            return b""


def decode_words(text: str, warnings: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded-words, joining adjacent words of the same charset first
    so that characters split across words survive."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    pending_cs: str | None = None
    pending = bytearray()
    sink: list[str] = warnings if warnings is not None else []

    def flush() -> None:
        nonlocal pending_cs
        if pending_cs is not None:
            out.append(decode_bytes(bytes(pending), pending_cs or None, sink, "header"))
            pending.clear()
            pending_cs = None

    for match in _EW.finditer(text):
        gap = text[pos : match.start()]
        if gap and not (pending_cs is not None and gap.isspace()):
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0].lower()
        data = _ew_bytes(match.group(2), match.group(3), warnings)
        if pending_cs is not None and charset != pending_cs:
            flush()
        pending_cs = charset
        pending += data
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def decode_header_value(value: str, warnings: list[str] | None = None) -> str:
    """A compat32 raw header value as readable text: 8-bit bytes, folding, encoded-words."""
    return decode_words(unfold(raw_to_text(value)), warnings).strip()


def parse_addresses(value: str) -> tuple[Address, ...]:
    """Addresses of a header (raw compat32 value): parsed first, names decoded after."""
    text = unfold(raw_to_text(value))
    if not text.strip():
        return ()
    pairs = fast_addresses(text)
    if pairs is None:
        try:
            pairs = getaddresses([text])
        except Exception:
            pairs = [("", text.strip())]
    return addresses_from_pairs(pairs)


def addresses_from_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[Address, ...]:
    """(name, address) pairs from a parser → addresses, encoded words decoded, empty
    pairs dropped."""
    result: list[Address] = []
    for name, addr in pairs:
        if not (name or addr):
            continue
        if "=?" in name:
            name = decode_words(name)
        if "=?" in addr and not name:
            addr = decode_words(addr)
        result.append(Address(address=addr, name=name.strip()))
    return tuple(result)


_ISO_DATE = re.compile(r"\s*(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?")


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 (or obsolete, or ISO-ish) date as an aware UTC datetime, else None."""
    text = unfold(raw_to_text(value)).strip()
    if not text:
        return None
    try:
        parsed = parsedate_tz(text[:200])
    except Exception:
        parsed = None
    offset = 0
    if parsed is not None:
        year, month, day, hour, minute, second = parsed[:6]
        offset = parsed[9] or 0
    else:
        iso = _ISO_DATE.match(text)
        if iso is None:
            return None
        year, month, day, hour, minute = (int(g) for g in iso.groups()[:5])
        second = int(iso.group(6) or 0)
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        return moment - timedelta(seconds=offset)
    except (ValueError, OverflowError):
        return None


_MSGID = re.compile(r"<\s*([^<>\s]+?)\s*>")


def parse_msgid(value: str | None) -> str | None:
    """The first message id of a header, without angle brackets."""
    if not value:
        return None
    text = unfold(raw_to_text(value))
    match = _MSGID.search(text)
    if match:
        return match.group(1)
    for token in text.replace(",", " ").split():
        if "@" in token:
            return token.strip("<>\"'")
    token = text.strip().strip("<>")
    return token if token and " " not in token else None


def parse_msgid_list(value: str | None) -> tuple[str, ...]:
    """All message ids of a References header, in order, without duplicates."""
    if not value:
        return ()
    text = unfold(raw_to_text(value))
    ids = _MSGID.findall(text)
    if not ids:
        ids = [t.strip("<>\"'") for t in text.replace(",", " ").split() if "@" in t]
    seen: set[str] = set()
    out: list[str] = []
    for mid in ids:
        if mid not in seen:
            seen.add(mid)
            out.append(mid)
    return tuple(out)


_XPRIO = re.compile(r"\s*(\d)")


def parse_priority(headers: Mapping[str, str]) -> Priority:
    """X-Priority (1-2 high, 4-5 low), then Importance, Priority, X-MSMail-Priority."""
    xprio = headers.get("x-priority")
    if xprio:
        match = _XPRIO.match(xprio)
        if match:
            digit = int(match.group(1))
            if digit in (1, 2):
                return Priority.HIGH
            if digit in (4, 5):
                return Priority.LOW
            return Priority.NORMAL
    for name in ("importance", "priority", "x-msmail-priority"):
        value = headers.get(name)
        if value:
            word = value.strip().lower()
            if word in ("high", "urgent"):
                return Priority.HIGH
            if word in ("low", "non-urgent"):
                return Priority.LOW
    return Priority.NORMAL


_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)(?:"|$)|([^;]*))', re.S)
_PARAM_KEY = re.compile(r"([^*]+)(?:\*(\d+))?(\*)?$")


def split_params(value: str | None) -> tuple[str, dict[str, str]]:
    """``text/plain; charset="utf-8"; name*=utf-8''a%20b`` → (``text/plain``, params).

    The value is lower-cased; parameter names are lower-cased; RFC 2231 continuations
    and ``charset'lang'`` encodings are joined and decoded; RFC 2047 words and 8-bit bytes
    in values are decoded too.  Malformed input gives what could be read.
    """
    if not value:
        return "", {}
    text = unfold(raw_to_text(value))
    semi = text.find(";")
    if semi == -1:
        return text.strip().lower(), {}
    main = text[:semi].strip().lower()
    params: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(text, semi):
        key = match.group(1).lower()
        quoted = match.group(2)
        raw = (
            quoted.replace('\\"', '"').replace("\\\\", "\\")
            if quoted is not None
            else (match.group(3) or "").strip()
        )
        if "*" not in key:
            if key not in params:
                params[key] = decode_words(raw) if "=?" in raw else raw
            continue
        parts = _PARAM_KEY.match(key)
        if parts is None:
            continue
        index = int(parts.group(2)) if parts.group(2) else 0
        pieces.setdefault(parts.group(1), []).append((index, bool(parts.group(3)), raw))
    for name, segments in pieces.items():
        params[name] = _join_rfc2231(sorted(segments))
    return main, params


def _join_rfc2231(segments: list[tuple[int, bool, str]]) -> str:
    charset = "utf-8"
    data = bytearray()
    for position, (_index, encoded, raw) in enumerate(segments):
        if encoded:
            if position == 0 and raw.count("'") >= 2:
                declared, _lang, raw = raw.split("'", 2)
                charset = declared or "utf-8"
            data += unquote_to_bytes(raw)
        else:
            data += raw.encode("utf-8", "surrogateescape")
    return decode_bytes(bytes(data), charset, [], "parameter")


_SIMPLE_ADDR = re.compile(
    r"\s*(?:([^<>@,\"\\]*?)\s*<([^<>\s@]+@[^<>\s@]+)>|([^<>\s@]+@[^<>\s@()]+))\s*\Z"
)


def fast_addresses(text: str) -> list[tuple[str, str]] | None:
    """Common simple address lists without the (slow) full RFC 5322 parser; None when
    the text needs the real parser."""
    if '"' in text or "(" in text or ":" in text or ";" in text or "\\" in text:
        return None
    out: list[tuple[str, str]] = []
    for piece in text.split(","):
        if not piece.strip():
            continue
        match = _SIMPLE_ADDR.match(piece)
        if match is None:
            return None
        name, addr, bare = match.groups()
        if bare is not None:
            out.append(("", bare))
        else:
            out.append((" ".join(name.split()) if name else "", addr))
    return out
