"""Parse raw RFC 5322 / MIME bytes into a :class:`services.models.Message`.

``parse_message`` never raises on bad bytes: whatever can be read is returned and
``Message.parse_warnings`` says what went wrong.  It uses the fast ``compat32`` parser
of the standard library and decodes headers itself.
"""

from __future__ import annotations

import mimetypes
import re
from email.message import Message as EmailMessage
from email.parser import BytesParser
from email.policy import compat32

from services.errors import NotFound, ValidationError
from services.mime.headers import (
    MAX_HEADER_CHARS,
    HeaderMap,
    decode_header_value,
    parse_addresses,
    parse_date,
    parse_msgid,
    parse_msgid_list,
    parse_priority,
    split_params,
)
from services.mime.limits import limit_headers
from services.mime.text import (
    decode_bytes,
    decode_transfer,
    estimate_decoded_size,
    html_to_text,
    looks_binary,
    make_snippet,
    payload_bytes,
)
from services.models import Address, Attachment, ChannelKind, Message, MessagePart

__all__ = ["attachment_bytes", "parse_message"]

_PARSER = BytesParser(policy=compat32)
_MAX_DEPTH = 60
_BODY_TYPES = ("text/plain", "text/html")

_DEFECTS = {
    "StartBoundaryNotFoundDefect": "multipart boundary never found in {where}; read as text",
    "CloseBoundaryNotFoundDefect": "truncated multipart in {where} (no closing boundary)",
    "NoBoundaryInMultipartDefect": "multipart without boundary in {where}; read as text",
    "MissingHeaderBodySeparatorDefect": "malformed header line in {where}; rest read as body",
    "FirstHeaderLineIsContinuationDefect": "first header line of {where} is a continuation",
    "MisplacedEnvelopeHeaderDefect": "misplaced 'From ' line in {where}",
    "MultipartInvariantViolationDefect": "multipart {where} has no parts",
}


def parse_message(
    raw: bytes, *, account: str = "", folder: str = "", remote_id: str | None = None
) -> Message:
    """Parse ``raw`` into a Message; never raises on bad input (TypeError for non-bytes)."""
    given: object = raw
    if isinstance(given, (bytearray, memoryview)):
        raw = bytes(given)
    elif not isinstance(given, bytes):
        raise TypeError(f"parse_message expects bytes, not {type(given).__name__}")
    base = Message(
        channel=ChannelKind.EMAIL,
        account=account,
        folder=folder,
        remote_id=remote_id,
        size=len(raw),
    )
    if not raw.strip():
        base.parse_warnings = ("empty message",)
        return base
    warnings: list[str] = []
    try:
        _parse_into(base, raw, warnings)
    except (Exception, RecursionError) as exc:
        warnings.append(f"message could not be fully parsed: {type(exc).__name__}: {exc}"[:300])
        _headers_only(base, raw, warnings)
    base.parse_warnings = tuple(dict.fromkeys(warnings))
    return base


def attachment_bytes(raw: bytes, part_id: str) -> bytes:
    """Decoded content of the part ``part_id`` ("1", "2.1", ...) of ``raw``.

    A message/rfc822 part gives the encapsulated message; a multipart gives its bytes.
    Raises ValidationError for a malformed part id and NotFound for a missing part.
    """
    if not re.fullmatch(r"[1-9][0-9]{0,5}(?:\.[1-9][0-9]{0,5})*", part_id or ""):
        raise ValidationError(f"bad part id {part_id!r}: expected numbers like '1' or '2.1'")
    msg = _PARSER.parsebytes(limit_headers(bytes(raw), []))
    node: EmailMessage = msg
    for number in part_id.split("."):
        node = _child(node, int(number), part_id)
    if _is_message_container(node):
        inner = _raw_payload(node)
        return b"".join(_as_bytes(p) for p in inner) if isinstance(inner, list) else b""
    if node.is_multipart():
        return _as_bytes(node)
    cte = str(node.get("content-transfer-encoding", "")).strip().lower()
    return decode_transfer(payload_bytes(_raw_payload(node)), cte, [], f"part {part_id}")


# -- internals ---------------------------------------------------------------------------


