"""Turning core objects into text and JSON for the command line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.models import Account, Message


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_to_dict(msg: Message, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": msg.id,
        "channel": str(msg.channel),
        "account": msg.account,
        "folder": msg.folder,
        "thread_id": msg.thread_id,
        "message_id": msg.message_id,
        "date": _iso(msg.date),
        "from": str(msg.sender) if msg.sender else None,
        "to": [str(a) for a in msg.to],
        "cc": [str(a) for a in msg.cc],
        "subject": msg.subject,
        "flags": sorted(str(f) for f in msg.flags),
        "priority": msg.priority.name.lower(),
        "size": msg.size,
        "snippet": msg.snippet,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in msg.attachments
        ],
    }
    if full:
        out["in_reply_to"] = msg.in_reply_to
        out["references"] = list(msg.references)
        out["body_text"] = msg.body_text
        out["parse_warnings"] = list(msg.parse_warnings)
    return out


def account_to_dict(account: Account, count: int) -> dict[str, Any]:
    return {
        "name": account.name,
        "provider": account.provider,
        "channel": str(account.channel),
        "address": account.address,
        "messages": count,
    }


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def message_line(msg: Message) -> str:
    date = msg.date.strftime("%Y-%m-%d %H:%M") if msg.date else "????-??-?? ??:??"
    who = msg.sender.name or msg.sender.address if msg.sender else ""
    marks = ("N" if msg.is_unread else " ") + ("F" if msg.is_flagged else " ")
    marks += "@" if msg.attachments else " "
    return f"{msg.id:>8}  {marks}  {date}  {_clip(who, 24):<24}  {_clip(msg.subject, 70)}"


def message_text(msg: Message) -> str:
    lines = [
        f"From:     {msg.sender or ''}",
        f"To:       {', '.join(str(a) for a in msg.to)}",
    ]
    if msg.cc:
        lines.append(f"Cc:       {', '.join(str(a) for a in msg.cc)}")
    lines += [
        f"Date:     {msg.date.isoformat() if msg.date else '(none)'}",
        f"Subject:  {msg.subject}",
        f"Account:  {msg.account} / {msg.folder}   Channel: {msg.channel}",
        f"Id:       {msg.id}   Thread: {msg.thread_id}   Message-ID: {msg.message_id or '(none)'}",
    ]
    for att in msg.attachments:
        lines.append(f"Attached: {att.filename} ({att.content_type}, {att.size} bytes)")
    for warning in msg.parse_warnings:
        lines.append(f"Warning:  {warning}")
    lines += ["", msg.body_text.rstrip()]
    return "\n".join(lines)
