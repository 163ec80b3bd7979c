"""The fluent message builder behind ``account.compose()``.

    m = account.compose()
    m.to("a@x").subject("S").body("text")
    m.attach("report.pdf")
    result = m.send()

Every setter returns the builder.  :meth:`ComposeBuilder.build` makes RFC 5322 bytes with
the standard library (``EmailMessage``; non-ASCII headers and RFC 2231 file names are
encoded by it); :meth:`~ComposeBuilder.send` and :meth:`~ComposeBuilder.save_draft` hand
``(raw, sender, recipients, message_id)`` to callables the account provides (it enqueues
to the outbox); :meth:`~ComposeBuilder.outgoing` returns the same as an
:class:`OutgoingMessage`.
The Message-ID is generated once per builder, with the sender's domain.
"""

from __future__ import annotations

import email
import email.policy
import mimetypes
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path
from typing import Self

from services.compose.addresses import RecipientLike, check_address, to_addresses
from services.compose.quoting import (
    attribution,
    forward_header,
    forward_subject,
    quote_text,
    reference_ids,
    reply_all_recipients,
    reply_subject,
)
from services.errors import ConfigurationError, ValidationError
from services.models import Address, Attachment, Message, SendResult

__all__ = ["AttachmentSource", "ComposeBuilder", "DraftFn", "Identity", "OutgoingMessage",
           "SendFn"]

SendFn = Callable[[bytes, str, Sequence[str], str], SendResult]
"""``send(raw, sender, recipients, message_id) -> SendResult`` (the account: to the outbox)."""
DraftFn = Callable[[bytes, str, Sequence[str], str], str]
"""``save_draft(raw, sender, recipients, message_id) -> draft id``."""

AttachmentSource = (
    str | os.PathLike[str] | tuple[str, bytes] | tuple[str, bytes, str] | Attachment
)
_POLICY = email.policy.SMTP.clone(cte_type="7bit")  # safe through any relay
_POLICY_UTF8 = email.policy.SMTPUTF8  # non-ASCII addresses need SMTPUTF8 anyway


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a message is from."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What ``send``/``save_draft`` callables receive: the bytes plus the envelope."""

    raw: bytes
    message_id: str  # without angle brackets
    sender: str
    recipients: tuple[str, ...]  # To + Cc + Bcc, each once
    subject: str


@dataclass(frozen=True, slots=True)
class _File:
    filename: str
    data: bytes
    content_type: str


