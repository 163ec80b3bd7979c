"""Writing messages: the fluent :class:`ComposeBuilder` (``account.compose()``)."""

from services.compose.addresses import check_address, to_addresses
from services.compose.builder import (
    AttachmentSource,
    ComposeBuilder,
    DraftFn,
    Identity,
    OutgoingMessage,
    SendFn,
)

__all__ = [
    "AttachmentSource",
    "ComposeBuilder",
    "DraftFn",
    "Identity",
    "OutgoingMessage",
    "SendFn",
    "check_address",
    "to_addresses",
]
