"""A fast path for header-only messages (an IMAP header sync): :func:`parse_headers`.

``parse_message`` runs the standard library's compat32 parser, which costs ~300 µs for a
header block (it rebuilds a multipart boundary regex per message, among other things).
:func:`parse_headers` splits and unfolds the block itself with the same rules compat32
uses and then reads the fields with the same helpers ``parse_message`` uses, so the
result agrees with ``parse_message`` on every header field: ``headers``, sender,
recipients, subject, date, received_at, message ids, references, priority, the
attachment/part derived from a single-part root's Content-Type, and the header warnings.

Differences, all deliberate for a header block without a body:

* the body is never read: ``body_text``/``snippet`` are empty (anything after the blank
  line is ignored);
* a multipart Content-Type gives none of the "multipart boundary never found" /
  "multipart without boundary" / "multipart message has no parts" warnings (the body
  was not fetched, so nothing is missing), and, as with ``parse_message``, no
  attachments (they are unknown until the body comes);
* unusual blocks (no headers, a line that is not a header, a first line that is a
  continuation or a ``From `` envelope line, bare CRs, a block over 64 KiB, a
  ``message/*`` root) are handed to ``parse_message`` itself.

Decoded values are memoised in small bounded caches: senders, recipients and encoded
subjects repeat a lot in a mailbox.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from services.mime.headers import (
    HeaderMap,
    addresses_from_pairs,
    decode_header_value,
    fast_addresses,
    parse_addresses,
    parse_date,
    parse_msgid,
    parse_msgid_list,
    parse_priority,
    raw_to_text,
    split_params,
    unfold,
)
from services.mime.text import decode_bytes, decode_transfer
from services.models import Address, Attachment, ChannelKind, Message, MessagePart, Priority

__all__ = [
    "HeaderValues", "header_values", "parse_header_fields", "parse_headers", "root_attachment",
]

_MAX_BLOCK = 65_536
_CACHE_MAX = 32768
_NAME = re.compile(r"[\041-\071\073-\176]+\Z")
_ADDRESS_KEYS = frozenset(("from", "to", "cc", "bcc", "reply-to", "sender"))
_FIRST_KEYS = frozenset((
    "date", "received", "message-id", "in-reply-to", "references", "content-type",
    "content-disposition", "content-id", "content-transfer-encoding",
))
#: The decoded headers :func:`parse_header_fields` keeps (subject and priority).
_KEPT_KEYS = frozenset(("subject", "x-priority", "importance", "priority", "x-msmail-priority"))
_FIELD_KEYS = _ADDRESS_KEYS | _FIRST_KEYS | _KEPT_KEYS
_BODY_TYPES = ("text/plain", "text/html")
_EXTENSIONS = {
    "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics",
    "application/zip": ".zip", "application/octet-stream": ".bin",
}
_RFC_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) "
    r"([+-])(\d\d)(\d\d)"
    r"(?: \([A-Za-z ]{1,20}\))?\s*\Z"
)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

_decoded: dict[str, str] = {}
_addresses: dict[str, tuple[Address, ...]] = {}


class _Unusual(Exception):
    pass


def _remember(cache: dict[str, object], key: str, value: object) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value


def _decode(value: str, warnings: list[str]) -> str:
    if "=?" not in value and value.isascii():
        if "\n" in value or "\r" in value:  # unfold, as decode_header_value does
            value = value.replace("\r\n", "").replace("\n", "").replace("\r", "")
        return value.strip()
    found = _decoded.get(value)
    if found is not None:
        return found
    mark = len(warnings)
    text = decode_header_value(value, warnings)
    if len(warnings) == mark:  # only warning-free results are shared
        _remember(_decoded, value, text)  # type: ignore[arg-type]
    return text


def _addrs(values: list[str] | None) -> tuple[Address, ...]:
    if not values:
        return ()
    text = values[0] if len(values) == 1 else ", ".join(values)
    found = _addresses.get(text)
    if found is None:
        found = _simple_addrs(text)
        if found is None:
            found = parse_addresses(text)
        _remember(_addresses, text, found)  # type: ignore[arg-type]
    return found


# What makes parse_addresses read a list as a whole (quotes, comments, groups, escapes)
# rather than piece by piece between its commas
_NOT_SIMPLE = re.compile(r'["(:;\\]')
_pieces: dict[str, tuple[Address, ...] | None] = {}  # None: not a simple piece
_MISSING = object()


def _simple_addrs(value: str) -> tuple[Address, ...] | None:
    """``parse_addresses(value)`` for a list it reads piece by piece (no quotes, comments,
    groups or escapes: its fast path), each piece memoised (the same people turn up in
    ever new combinations of To and Cc); None when the list needs ``parse_addresses``
    itself."""
    text = unfold(raw_to_text(value))  # as parse_addresses begins
    if _NOT_SIMPLE.search(text):
        return None
    out: list[Address] = []
    for piece in text.split(","):
        found = _pieces.get(piece, _MISSING)
        if found is _MISSING:
            found = _simple_piece(piece)
            _remember(_pieces, piece, found)  # type: ignore[arg-type]
        if found is None:
            return None
        out.extend(found)  # type: ignore[arg-type]
    return tuple(out)


def _simple_piece(piece: str) -> tuple[Address, ...] | None:
    """One piece as ``parse_addresses`` reads it in a list it reads piece by piece (None:
    a piece its fast path does not read, which sends the whole list elsewhere)."""
    pairs = fast_addresses(piece)
    return None if pairs is None else addresses_from_pairs(pairs)


def _date(value: str) -> datetime | None:
    m = _RFC_DATE.match(value)
    if m is not None:
        month = _MONTHS.get(m.group(2).lower())
        if month is not None:
            offset = int(m.group(8)) * 3600 + int(m.group(9)) * 60
            if m.group(7) == "-":
                offset = -offset
            try:
                moment = datetime(int(m.group(3)), month, int(m.group(1)), int(m.group(4)),
                                  int(m.group(5)), min(int(m.group(6)), 59), tzinfo=UTC)
            except ValueError:
                return None
            return moment - timedelta(seconds=offset)
    return parse_date(value)


_LINE = re.compile(r"^([\041-\071\073-\176]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)", re.M)
_BLOCK = re.compile(r"(?:[\041-\071\073-\176]+:[^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z))*")


def _split(text: str) -> list[tuple[str, str]]:
    """compat32's header splitting for a clean block: (name, raw value) pairs.  A value
    keeps its folding line breaks as LF (compat32's ``raw_items`` keeps them as sent;
    everything that reads a value unfolds CRLF and LF alike).  CRLFs become LFs first
    (one pass in C, and no value then ends in a CR to strip); one match checks that the
    block is header lines up to a blank line (or its end); one ``findall`` reads them."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            raise _Unusual  # bare CRs end lines for compat32: leave those to it
    end = _BLOCK.match(text).end()  # type: ignore[union-attr]  # matches the empty string
    if end < len(text) and text[end] != "\n":
        raise _Unusual  # not a header line (or a continuation first): compat32's call
    return _LINE.findall(text, 0, end)


