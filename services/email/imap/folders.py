"""Folder roles: RFC 6154 SPECIAL-USE attributes first, common names as a fallback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.email.protocols import FolderInfo

__all__ = ["detect_role", "find_role", "folder_infos"]

_ATTRS = {
    b"\\sent": "sent",
    b"\\drafts": "drafts",
    b"\\trash": "trash",
    b"\\junk": "junk",
    b"\\archive": "archive",
    b"\\all": "all",
    b"\\flagged": "flagged",
}
_NAMES = {
    "inbox": "inbox",
    "sent": "sent", "sent items": "sent", "sent mail": "sent", "sent messages": "sent",
    "gesendet": "sent", "envoyés": "sent",
    "drafts": "drafts", "draft": "drafts", "entwürfe": "drafts", "brouillons": "drafts",
    "trash": "trash", "deleted items": "trash", "deleted messages": "trash", "bin": "trash",
    "papierkorb": "trash", "corbeille": "trash",
    "junk": "junk", "spam": "junk", "junk e-mail": "junk", "bulk mail": "junk",
    "archive": "archive", "archives": "archive", "archiv": "archive",
    "all mail": "all", "starred": "flagged", "flagged": "flagged",
}  # fmt: skip


def _attr(flag: bytes | str) -> bytes:
    return (flag.encode() if isinstance(flag, str) else bytes(flag)).lower()


def detect_role(name: str, flags: Iterable[bytes | str], delimiter: str = "/") -> str | None:
    """The folder's role: a SPECIAL-USE attribute, else its (last) name component."""
    attrs = {_attr(f) for f in flags}
    for attr, role in _ATTRS.items():
        if attr in attrs:
            return role
    if name.upper() == "INBOX":
        return "inbox"
    leaf = name.rsplit(delimiter, 1)[-1] if delimiter else name
    return _NAMES.get(leaf.strip().casefold())


def folder_infos(rows: Sequence[tuple[Sequence[bytes | str], str, str]]) -> list[FolderInfo]:
    """``LIST`` rows (flags, delimiter, name) → FolderInfo; a name-guessed role is given only
    to the first folder that has it, and never when a SPECIAL-USE folder has it."""
    explicit = {
        role for flags, _, _ in rows
        for role in [next((r for a, r in _ATTRS.items() if a in {_attr(f) for f in flags}), None)]
        if role
    }
    taken: set[str] = set()
    out: list[FolderInfo] = []
    for flags, delim, name in rows:
        attrs = {_attr(f) for f in flags}
        role = detect_role(name, flags, delim)
        by_attr = any(a in attrs for a in _ATTRS)
        if role and not by_attr and role != "inbox" and (role in explicit or role in taken):
            role = None
        if role:
            taken.add(role)
        selectable = b"\\noselect" not in attrs and b"\\nonexistent" not in attrs
        out.append(FolderInfo(name=name, role=role, delimiter=delim or "/",
                              selectable=selectable))
    return out


def find_role(folders: Iterable[FolderInfo], role: str) -> FolderInfo | None:
    return next((f for f in folders if f.role == role), None)
