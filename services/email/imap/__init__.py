"""IMAP accounts: configuration, connection, folder roles, sync engine, IDLE push."""

from services.email.imap.config import ImapConfig
from services.email.imap.service import ImapService, fetch_body

__all__ = ["ImapConfig", "ImapService", "fetch_body"]
