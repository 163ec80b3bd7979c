"""Preparing a raw message for Graph's MIME send (pure).

* :func:`add_missing_bcc`: Graph takes the recipients from the MIME headers, so envelope
  recipients that no To/Cc/Bcc header names are added as a ``Bcc:`` header (Exchange
  strips Bcc from what recipients get).
* :func:`plan_outgoing`: ``sendMail`` takes at most 4 MB (base64 MIME).  A bigger message
  is split: attachments of 3 MiB or more go through an upload session, and more
  attachments come off (largest first) until the rest of the MIME fits one request.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import getaddresses
from io import BytesIO

from services.errors import MessageError
from services.mime.headers import parse_msgid

__all__ = [
    "MAX_MIME_REQUEST",
    "UPLOAD_SESSION_MIN",
    "OutgoingAttachment",
    "OutgoingPlan",
    "add_missing_bcc",
    "b64_len",
    "encode_mime",
    "message_id_of",
    "plan_outgoing",
]

UPLOAD_SESSION_MIN = 3 * 1024 * 1024  # Graph: attachments of 3 MB+ need an upload session
MAX_MIME_REQUEST = 3_500_000  # base64 MIME per request, under Graph's 4 MB limit
MAX_UPLOAD = 150 * 1024 * 1024  # Graph's attachment limit
_POLICY = compat32.clone(linesep="\r\n", max_line_length=998)


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None

    @property
    def needs_session(self) -> bool:
        return len(self.data) >= UPLOAD_SESSION_MIN


@dataclass(slots=True)
class OutgoingPlan:
    """``mime``: what to send (or to create the draft from); ``attachments``: to add to
    the draft before sending (empty = plain ``sendMail``)."""

    mime: bytes
    attachments: list[OutgoingAttachment] = field(default_factory=list)

    @property
    def direct(self) -> bool:
        return not self.attachments


def b64_len(n: int) -> int:
    return (n + 2) // 3 * 4


def _header_end(raw: bytes) -> int:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return at
    return len(raw)


def message_id_of(raw: bytes) -> str | None:
    head = message_from_bytes(raw[: _header_end(raw)] + b"\n\n", policy=compat32)
    return parse_msgid(head.get("Message-ID"))


def add_missing_bcc(raw: bytes, recipients: Iterable[str]) -> bytes:
    head = message_from_bytes(raw[: _header_end(raw)] + b"\n\n", policy=compat32)
    named = {
        addr.casefold()
        for _, addr in getaddresses([str(v) for h in ("to", "cc", "bcc")
                                     for v in head.get_all(h, [])])
    }
    extra = list(dict.fromkeys(r.strip() for r in recipients
                               if r.strip() and r.strip().casefold() not in named))
    if not extra:
        return raw
    newline = b"\r\n" if b"\r\n" in raw[:_header_end(raw) + 2] else b"\n"
    return b"Bcc: " + ", ".join(extra).encode("utf-8") + newline + raw


def _serialize(msg: EmailMessage) -> bytes:
    out = BytesIO()
    BytesGenerator(out, policy=_POLICY, mangle_from_=False).flatten(msg)
    return out.getvalue()


def _detachable(msg: EmailMessage) -> list[tuple[EmailMessage, EmailMessage]]:
    """``(parent multipart, part)`` for every leaf that is a file (has a filename)."""
    found: list[tuple[EmailMessage, EmailMessage]] = []

    def walk(node: EmailMessage) -> None:
        payload = node.get_payload()
        if not node.is_multipart() or not isinstance(payload, list):
            return
        for part in payload:
            if not isinstance(part, EmailMessage):
                continue
            if part.is_multipart():
                walk(part)
            elif part.get_filename() and part.get_content_maintype() != "message":
                found.append((node, part))

    walk(msg)
    return found


def _attachment(part: EmailMessage) -> OutgoingAttachment:
    data = part.get_payload(decode=True)
    cid = str(part.get("Content-ID") or "").strip().strip("<>") or None
    disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return OutgoingAttachment(
        name=str(part.get_filename() or "attachment"),
        content_type=part.get_content_type(),
        data=data if isinstance(data, bytes) else b"",
        inline=disposition == "inline",
        content_id=cid,
    )


def plan_outgoing(raw: bytes) -> OutgoingPlan:
    """Decide between one ``sendMail`` and draft + attachments (see the module docstring)."""
    if b64_len(len(raw)) <= MAX_MIME_REQUEST:
        return OutgoingPlan(raw)
    msg = message_from_bytes(raw, policy=compat32)
    candidates = [(parent, part, _attachment(part)) for parent, part in _detachable(msg)]
    candidates.sort(key=lambda c: (not c[2].needs_session, -len(c[2].data)))
    taken: list[OutgoingAttachment] = []
    mime = raw
    for parent, part, att in candidates:
        if not att.needs_session and b64_len(len(mime)) <= MAX_MIME_REQUEST:
            break
        if len(att.data) > MAX_UPLOAD:
            raise MessageError(f"attachment {att.name!r} is larger than Graph's 150 MB limit",
                               error_type=MessageError.TOO_LARGE)
        payload = parent.get_payload()
        if isinstance(payload, list):
            payload.remove(part)
        taken.append(att)
        mime = _serialize(msg)
    if b64_len(len(mime)) > MAX_MIME_REQUEST:
        raise MessageError("the message body is too large for Microsoft Graph (over 4 MB "
                           "without its attachments)", error_type=MessageError.TOO_LARGE)
    return OutgoingPlan(mime, taken)


def encode_mime(raw: bytes) -> bytes:
    """The request body Graph wants for MIME: base64 of the message, sent as text/plain."""
    return base64.b64encode(raw)
