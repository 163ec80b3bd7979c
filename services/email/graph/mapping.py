"""Graph JSON ↔ the domain model (pure): folders and their roles, messages, flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.mime.text import html_to_text, make_snippet
from services.models import Address, Attachment, ChannelKind, Flag, Message, Priority

__all__ = [
    "MANAGED_FLAGS",
    "MESSAGE_FIELDS",
    "GraphFolder",
    "flag_patch",
    "flags_from_json",
    "folder_from_json",
    "folder_role",
    "message_from_json",
    "parse_time",
]

#: Flags Graph stores (the others are kept locally only).
MANAGED_FLAGS = frozenset({Flag.SEEN, Flag.FLAGGED, Flag.DRAFT})
#: ``$select`` for listing / searching messages.
MESSAGE_FIELDS = (
    "id,parentFolderId,internetMessageId,subject,from,sender,toRecipients,ccRecipients,"
    "bccRecipients,replyTo,sentDateTime,receivedDateTime,isRead,isDraft,flag,importance,"
    "hasAttachments,bodyPreview,body"
)
_WELL_KNOWN = {
    "inbox": "inbox",
    "sentitems": "sent",
    "drafts": "drafts",
    "deleteditems": "trash",
    "junkemail": "junk",
    "archive": "archive",
}
_DISPLAY = {
    "inbox": "inbox",
    "sent items": "sent",
    "sent": "sent",
    "drafts": "drafts",
    "deleted items": "trash",
    "junk email": "junk",
    "junk e-mail": "junk",
    "archive": "archive",
}
_IMPORTANCE = {"low": Priority.LOW, "normal": Priority.NORMAL, "high": Priority.HIGH}


@dataclass(frozen=True, slots=True)
class GraphFolder:
    """A mail folder: ``name`` is the path of display names joined with ``/``."""

    id: str
    name: str
    role: str | None = None
    parent_id: str | None = None
    child_count: int = 0
    well_known: str | None = None


def folder_role(item: Mapping[str, Any], *, top_level: bool = True) -> str | None:
    """Role from ``wellKnownName``, else (top-level folders only) the English display name."""
    known = str(item.get("wellKnownName") or "").lower()
    if known in _WELL_KNOWN:
        return _WELL_KNOWN[known]
    if top_level:
        return _DISPLAY.get(str(item.get("displayName") or "").strip().lower())
    return None


def folder_from_json(item: Mapping[str, Any], parent: GraphFolder | None = None) -> GraphFolder:
    display = str(item.get("displayName") or item.get("id") or "").replace("/", "∕")
    name = f"{parent.name}/{display}" if parent else display
    known = str(item.get("wellKnownName") or "") or None
    return GraphFolder(
        id=str(item["id"]),
        name=name,
        role=folder_role(item, top_level=parent is None),
        parent_id=str(item.get("parentFolderId") or "") or None,
        child_count=int(item.get("childFolderCount") or 0),
        well_known=known,
    )


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def flags_from_json(item: Mapping[str, Any]) -> tuple[frozenset[Flag], frozenset[Flag]]:
    """``(flags set, flags the JSON speaks for)``: a delta item may carry only some fields."""
    have: set[Flag] = set()
    known: set[Flag] = set()
    if "isRead" in item:
        known.add(Flag.SEEN)
        if item.get("isRead"):
            have.add(Flag.SEEN)
    flag = item.get("flag")
    if isinstance(flag, Mapping) and "flagStatus" in flag:
        known.add(Flag.FLAGGED)
        if str(flag.get("flagStatus")).lower() == "flagged":
            have.add(Flag.FLAGGED)
    if "isDraft" in item:
        known.add(Flag.DRAFT)
        if item.get("isDraft"):
            have.add(Flag.DRAFT)
    return frozenset(have), frozenset(known)


def flag_patch(add: Iterable[Flag], remove: Iterable[Flag]) -> dict[str, Any]:
    """PATCH body for ``/messages/{id}`` (only SEEN and FLAGGED are writable on Graph)."""
    body: dict[str, Any] = {}
    plus, minus = set(add), set(remove)
    for flag, value in ((f, True) for f in plus):
        _set(body, flag, value)
    for flag in minus - plus:
        _set(body, flag, False)
    return body


def _set(body: dict[str, Any], flag: Flag, value: bool) -> None:
    if flag is Flag.SEEN:
        body["isRead"] = value
    elif flag is Flag.FLAGGED:
        body["flag"] = {"flagStatus": "flagged" if value else "notFlagged"}


def _address(item: object) -> Address | None:
    if not isinstance(item, Mapping):
        return None
    email = item.get("emailAddress")
    if not isinstance(email, Mapping):
        return None
    return Address(address=str(email.get("address") or ""), name=str(email.get("name") or ""))


def _addresses(items: object) -> tuple[Address, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(a for a in (_address(i) for i in items) if a is not None)


def _body_text(item: Mapping[str, Any]) -> tuple[str, str | None]:
    body = item.get("body")
    if not isinstance(body, Mapping):
        return "", None
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() == "html":
        return html_to_text(content), content
    return content, None


def _attachments(item: Mapping[str, Any]) -> list[Attachment]:
    out: list[Attachment] = []
    for a in item.get("attachments") or []:
        if isinstance(a, Mapping):
            out.append(Attachment(
                filename=str(a.get("name") or "attachment"),
                content_type=str(a.get("contentType") or "application/octet-stream"),
                size=int(a.get("size") or 0),
                inline=bool(a.get("isInline")),
            ))
    return out


def message_from_json(item: Mapping[str, Any], *, account: str, folder: str) -> Message:
    """A message as Graph lists it (no raw bytes): enough to show, search and flag it."""
    flags, _ = flags_from_json(item)
    text, html = _body_text(item)
    msgid = str(item.get("internetMessageId") or "").strip().strip("<>") or None
    preview = str(item.get("bodyPreview") or "")
    return Message(
        channel=ChannelKind.EMAIL,
        account=account,
        folder=folder,
        remote_id=str(item["id"]),
        message_id=msgid,
        sender=_address(item.get("from")) or _address(item.get("sender")),
        to=_addresses(item.get("toRecipients")),
        cc=_addresses(item.get("ccRecipients")),
        bcc=_addresses(item.get("bccRecipients")),
        reply_to=_addresses(item.get("replyTo")),
        subject=str(item.get("subject") or ""),
        date=parse_time(item.get("sentDateTime")) or parse_time(item.get("receivedDateTime")),
        received_at=parse_time(item.get("receivedDateTime")),
        flags=flags,
        priority=_IMPORTANCE.get(str(item.get("importance") or "").lower(), Priority.NORMAL),
        snippet=preview or make_snippet(text),
        body_text=text,
        body_html=html,
        attachments=_attachments(item),
    )