class ComposeBuilder:
    """A message being written; see the module docstring."""

    def __init__(
        self,
        *,
        identity: Identity | Address | None = None,
        send: SendFn | None = None,
        save_draft: DraftFn | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if isinstance(identity, Address):
            identity = Identity(check_address(identity.address), identity.name)
        self._identity = identity
        self._send = send
        self._save_draft = save_draft
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._to: list[Address] = []
        self._cc: list[Address] = []
        self._bcc: list[Address] = []
        self._subject = ""
        self._body = ""
        self._html: str | None = None
        self._files: list[_File] = []
        self._quoted = ""  # attribution + quoted/forwarded original, below the body
        self._in_reply_to: str | None = None
        self._references: tuple[str, ...] = ()
        self._forward_raw: tuple[str, bytes] | None = None
        self._message_id: str | None = None

    # ------------------------------------------------------------------ recipients
    def to(self, *recipients: RecipientLike) -> Self:
        for r in recipients:
            self._to.extend(to_addresses(r))
        return self

    def cc(self, *recipients: RecipientLike) -> Self:
        for r in recipients:
            self._cc.extend(to_addresses(r))
        return self

    def bcc(self, *recipients: RecipientLike) -> Self:
        for r in recipients:
            self._bcc.extend(to_addresses(r))
        return self

    def identity(self, from_address: str, name: str = "") -> Self:
        """Send as ``from_address`` (instead of the account's default identity)."""
        self._identity = Identity(check_address(from_address), name)
        return self

    # ------------------------------------------------------------------ content
    def subject(self, text: str) -> Self:
        if "\r" in text or "\n" in text:
            raise ValidationError("a subject cannot contain line breaks")
        self._subject = text
        return self

    def body(self, text: str) -> Self:
        self._body = text
        return self

    def html(self, markup: str) -> Self:
        """An HTML alternative; without :meth:`body`, the text part is derived from it."""
        self._html = markup
        return self

    def attach(
        self,
        source: AttachmentSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Self:
        """A file path, ``(name, bytes[, content_type])`` or an :class:`Attachment`."""
        if isinstance(source, Attachment):
            name, data, ctype = source.filename, source.read(), source.content_type
        elif isinstance(source, tuple):
            name, data = source[0], source[1]
            ctype = source[2] if len(source) == 3 else ""
            if not isinstance(data, bytes | bytearray):
                raise ValidationError(f"attachment {name!r}: content must be bytes")
        else:
            path = Path(source)
            if not path.is_file():
                raise ValidationError(f"attachment not found (or not a file): {path}")
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ValidationError(f"cannot read attachment {path}: {exc}") from exc
            name, ctype = path.name, ""
        name = filename or name
        if not name or "/" in name or "\\" in name:
            raise ValidationError(f"bad attachment file name {name!r}")
        ctype = content_type or ctype or mimetypes.guess_type(name)[0] or (
            "application/octet-stream"
        )
        if ctype.count("/") != 1:
            raise ValidationError(f"bad content type {ctype!r} for {name!r}")
        self._files.append(_File(name, bytes(data), ctype.lower()))
        return self

    # ------------------------------------------------------------------ replies
    def reply(self, message: Message, quote: bool = True) -> Self:
        """Answer the sender (Reply-To if set) with threading headers and quoted text."""
        first = list(message.reply_to) or ([message.sender] if message.sender else [])
        if not first:
            raise ValidationError("the message has no sender or Reply-To to answer")
        self._to.extend(first)
        self._thread_on(message, quote)
        return self

    def reply_all(
        self, message: Message, me: str | Address | Iterable[str] = (), quote: bool = True
    ) -> Self:
        """Answer the sender and every recipient except ``me`` (and this identity)."""
        mine = [me.address] if isinstance(me, Address) else [me] if isinstance(me, str) else (
            list(me)
        )
        if self._identity is not None:
            mine.append(self._identity.address)
        to, cc = reply_all_recipients(message, mine)
        if not to and not cc:
            raise ValidationError("the message has nobody to answer")
        self._to.extend(to)
        self._cc.extend(cc)
        self._thread_on(message, quote)
        return self

    def _thread_on(self, message: Message, quote: bool) -> None:
        self._subject = reply_subject(message.subject)
        self._in_reply_to = message.message_id.strip("<> ") if message.message_id else None
        self._references = reference_ids(message)
        if quote:
            self._quoted = f"{attribution(message)}\n{quote_text(message.body_text)}\n"

    def forward(
        self, message: Message, *, as_attachment: bool = False, raw: bytes | None = None
    ) -> Self:
        """Forward inline (header block + text + the original's attachments) or as a
        ``message/rfc822`` attachment (needs the original's ``raw`` bytes)."""
        self._subject = forward_subject(message.subject)
        if as_attachment:
            if raw is None:
                raise ValidationError("forwarding as an attachment needs the original's bytes")
            name = (message.subject or "forwarded message").replace("/", "-")[:60] + ".eml"
            self._forward_raw = (name, raw)
            return self
        self._quoted = f"{forward_header(message)}\n\n{message.body_text.rstrip()}\n"
        for att in message.attachments:
            if att.inline:
                continue
            try:
                if raw is not None and att.part_id:
                    from services.mime.parse import attachment_bytes

                    data = attachment_bytes(raw, att.part_id)
                else:
                    data = att.read()
            except LookupError as exc:
                raise ValidationError(
                    f"attachment {att.filename!r} of the original is not loaded; pass raw="
                ) from exc
            self._files.append(_File(att.filename, data, att.content_type))
        return self

    # ------------------------------------------------------------------ output
    @property
    def message_id(self) -> str:
        """This message's Message-ID (no angle brackets), made once with the sender's domain."""
        if self._message_id is None:
            domain = self._identity.domain if self._identity else "localhost"
            self._message_id = make_msgid(domain=domain or "localhost").strip("<>")
        return self._message_id

    def _text(self) -> str:
        text = self._body
        if not text and self._html is not None:
            from services.mime.text import html_to_text

            text = html_to_text(self._html)
        if self._quoted:
            text = f"{text.rstrip()}\n\n{self._quoted}" if text.strip() else f"\n{self._quoted}"
        return text if text.endswith("\n") else text + "\n"

    def _html_part(self) -> str | None:
        if self._html is None:
            return None
        if not self._quoted:
            return self._html
        return f"{self._html}\n<blockquote type=\"cite\"><pre>{escape(self._quoted)}</pre>" \
               "</blockquote>"

    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.address for a in (*self._to, *self._cc, *self._bcc)))

    def build(self, *, draft: bool = False) -> bytes:
        """The message as bytes (CRLF).  ``draft`` keeps Bcc and allows no recipients."""
        if self._identity is None:
            raise ValidationError("no sender: call identity(address) or compose from an account")
        if not draft and not self.recipients():
            raise ValidationError("add at least one recipient (to, cc or bcc)")
        everyone = (*self._to, *self._cc, *self._bcc, Address(self._identity.address))
        utf8 = not all(a.address.isascii() for a in everyone)
        msg = EmailMessage(policy=_POLICY_UTF8 if utf8 else _POLICY)
        msg["From"] = _header_address(Address(self._identity.address, self._identity.name))
        for name, addrs in (("To", self._to), ("Cc", self._cc), ("Bcc", self._bcc)):
            if addrs and (name != "Bcc" or draft):
                msg[name] = [_header_address(a) for a in addrs]
        msg["Subject"] = self._subject
        msg["Date"] = format_datetime(self._clock())
        msg["Message-ID"] = f"<{self.message_id}>"
        if self._in_reply_to:
            msg["In-Reply-To"] = f"<{self._in_reply_to}>"
        if self._references:
            msg["References"] = " ".join(f"<{r}>" for r in self._references)
        msg.set_content(self._text())
        html = self._html_part()
        if html is not None:
            msg.add_alternative(html, subtype="html")
        for f in self._files:
            maintype, subtype = f.content_type.split("/")
            msg.add_attachment(f.data, maintype=maintype, subtype=subtype, filename=f.filename)
        if self._forward_raw is not None:
            name, raw = self._forward_raw
            inner = email.message_from_bytes(raw, policy=email.policy.default)
            msg.add_attachment(inner, filename=name)
        return msg.as_bytes()

    def outgoing(self, *, draft: bool = False) -> OutgoingMessage:
        raw = self.build(draft=draft)
        assert self._identity is not None
        return OutgoingMessage(raw, self.message_id, self._identity.address,
                               self.recipients(), self._subject)

    def send(self) -> SendResult:
        """Hand the message to the account (it is queued before any network I/O)."""
        if self._send is None:
            raise ConfigurationError("this message is not bound to an account: cannot send")
        out = self.outgoing()
        return self._send(out.raw, out.sender, out.recipients, out.message_id)

    def save_draft(self) -> str:
        if self._save_draft is None:
            raise ConfigurationError("this message is not bound to an account: cannot save")
        out = self.outgoing(draft=True)
        return self._save_draft(out.raw, out.sender, out.recipients, out.message_id)


def _header_address(a: Address) -> HeaderAddress:
    try:
        return HeaderAddress(display_name=a.name, addr_spec=a.address)
    except (ValueError, IndexError) as exc:
        from services.errors import AddressError

        raise AddressError(f"not an e-mail address: {a.address!r}") from exc