def parse_headers(
    raw: bytes, *, account: str = "", folder: str = "", remote_id: str | None = None
) -> Message:
    """Parse a header block (``BODY[HEADER]``) into a Message; never raises on bad bytes
    (TypeError for non-bytes).  See the module docstring for how it relates to
    ``parse_message``."""
    given: object = raw
    if isinstance(given, bytearray | memoryview):
        raw = bytes(given)
    elif not isinstance(given, bytes):
        raise TypeError(f"parse_headers expects bytes, not {type(given).__name__}")
    return _parse_or_fallback(raw, account, folder, remote_id, True)


def parse_header_fields(
    raw: bytes, *, account: str = "", folder: str = "", remote_id: str | None = None
) -> Message:
    """:func:`parse_headers` for a caller that reads only the fields ``prepare`` stores
    (a header sync): the same Message except that ``headers`` holds only the Subject and
    priority headers (every header is still decoded when decoding could warn, so
    ``parse_warnings`` is the same) and ``received_at`` is not read from ``Received``
    (the caller sets it from INTERNALDATE).  Anything unusual goes to ``parse_message``
    exactly as with :func:`parse_headers`."""
    given: object = raw
    if isinstance(given, bytearray | memoryview):
        raw = bytes(given)
    elif not isinstance(given, bytes):
        raise TypeError(f"parse_header_fields expects bytes, not {type(given).__name__}")
    return _parse_or_fallback(raw, account, folder, remote_id, False)


