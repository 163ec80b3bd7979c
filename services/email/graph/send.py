"""Sending raw MIME through Graph (I/O around :mod:`.outgoing`).

Small messages: ``POST {mailbox}/sendMail`` with the base64 MIME as ``text/plain``
(202 Accepted).  Bigger ones: the MIME without its big attachments becomes a draft
(``POST {mailbox}/messages``, same encoding), each big attachment is uploaded through
``attachments/createUploadSession`` in byte ranges (multiples of 320 KiB, no
Authorization header: the upload URL is pre-authenticated), smaller detached ones are
added with ``POST .../attachments``, then ``POST .../messages/{id}/send``.  If any step
fails the draft is deleted (best effort) and the error raised.  Sends are never retried
automatically: a second attempt could deliver twice.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable

from services.email.graph.client import GraphClient
from services.email.graph.errors import PROVIDER, GraphError
from services.email.graph.outgoing import (
    OutgoingAttachment,
    add_missing_bcc,
    encode_mime,
    message_id_of,
    plan_outgoing,
)
from services.errors import CommError, ConfigurationError
from services.models import SendResult

__all__ = ["CHUNK_UNIT", "DEFAULT_CHUNK", "GraphSender", "byte_ranges"]

CHUNK_UNIT = 320 * 1024
DEFAULT_CHUNK = CHUNK_UNIT * 10  # 3.125 MiB per PUT (Graph: under 4 MiB)
_MIME = {"Content-Type": "text/plain"}
_log = logging.getLogger(__name__)


def byte_ranges(total: int, chunk: int) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` ranges covering ``total`` bytes."""
    return [(start, min(start + chunk, total) - 1) for start in range(0, total, chunk)]


class GraphSender:
    def __init__(self, client: GraphClient, mailbox: str, *, chunk_size: int = DEFAULT_CHUNK
                 ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_UNIT or chunk_size >= 4 * 1024 * 1024:
            raise ConfigurationError(
                f"upload chunk size {chunk_size} must be a multiple of 320 KiB under 4 MiB")
        self.client = client
        self.mailbox = mailbox
        self.chunk_size = chunk_size

    async def send(self, raw: bytes, recipients: Iterable[str]) -> SendResult:
        raw = add_missing_bcc(raw, recipients)
        message_id = message_id_of(raw)
        plan = plan_outgoing(raw)
        if plan.direct:
            await self.client.request("POST", f"{self.mailbox}/sendMail",
                                      content=encode_mime(raw), headers=_MIME, idempotent=False)
            return SendResult.sent(message_id or "", provider=PROVIDER)
        draft = await self.create_draft(plan.mime)
        try:
            for attachment in plan.attachments:
                if attachment.needs_session:
                    await self._upload(draft, attachment)
                else:
                    await self._attach(draft, attachment)
            await self.client.request("POST", f"{self.mailbox}/messages/{draft}/send",
                                      idempotent=False)
        except CommError:
            await self._discard(draft)
            raise
        return SendResult.sent(message_id or draft, provider=PROVIDER)

    async def create_draft(self, mime: bytes) -> str:
        data = await self.client.json("POST", f"{self.mailbox}/messages",
                                      content=encode_mime(mime), headers=_MIME, idempotent=False)
        draft = data.get("id")
        if not draft:
            raise GraphError("creating the draft: Graph returned no id", status=201,
                             error_code="BAD_RESPONSE")
        return str(draft)

    async def _attach(self, draft: str, a: OutgoingAttachment) -> None:
        body = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": a.name,
            "contentType": a.content_type,
            "contentBytes": base64.b64encode(a.data).decode("ascii"),
            "isInline": a.inline,
        }
        if a.content_id:
            body["contentId"] = a.content_id
        await self.client.request("POST", f"{self.mailbox}/messages/{draft}/attachments",
                                  json=body, idempotent=False)

    async def _upload(self, draft: str, a: OutgoingAttachment) -> None:
        item: dict[str, object] = {
            "attachmentType": "file",
            "name": a.name,
            "size": len(a.data),
            "contentType": a.content_type,
            "isInline": a.inline,
        }
        if a.content_id:
            item["contentId"] = a.content_id
        session = await self.client.json(
            "POST", f"{self.mailbox}/messages/{draft}/attachments/createUploadSession",
            json={"AttachmentItem": item}, idempotent=False)
        upload_url = session.get("uploadUrl")
        if not upload_url:
            raise GraphError("createUploadSession returned no uploadUrl", status=201,
                             error_code="BAD_RESPONSE")
        total = len(a.data)
        for start, end in byte_ranges(total, self.chunk_size):
            await self.client.request(
                "PUT", str(upload_url), content=a.data[start:end + 1],
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"bytes {start}-{end}/{total}"},
                authorized=False)

    async def _discard(self, draft: str) -> None:
        try:
            await self.client.request("DELETE", f"{self.mailbox}/messages/{draft}")
        except CommError as exc:
            _log.warning("could not delete the unsent draft %s: %s", draft, exc)