def _parse_into(message: Message, raw: bytes, warnings: list[str]) -> None:
    msg = _PARSER.parsebytes(limit_headers(raw, warnings))
    raw_first = _fill_headers(message, msg, warnings)
    if not raw_first:
        warnings.append("no headers found: input does not look like an e-mail message")
    walker = _Walker(warnings, headerless=not raw_first)
    walker.walk(msg, "", 0, root=True)
    if not raw_first and walker.binary_root:
        warnings.append("binary data, not a message: body not read")
    plain = "\n".join(t for t in walker.plain if t)
    html = "\n".join(t for t in walker.html if t) if walker.html else None
    if not plain and html:
        plain = html_to_text(html)
    message.body_text = plain
    message.body_html = html
    message.snippet = make_snippet(plain)
    message.parts = tuple(walker.parts)
    message.attachments = walker.attachments


def _fill_headers(message: Message, msg: EmailMessage, warnings: list[str]) -> dict[str, str]:
    headers = HeaderMap()
    raw_first: dict[str, str] = {}
    address_raw: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key not in raw_first:
            raw_first[key] = value
        if key in ("from", "to", "cc", "bcc", "reply-to", "sender"):
            address_raw.setdefault(key, []).append(value)
        if len(value) > MAX_HEADER_CHARS:
            value = value[:MAX_HEADER_CHARS]
            warnings.append(f"header {name[:60]} truncated to {MAX_HEADER_CHARS} characters")
        headers.add(name, decode_header_value(value, warnings))
    message.headers = headers

    def addrs(key: str) -> tuple[Address, ...]:
        values = address_raw.get(key)
        if not values:
            return ()
        return parse_addresses(", ".join(v[:MAX_HEADER_CHARS] for v in values))

    senders = addrs("from") or addrs("sender")
    message.sender = senders[0] if senders else None
    if raw_first and message.sender is None:
        warnings.append("missing From header")
    message.to = addrs("to")
    message.cc = addrs("cc")
    message.bcc = addrs("bcc")
    message.reply_to = addrs("reply-to")
    message.subject = headers.get("subject", "").replace("\t", " ")

    date_raw = raw_first.get("date")
    if date_raw is None:
        if raw_first:
            warnings.append("missing Date header")
    else:
        message.date = parse_date(date_raw)
        if message.date is None:
            warnings.append(f"unparseable Date header {date_raw.strip()[:80]!r}")
    received = raw_first.get("received")
    if received and ";" in received:
        message.received_at = parse_date(received.rsplit(";", 1)[1])

    message.message_id = parse_msgid(raw_first.get("message-id"))
    if raw_first and message.message_id is None:
        warnings.append("missing Message-ID header")
    message.in_reply_to = parse_msgid(raw_first.get("in-reply-to"))
    message.references = parse_msgid_list(raw_first.get("references"))
    message.priority = parse_priority(headers)
    return raw_first


class _Walker:
    """Walks the compat32 tree once, collecting body text, parts and attachments."""

    def __init__(self, warnings: list[str], *, headerless: bool = False) -> None:
        self.warnings = warnings
        self.headerless = headerless  # input had no headers: binary data is not a message
        self.plain: list[str] = []
        self.html: list[str] = []
        self.parts: list[MessagePart] = []
        self.attachments: list[Attachment] = []
        self.binary_root = False

    def walk(self, part: EmailMessage, pid: str, depth: int, *, root: bool = False) -> None:
        if part.defects:
            where = f"part {pid}" if pid else "message"
            for defect in part.defects:
                template = _DEFECTS.get(type(defect).__name__)
                if template is not None:
                    self.warnings.append(template.format(where=where))
        if depth > _MAX_DEPTH:
            self.warnings.append(f"MIME nesting deeper than {_MAX_DEPTH} levels: rest skipped")
            return
        headers = _part_headers(part)
        ctype, params = split_params(headers.get("content-type"))
        if ctype.count("/") != 1:
            ctype = part.get_default_type()
        payload = _raw_payload(part)
        if isinstance(payload, list) and not ctype.startswith("message/"):
            for index, child in enumerate(payload, 1):
                if isinstance(child, EmailMessage):
                    self.walk(child, f"{pid}.{index}" if pid else str(index), depth + 1)
            return
        self.leaf(headers, ctype, params, payload, pid or "1", root)

    def leaf(
        self,
        headers: dict[str, str],
        ctype: str,
        params: dict[str, str],
        payload: object,
        pid: str,
        root: bool,
    ) -> None:
        where = f"part {pid}"
        disp, disp_params = split_params(headers.get("content-disposition"))
        filename = _safe_filename(disp_params.get("filename") or params.get("name"))
        content_id = parse_msgid(headers.get("content-id"))
        cte = headers.get("content-transfer-encoding", "").strip().lower()
        charset = params.get("charset") or None
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # no boundary or no parts: the defect warning says so
        if isinstance(payload, list):
            size = len(_message_bytes(payload))
            filename = filename or _message_filename(payload)
        else:
            size = len(payload) if isinstance(payload, str) else 0

        self.parts.append(
            MessagePart(
                part_id=pid,
                content_type=ctype,
                size=size,
                charset=charset,
                filename=filename,
                disposition=disp or None,
                content_id=content_id,
            )
        )
        if ctype in _BODY_TYPES and disp != "attachment" and not filename:
            data = decode_transfer(payload_bytes(payload), cte, self.warnings, where)
            if root and self.headerless and looks_binary(data):
                self.binary_root = True
                return
            text = decode_bytes(data, charset, self.warnings, where)
            if "\x00" in text:  # a declared text part keeps its text; NULs become U+FFFD
                text = text.replace("\x00", "\ufffd")
                self.warnings.append(f"NUL characters in {where} replaced by U+FFFD")
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        if isinstance(payload, str):
            if cte == "base64":
                _check_base64(payload, self.warnings, where)
            size = estimate_decoded_size(payload, cte)
        self.attachments.append(
            Attachment(
                filename=filename or _default_filename(ctype, pid),
                content_type=ctype,
                size=size,
                part_id=pid,
                content_id=content_id,
                inline=disp == "inline" or (not disp and content_id is not None),
            )
        )


