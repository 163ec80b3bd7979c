"""What channel services call so that sending is DLP-checked and actions are audited.

:class:`SecurityHooks` is built by the :class:`~services.manager.CommManager` from its
:class:`~services.security.config.SecurityConfig` and handed to providers in
``ProviderContext.extras["hooks"]``.  Either part may be absent (no audit log, no DLP):
then the matching calls do nothing.

* :meth:`SecurityHooks.guard_deliver` wraps an e-mail ``deliver`` (the outbox): the
  message is scanned before it is queued; a blocked one is not queued and the send
  returns ``success=False`` with the policy's explanation; ``sent`` / ``send-failed``
  are audited after.
* :meth:`SecurityHooks.check_outgoing` does the same check for any channel's text
  (SMS, chat, sockets) and raises :class:`~services.errors.PolicyViolation`.
* :meth:`SecurityHooks.flags_changed` audits ``read`` when a message is marked read.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from email.message import EmailMessage, Message

from services.errors import PolicyViolation
from services.models import Flag, SendResult
from services.models import Message as CommMessage
from services.security.audit import AuditEntry, AuditLog
from services.security.dlp import DlpDecision, DlpPolicy

__all__ = ["Deliver", "SecurityHooks", "outgoing_texts"]

Deliver = Callable[[bytes, str, Sequence[str], str], Awaitable[SendResult]]
_TEXTUAL = {"application/json", "application/xml", "application/x-pem-file",
            "application/pgp-keys", "application/x-sh", "application/javascript"}
_TEXT_SUFFIXES = (".txt", ".csv", ".pem", ".key", ".env", ".json", ".yaml", ".yml", ".ini")


def _part_text(part: Message) -> str | None:
    ctype = part.get_content_type()
    name = (part.get_filename() or "").lower()
    if not (ctype.startswith("text/") or ctype in _TEXTUAL or name.endswith(_TEXT_SUFFIXES)):
        return None
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", "replace")


def outgoing_texts(raw: bytes) -> list[str]:
    """The subject, every text part and every text-like attachment of a MIME message.

    Binary attachments (PDF, images, archives) are not looked into."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    texts = [str(msg.get("Subject", ""))] if isinstance(msg, EmailMessage) else []
    for part in msg.walk():
        if part.is_multipart():
            continue
        text = _part_text(part)
        if text:
            texts.append(text)
    return texts


class SecurityHooks:
    """DLP on the way out and audit records on the way through; see the module docstring."""

    def __init__(self, *, audit: AuditLog | None = None, dlp: DlpPolicy | None = None) -> None:
        self.audit = audit
        self.dlp = dlp

    def record(
        self,
        event: str,
        *,
        channel: str | None = None,
        object_id: str | None = None,
        user: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> AuditEntry | None:
        if self.audit is None:
            return None
        return self.audit.record(
            event, channel=channel, object_id=object_id, user=user, details=details
        )

    def check_outgoing(
        self,
        texts: Sequence[str],
        *,
        channel: str,
        account: str,
        object_id: str | None = None,
        user: str | None = None,
    ) -> DlpDecision:
        """Scan outgoing text; audit the outcome; raise :class:`PolicyViolation` if blocked."""
        if self.dlp is None:
            return DlpDecision()
        decision = self.dlp.check(*texts)
        if decision.blocked or decision.warned:
            event = "dlp-blocked" if decision.blocked else "dlp-warned"
            self.record(event, channel=channel, object_id=object_id, user=user,
                        details={"account": account, "findings": ",".join(decision.kinds)})
        if decision.blocked:
            raise PolicyViolation(decision.explain(), findings=decision.kinds)
        return decision

    def guard_deliver(self, deliver: Deliver, *, account: str, channel: str = "email") -> Deliver:
        """``deliver`` with DLP before it and audit records after it."""
        if self.dlp is None and self.audit is None:
            return deliver

        async def guarded(
            raw: bytes, sender: str, recipients: Sequence[str], message_id: str
        ) -> SendResult:
            def check() -> None:  # parsing and scanning: in a thread, off the event loop
                self.check_outgoing(outgoing_texts(raw), channel=channel, account=account,
                                    object_id=message_id, user=sender)

            try:
                await asyncio.to_thread(check)
            except PolicyViolation as exc:
                return SendResult.failed(str(exc), provider="dlp", message_id=message_id)
            result = await deliver(raw, sender, recipients, message_id)
            if self.audit is None:
                return result
            details = {"account": account, "recipients": str(len(recipients)),
                       "provider": result.provider}
            if not result.success:
                details["error"] = (result.error or "")[:200]
            await asyncio.to_thread(
                self.record, "sent" if result.success else "send-failed",
                channel=channel, object_id=message_id, user=sender, details=details,
            )
            return result

        return guarded

    def flags_changed(
        self,
        message: CommMessage,
        add: frozenset[Flag],
        remove: frozenset[Flag],
        *,
        user: str | None = None,
    ) -> None:
        """Audit ``read`` (the seen flag set); other flag changes are not audited."""
        if Flag.SEEN in add:
            self.record("read", channel=str(message.channel), user=user,
                        object_id=message.message_id or (
                            str(message.id) if message.id is not None else None),
                        details={"account": message.account})

    def deleted(self, message: CommMessage, *, user: str | None = None) -> None:
        self.record("deleted", channel=str(message.channel), user=user,
                    object_id=message.message_id or (
                        str(message.id) if message.id is not None else None),
                    details={"account": message.account, "folder": message.folder})