def _parse_or_fallback(
    raw: bytes, account: str, folder: str, remote_id: str | None, full: bool
) -> Message:
    try:
        return _parse(raw, account, folder, remote_id, full)
    except (_Unusual, RecursionError):
        pass
    except Exception:  # pragma: no cover - a bug here must not lose the message
        pass
    from services.mime.parse import parse_message

    message = parse_message(raw, account=account, folder=folder, remote_id=remote_id)
    message.body_text = ""
    message.snippet = ""
    return message


_RootKey = tuple[str, str | None, str | None, str | None, str | None, str | None]
# parts, the root attachment's fields (or None), body_html, warnings
_RootInfo = tuple[tuple[MessagePart, ...], tuple[str, str, str, str | None, bool] | None,
                  str | None, tuple[str, ...]]
_roots: dict[_RootKey, _RootInfo] = {}
_roots_raw: dict[tuple[str | None, ...], _RootInfo] = {}  # the same, by the raw values


class HeaderValues(NamedTuple):
    """What a header block says, decoded: everything ``parse_headers`` puts in a Message
    (:func:`header_values` gives it without building one)."""

    headers: HeaderMap
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str
    date: datetime | None
    received_at: datetime | None
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    priority: Priority
    root: _RootInfo
    warnings: tuple[str, ...]


def header_values(raw: bytes) -> HeaderValues | None:
    """:func:`parse_header_fields`'s values for a usual block, without the Message (a
    header sync turns them into rows at once); None for a block only ``parse_message``
    reads right (see the module docstring)."""
    try:
        return _values(raw, False)
    except Exception:  # _Unusual, RecursionError, or a bug: the caller's fallback reads it
        return None


def _parse(
    raw: bytes, account: str, folder: str, remote_id: str | None, full: bool = True
) -> Message:
    v = _values(raw, full)
    message = Message(channel=ChannelKind.EMAIL, account=account, folder=folder,
                      remote_id=remote_id, size=len(raw), headers=v.headers, sender=v.sender,
                      to=v.to, cc=v.cc, bcc=v.bcc, reply_to=v.reply_to, subject=v.subject,
                      date=v.date, received_at=v.received_at, message_id=v.message_id,
                      in_reply_to=v.in_reply_to, references=v.references,
                      priority=v.priority, parse_warnings=v.warnings)
    parts, attachment, html, _ = v.root
    message.parts = parts
    if html is not None:
        message.body_html = html
    if attachment is not None:
        message.attachments = [root_attachment(attachment)]
    return message