def _part_headers(part: EmailMessage) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.lower()
        if key not in headers:
            headers[key] = value
    return headers


def _raw_payload(part: EmailMessage) -> object:
    """The payload as parsed: a list of sub-messages, or a ``str`` carrying the original
    bytes surrogate-escaped.  (``get_payload()`` would re-decode 8-bit text lossily.)"""
    return getattr(part, "_payload", None)


def _is_message_container(part: EmailMessage) -> bool:
    return part.get_content_maintype() == "message" and isinstance(_raw_payload(part), list)


def _child(node: EmailMessage, number: int, part_id: str) -> EmailMessage:
    if _is_message_container(node):
        inner = _raw_payload(node)
        first = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(first, EmailMessage):
            raise NotFound(f"no part {part_id} in message")
        node = first
    if node.is_multipart():
        children = _raw_payload(node)
        if isinstance(children, list) and 0 < number <= len(children):
            child = children[number - 1]
            if isinstance(child, EmailMessage):
                return child
        raise NotFound(f"no part {part_id} in message")
    if number == 1:
        return node
    raise NotFound(f"no part {part_id} in message")


def _as_bytes(part: object) -> bytes:
    if not isinstance(part, EmailMessage):
        return b""
    try:
        return part.as_bytes()
    except (Exception, RecursionError):
        return payload_bytes(part.as_string())


def _message_bytes(payload: object) -> bytes:
    if isinstance(payload, list):
        return b"\n".join(_as_bytes(p) for p in payload)
    return b""


def _message_filename(payload: object) -> str:
    if isinstance(payload, list) and payload and isinstance(payload[0], EmailMessage):
        subject = payload[0].get("subject")
        if isinstance(subject, str):
            name = _safe_filename(decode_header_value(subject))
            if name:
                return name[:120] + ".eml"
    return "message.eml"


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "application/zip": ".zip",
    "message/rfc822": ".eml",
    "application/octet-stream": ".bin",
    "message/delivery-status": ".txt",
}


def _safe_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = _UNSAFE_NAME.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name if name not in ("", ".", "..") else None


def _default_filename(ctype: str, pid: str) -> str:
    ext = _EXTENSIONS.get(ctype)
    if ext is None:
        ext = mimetypes.guess_extension(ctype, strict=False) or ""
    return f"part-{pid}{ext}"


_B64_OK = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n\t "


def _check_base64(payload: str, warnings: list[str], where: str) -> None:
    data = payload_bytes(payload)
    if data.translate(None, _B64_OK):
        warnings.append(f"bad base64 in {where}: invalid characters")
        return
    if len(data.translate(None, b"\r\n\t ")) % 4:
        warnings.append(f"bad base64 in {where}: truncated or badly padded")


def _headers_only(message: Message, raw: bytes, warnings: list[str]) -> None:
    """Last resort after a parser failure: read the headers alone."""
    try:
        msg = _PARSER.parsebytes(limit_headers(raw, []), headersonly=True)
        _fill_headers(message, msg, warnings)
    except (Exception, RecursionError):
        warnings.append("headers could not be read either")
