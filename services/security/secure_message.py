"""``comm.create_secure_message(...)``: an S/MIME message to a contact, with a local copy
that expires.

The recipient's certificate comes from the :class:`CertificateDirectory` (import it first);
the user's own identity there, when set up, signs the message and is a second recipient, so
the local copy stays readable.  The local copy is stored (local account
``secure-messages``, folder ``Sent``: only its headers are indexed, the body is
ciphertext) and, with ``expiry_hours``, registered for removal by the retention job
(:class:`~services.security.retention.RetentionJob`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.errors import ConfigurationError, ValidationError
from services.mime.parse import parse_message
from services.security.compliance import AuditSink
from services.security.retention import set_expiry
from services.security.smime import (
    CertificateDirectory,
    OpenedMessage,
    build_secure_message,
    open_message,
)
from services.store import Store

__all__ = ["LOCAL_ACCOUNT", "SecureMessage", "create_secure_message", "open_stored"]

LOCAL_ACCOUNT = "secure-messages"  # a local-only account (provider "import": never synced)


@dataclass(frozen=True)
class SecureMessage:
    """The S/MIME message, ready to send (``raw``), and where its local copy is."""

    raw: bytes
    message_id: str
    recipient: str
    subject: str
    encryption_level: str
    signed: bool
    local_id: int | None
    expires_at: datetime | None

    def as_bytes(self) -> bytes:
        return self.raw


def create_secure_message(
    store: Store,
    certificates: CertificateDirectory,
    *,
    recipient: str,
    subject: str,
    body: str,
    encryption_level: str = "AES-256",
    expiry_hours: float | None = None,
    sender: str | None = None,
    audit: AuditSink | None = None,
    clock: Callable[[], float] = time.time,
) -> SecureMessage:
    if expiry_hours is not None and expiry_hours <= 0:
        raise ValidationError("expiry_hours must be positive")
    address = recipient.strip()
    if "@" not in address:
        raise ValidationError(f"{recipient!r} is not an e-mail address")
    identity = certificates.identity()
    now = datetime.fromtimestamp(clock(), UTC)
    recipient_cert = certificates.certificate_for(address, now=now)
    frm = sender or (identity.address if identity else "") or next(
        (a.address for a in store.accounts() if a.address), "")
    if not frm:
        raise ConfigurationError("no sender address: set up an S/MIME identity, an account, "
                                 "or pass sender=")
    raw = build_secure_message(
        sender=frm, recipient=address, subject=subject, body=body,
        recipient_cert=recipient_cert, identity=identity,
        encryption_level=encryption_level, now=now)
    if all(a.name != LOCAL_ACCOUNT for a in store.accounts()):
        store.ensure_account(LOCAL_ACCOUNT, "import", address=frm)
    message = parse_message(raw, account=LOCAL_ACCOUNT, folder="Sent")
    result = store.ingest([(message.with_changes(received_at=now), raw)])
    local_id = result.ids[0] if result.ids else None
    expires = now + timedelta(hours=expiry_hours) if expiry_hours is not None else None
    if local_id is not None and expires is not None:
        set_expiry(store, local_id, expires.timestamp())
    message_id = message.message_id or ""
    if audit is not None:
        audit.record("secure-message-created", channel="email", object_id=message_id,
                     details={"encryption": encryption_level, "signed": str(bool(identity)),
                              "expires": expires.isoformat() if expires else "never"})
    return SecureMessage(raw, message_id, address, subject, encryption_level,
                         identity is not None, local_id, expires)


def open_stored(store: Store, certificates: CertificateDirectory, message_id: int, *,
                clock: Callable[[], float] = time.time) -> OpenedMessage:
    """Decrypt and verify a stored S/MIME message with the user's identity, trusting the
    imported peer certificates and ``trust/`` CAs."""
    return open_message(store.raw(message_id), identity=certificates.identity(),
                        trusted=certificates.trusted(),
                        now=datetime.fromtimestamp(clock(), UTC))
