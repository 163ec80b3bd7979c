"""The stored message of the Gmail fake (:class:`FakeMessage`) and its wire formats."""

from __future__ import annotations

import base64
import email
import email.errors
import email.header
import email.message
import email.policy
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.gmail.server import GmailFake


# --------------------------------------------------------------------------- mailbox state

SYSTEM_LABELS = (
    "INBOX", "SENT", "DRAFT", "TRASH", "SPAM", "STARRED", "UNREAD", "IMPORTANT",
    "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
    "CATEGORY_FORUMS", "CHAT",
)  # fmt: skip
_PARSER = BytesParser(policy=email.policy.compat32)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode_header(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, email.errors.HeaderParseError):
        return value


@dataclass
class FakeMessage:
    id: str
    thread_id: str
    raw: bytes
    labels: set[str]
    internal_date: int  # ms
    history_id: int
    owner: GmailFake = field(repr=False)
    _msg: email.message.Message | None = field(default=None, repr=False)

    @property
    def msg(self) -> email.message.Message:
        if self._msg is None:
            self._msg = _PARSER.parsebytes(self.raw)
        return self._msg

    # Searchable
    def header_text(self, name: str) -> str:
        return " ".join(_decode_header(v) for v in self.msg.get_all(name, []))

    def body_text(self) -> str:
        out: list[str] = []
        for part in self.msg.walk():
            if part.get_content_maintype() == "text" and not part.get_filename():
                data = part.get_payload(decode=True)
                if isinstance(data, bytes):
                    charset = part.get_content_charset() or "utf-8"
                    try:
                        out.append(data.decode(charset, "replace"))
                    except LookupError:
                        out.append(data.decode("utf-8", "replace"))
        return "\n".join(out)

    def all_text(self) -> str:
        heads = " ".join(self.header_text(h) for h in ("from", "to", "cc", "subject"))
        return heads + "\n" + self.body_text() + "\n" + " ".join(self.filenames())

    def label_ids(self) -> set[str]:
        return set(self.labels)

    def label_names(self) -> set[str]:
        return {self.owner.labels[i]["name"] for i in self.labels if i in self.owner.labels}

    def message_id(self) -> str:
        return (self.msg.get("Message-ID") or "").strip().strip("<>")

    def filenames(self) -> list[str]:
        names = []
        for part in self.msg.walk():
            name = part.get_filename()
            if name:
                names.append(_decode_header(name))
        return names

    def has_attachment(self) -> bool:
        return bool(self.filenames())

    def epoch(self) -> float:
        return self.internal_date / 1000

    def size(self) -> int:
        return len(self.raw)

    # wire formats
    def resource(self, fmt: str, headers: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": sorted(self.labels),
            "snippet": " ".join(self.body_text().split())[:140],
            "sizeEstimate": len(self.raw),
            "historyId": str(self.history_id),
            "internalDate": str(self.internal_date),
        }
        if fmt == "raw":
            out["raw"] = b64url(self.raw)
        elif fmt == "metadata":
            wanted = {h.casefold() for h in headers or []}
            out["payload"] = {
                "partId": "",
                "mimeType": self.msg.get_content_type(),
                "filename": "",
                "headers": [
                    {"name": k, "value": str(v)}
                    for k, v in self.msg.items()
                    if not wanted or k.casefold() in wanted
                ],
                "body": {"size": 0},
            }
        elif fmt == "full":
            out["payload"] = self._payload(self.msg, "")
        return out

    def _payload(self, part: email.message.Message, part_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "partId": part_id,
            "mimeType": part.get_content_type(),
            "filename": _decode_header(part.get_filename()),
            "headers": [{"name": k, "value": str(v)} for k, v in part.items()],
        }
        if part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            out["body"] = {"size": 0}
            out["parts"] = [
                self._payload(child, f"{part_id}.{i}" if part_id else str(i))
                for i, child in enumerate(children)
            ]
            return out
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if out["filename"]:
            att = f"ATT_{self.id}_{part_id or 'root'}"
            self.owner.attachments[att] = data
            out["body"] = {"attachmentId": att, "size": len(data)}
        else:
            out["body"] = {"size": len(data), "data": b64url(data)}
        return out
