"""Sending with a persistent outbox: retry policy, failover between routes, crash recovery.

See :mod:`services.outbox.sender` for the crash windows that are covered and those that
are not.
"""

from services.outbox.retry import Action, Decision, ErrorKind, RetryPolicy, classify
from services.outbox.sender import OutboxSender, Route
from services.outbox.sentfolder import ImapLike, ImapSentFolder, SentFolder

__all__ = [
    "Action",
    "Decision",
    "ErrorKind",
    "ImapLike",
    "ImapSentFolder",
    "OutboxSender",
    "RetryPolicy",
    "Route",
    "SentFolder",
    "classify",
]
