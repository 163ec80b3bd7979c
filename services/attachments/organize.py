"""Organisation rules: save attachments into folders by type, sender and/or date,
storing each distinct content once (deduplicated by sha256)."""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from services.attachments.safe import safe_filename, save_into
from services.attachments.types import AttachmentAnalysis
from services.models import Attachment, Message

if TYPE_CHECKING:
    from services.attachments.manager import AttachmentManager

__all__ = ["TYPE_FOLDERS", "OrganizeRule", "Organizer", "SavedAttachment", "dedupe"]

#: Folder (relative to the root) per kind, as in the spec (``documents/pdfs``, ``images``).
TYPE_FOLDERS: dict[str, str] = {
    "pdf": "documents/pdfs", "document": "documents", "spreadsheet": "documents/spreadsheets",
    "presentation": "documents/presentations", "image": "images", "audio": "audio",
    "video": "video", "archive": "archives", "text": "text", "html": "text", "csv": "text",
    "email": "messages", "executable": "quarantine", "script": "quarantine",
}


class OrganizeRule(enum.StrEnum):
    TYPE = "type"  # documents/pdfs, images, ... (executables and scripts: quarantine)
    SENDER = "sender"  # the sender's address
    DATE = "date"  # YYYY/MM of the message


@dataclass(frozen=True, slots=True)
class SavedAttachment:
    """Where an attachment went; ``duplicate``: its content was already there."""

    path: Path
    duplicate: bool
    analysis: AttachmentAnalysis


def dedupe(attachments: Iterable[Attachment]) -> list[Attachment]:
    """The attachments with distinct content, first occurrence kept, order kept."""
    seen: set[str] = set()
    out: list[Attachment] = []
    for attachment in attachments:
        if attachment.sha256 not in seen:
            seen.add(attachment.sha256)
            out.append(attachment)
    return out


def _same_content(folder: Path, size: int, sha: str) -> Path | None:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return None
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and entry.stat().st_size == size:
            digest = hashlib.sha256()
            with open(entry.path, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() == sha:
                return Path(entry.path)
    return None


class Organizer:
    """Saves attachments under ``root`` following ``rules`` (applied in order)."""

    def __init__(self, manager: AttachmentManager, root: str | os.PathLike[str],
                 rules: Sequence[OrganizeRule | str] = (OrganizeRule.TYPE,)) -> None:
        self.manager = manager
        self.root = Path(root)
        self.rules = tuple(OrganizeRule(r) for r in rules)
        self._saved: dict[str, Path] = {}

    def folder_for(self, analysis: AttachmentAnalysis, message: Message | None) -> Path:
        folder = self.root
        for rule in self.rules:
            if rule is OrganizeRule.TYPE:
                folder = folder / TYPE_FOLDERS.get(analysis.file_type, "other")
            elif rule is OrganizeRule.SENDER:
                sender = message.sender.address if message and message.sender else ""
                folder = folder / safe_filename(sender.lower(), fallback="unknown-sender")
            else:
                date = message.date if message else None
                folder = folder / (f"{date:%Y}/{date:%m}" if date else "undated")
        return folder

    def save(self, attachment: Attachment, message: Message | None = None) -> SavedAttachment:
        analysis = self.manager.analyze_attachment(attachment)
        folder = self.folder_for(analysis, message)
        data = attachment.read()
        known = self._saved.get(analysis.sha256)
        if known is not None and known.parent == folder.resolve() and known.exists():
            return SavedAttachment(known, True, analysis)
        existing = _same_content(folder, len(data), analysis.sha256)
        if existing is not None:
            self._saved[analysis.sha256] = existing.resolve()
            return SavedAttachment(existing.resolve(), True, analysis)
        path = save_into(folder, attachment.filename, data)
        self._saved[analysis.sha256] = path
        return SavedAttachment(path, False, analysis)

    def save_message(self, message: Message) -> list[SavedAttachment]:
        """Every non-inline attachment of ``message``."""
        return [self.save(a, message) for a in message.attachments if not a.inline]
