"""Commhub's headless communication core.

Importable without Qt::

    from services import CommManager, EmailQuery, SortOrder, Contact

The names are imported on first use (``services._lazy``), so importing one submodule does
not import the whole core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services._lazy import attach

if TYPE_CHECKING:
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

__getattr__, __dir__ = attach(__name__, {
    "Account": "services.models",
    "Address": "services.models",
    "AddressError": "services.errors",
    "AnalysisStatus": "services.attachments",
    "Attachment": "services.models",
    "AttachmentAnalysis": "services.attachments",
    "AttachmentManager": "services.attachments",
    "AuthenticationError": "services.errors",
    "ChannelKind": "services.models",
    "CommError": "services.errors",
    "CommManager": "services.manager",
    "ConfigurationError": "services.errors",
    "ConnectionFailed": "services.errors",
    "Contact": "services.models",
    "Conversation": "services.models",
    "EmailQuery": "services.query.builder",
    "EncryptionKeyError": "services.errors",
    "EncryptionKeyMissing": "services.errors",
    "Flag": "services.models",
    "Message": "services.models",
    "MessageError": "services.errors",
    "NotFound": "services.errors",
    "OperationTimedOut": "services.errors",
    "ParseError": "services.errors",
    "PolicyViolation": "services.errors",
    "Priority": "services.models",
    "ProviderError": "services.errors",
    "QuerySyntaxError": "services.errors",
    "SecurityConfig": "services.security.config",
    "SendResult": "services.models",
    "SortField": "services.query.builder",
    "SortOrder": "services.models",
    "SourceError": "services.errors",
    "StoreError": "services.errors",
    "UnsupportedOperation": "services.errors",
    "ValidationError": "services.errors",
})