def _values(raw: bytes, full: bool) -> HeaderValues:
    if len(raw) > _MAX_BLOCK:
        raise _Unusual
    pairs = _split(raw.decode("ascii", "surrogateescape"))
    if not pairs:
        raise _Unusual
    warnings: list[str] = []
    headers = HeaderMap()
    first: dict[str, str] = {}
    address_raw: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.lower()
        if not full and key not in _FIELD_KEYS:  # (Received, X-Mailer, ...) not read
            if "=?" in value or not value.isascii():
                _decode(value, warnings)  # only for its warnings (plain ASCII gives none)
            continue
        if key not in first:
            first[key] = value
        if key in _ADDRESS_KEYS:
            address_raw.setdefault(key, []).append(value)
        if full or key in _KEPT_KEYS:
            headers.add(name, _decode(value, warnings))
        elif "=?" in value or not value.isascii():
            _decode(value, warnings)  # only for its warnings (plain ASCII gives none)
    senders = _addrs(address_raw.get("from")) or _addrs(address_raw.get("sender"))
    sender = senders[0] if senders else None
    if sender is None:
        warnings.append("missing From header")
    date_raw = first.get("date")
    date = None
    if date_raw is None:
        warnings.append("missing Date header")
    else:
        date = _date(date_raw)
        if date is None:
            warnings.append(f"unparseable Date header {date_raw.strip()[:80]!r}")
    received_at = None
    received = first.get("received") if full else None
    if full and received and ";" in received:
        received_at = _date(received.rsplit(";", 1)[1])
    message_id = parse_msgid(first.get("message-id"))
    if message_id is None:
        warnings.append("missing Message-ID header")
    priority = Priority.NORMAL
    if full or len(headers) > ("subject" in headers):  # else no priority header: NORMAL
        priority = parse_priority(headers)
    root = _root(first)
    warnings.extend(root[3])
    return HeaderValues(
        headers=headers, sender=sender, to=_addrs(address_raw.get("to")),
        cc=_addrs(address_raw.get("cc")), bcc=_addrs(address_raw.get("bcc")),
        reply_to=_addrs(address_raw.get("reply-to")),
        subject=headers.get("subject", "").replace("\t", " "), date=date,
        received_at=received_at, message_id=message_id,
        in_reply_to=parse_msgid(first.get("in-reply-to")),
        references=parse_msgid_list(first.get("references")), priority=priority, root=root,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def root_attachment(fields: tuple[str, str, str, str | None, bool]) -> Attachment:
    """The Attachment a single-part root makes (from :attr:`HeaderValues.root`)."""
    filename, ctype, part_id, content_id, inline = fields
    return Attachment(filename=filename, content_type=ctype, size=0, part_id=part_id,
                      content_id=content_id, inline=inline)




def _root(first: dict[str, str]) -> _RootInfo:
    """What parse_message's walker makes of the root of a body-less message.  It depends
    only on the root's type, charset and name, disposition, id and transfer encoding,
    which repeat across a mailbox: memoised on those."""
    raw = (first.get("content-type"), first.get("content-disposition"),
           first.get("content-id"), first.get("content-transfer-encoding"))
    info = _roots_raw.get(raw)
    if info is not None:
        return info
    ctype, params = split_params(raw[0])
    key = (ctype, params.get("charset"), params.get("name"), *raw[1:])
    info = _roots.get(key)
    if info is None:
        info = _root_info(*key)
        _remember(_roots, key, info)  # type: ignore[arg-type]
    if not ctype.startswith("multipart/"):  # (a multipart type's boundary is unique)
        _remember(_roots_raw, raw, info)  # type: ignore[arg-type]
    return info


def _root_info(ctype: str, charset: str | None, name: str | None, disp_raw: str | None,
               cid_raw: str | None, cte_raw: str | None) -> _RootInfo:
    warnings: list[str] = []
    if ctype.count("/") != 1:
        ctype = "text/plain"
    if ctype.startswith("message/"):
        raise _Unusual  # compat32 builds an (empty) inner message: leave it to parse_message
    disp, disp_params = split_params(disp_raw)
    filename = _safe_filename(disp_params.get("filename") or name)
    content_id = parse_msgid(cid_raw)
    cte = (cte_raw or "").strip().lower()
    charset = charset or None
    if ctype.startswith("multipart/"):
        ctype = "text/plain"
    parts = (MessagePart(part_id="1", content_type=ctype, size=0, charset=charset,
                         filename=filename, disposition=disp or None, content_id=content_id),)
    if ctype in _BODY_TYPES and disp != "attachment" and not filename:
        text = decode_bytes(decode_transfer(b"", cte, warnings, "part 1"), charset, warnings,
                            "part 1")
        return parts, None, text if ctype == "text/html" else None, tuple(warnings)
    ext = _EXTENSIONS.get(ctype)
    if ext is None:
        import mimetypes

        ext = mimetypes.guess_extension(ctype, strict=False) or ""
    inline = disp == "inline" or (not disp and content_id is not None)
    return parts, (filename or f"part-1{ext}", ctype, "1", content_id, inline), None, \
        tuple(warnings)


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def _safe_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = _UNSAFE_NAME.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name if name not in ("", ".", "..") else None
