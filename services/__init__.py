"""Commhub's headless communication core.

Importable without Qt::

    from services import CommManager, EmailQuery, SortOrder, Contact
"""

from services.attachments import AnalysisStatus, AttachmentAnalysis, AttachmentManager
from services.errors import (
    AddressError,
    AuthenticationError,
    CommError,
    ConfigurationError,
    ConnectionFailed,
    EncryptionKeyError,
    EncryptionKeyMissing,
    MessageError,
    NotFound,
    OperationTimedOut,
    ParseError,
    PolicyViolation,
    ProviderError,
    QuerySyntaxError,
    SourceError,
    StoreError,
    UnsupportedOperation,
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
    "AddressError",
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
    "EncryptionKeyError",
    "EncryptionKeyMissing",
    "Flag",
    "Message",
    "MessageError",
    "NotFound",
    "OperationTimedOut",
    "ParseError",
    "PolicyViolation",
    "Priority",
    "ProviderError",
    "QuerySyntaxError",
    "SecurityConfig",
    "SendResult",
    "SortField",
    "SortOrder",
    "SourceError",
    "StoreError",
    "UnsupportedOperation",
    "ValidationError",
]
