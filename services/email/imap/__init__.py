"""IMAP accounts: configuration, connection, folder roles, sync engine, IDLE push."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services._lazy import attach

if TYPE_CHECKING:
    from services.email.imap.config import ImapConfig
    from services.email.imap.service import ImapService, fetch_body

__all__ = ["ImapConfig", "ImapService", "fetch_body"]

__getattr__, __dir__ = attach(__name__, {
    "ImapConfig": "services.email.imap.config",
    "ImapService": "services.email.imap.service",
    "fetch_body": "services.email.imap.service",
})
