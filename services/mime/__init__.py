"""MIME parsing: raw RFC 5322 bytes to :class:`services.models.Message`."""

from services.mime.parse import attachment_bytes, parse_message

__all__ = ["attachment_bytes", "parse_message"]
