"""Commhub's headless communication core.

Importable without Qt::

    from services import CommManager, EmailQuery, SortOrder, Contact
"""

from services.attachments import AnalysisStatus, AttachmentAnalysis, AttachmentManager
from services.errors import (
    AuthenticationError,
    CommError,
    ConfigurationError,
    ConnectionFailed,
    MessageError,
    NotFound,
    ParseError,
    ProviderError,
    QuerySyntaxError,
    SourceError,
    StoreError,
    ValidationError,
)
from services.manager import CommManager
from services.models import (
    Account,
    Address,
    Attachment,
    ChannelKind,
    Contact,
    Conversation,
    Flag,
    Message,
    Priority,
    SendResult,
    SortOrder,
)
from services.query.builder import EmailQuery, SortField
from services.security.config import SecurityConfig

__all__ = [
    "Account",
    "Address",
    "AnalysisStatus",
    "Attachment",
    "AttachmentAnalysis",
    "AttachmentManager",
    "AuthenticationError",
    "ChannelKind",
    "CommError",
    "CommManager",
    "ConfigurationError",
    "ConnectionFailed",
    "Contact",
    "Conversation",
    "EmailQuery",
    "Flag",
    "Message",
    "MessageError",
    "NotFound",
    "ParseError",
    "Priority",
    "ProviderError",
    "QuerySyntaxError",
    "SecurityConfig",
    "SendResult",
    "SortField",
    "SortOrder",
    "SourceError",
    "StoreError",
    "ValidationError",
]
