"""Message changes, sending, drafts, attachments and upload sessions of the Graph fake."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses
from typing import Any

from .model import FakeAttachment, FakeMessage, SentMail, UploadSession, build_mime
from .wire import CHUNK_UNIT, MAX_REQUEST, HttpError, Reply, _iso, _json


class ChangesMixin:
    """:class:`~.server.FakeGraph` methods: PATCH, DELETE, move, sendMail, drafts, uploads."""

    # -- changes -----------------------------------------------------------------------
    def _body_json(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise HttpError(400, "BadRequest", "body is not JSON") from exc
        if not isinstance(data, dict):
            raise HttpError(400, "BadRequest", "body is not a JSON object")
        return data

    def _patch_message(self, mid: str, **kw: Any) -> Reply:
        msg = self._message(mid)
        data = self._body_json(kw["body"])
        if "isRead" in data:
            msg.is_read = bool(data["isRead"])
        if isinstance(data.get("flag"), dict) and "flagStatus" in data["flag"]:
            if data["flag"]["flagStatus"] not in ("flagged", "notFlagged", "complete"):
                raise HttpError(400, "ErrorInvalidArgument", "bad flagStatus")
            msg.flag_status = data["flag"]["flagStatus"]
        if "importance" in data:
            msg.importance = str(data["importance"])
        msg.seq = self._bump()
        return _json(self.message_json(msg))

    def _delete_message(self, mid: str, **kw: Any) -> Reply:
        self._message(mid)
        self.delete_message(mid)
        return Reply(204)

    def _move(self, mid: str, **kw: Any) -> Reply:
        msg = self._message(mid)
        dest = self.folder(str(self._body_json(kw["body"]).get("destinationId", "")))
        self.delete_message(mid)
        moved = FakeMessage(id=self._next_id("AAMkMsg"), folder_id=dest.id, mime=msg.mime,
                            is_read=msg.is_read, flag_status=msg.flag_status,
                            is_draft=msg.is_draft, received=msg.received, seq=self._bump(),
                            attachments=msg.attachments, importance=msg.importance)
        self.messages[moved.id] = moved
        return _json(self.message_json(moved), 201)

    # -- sending -----------------------------------------------------------------------
    def _mime_body(self, headers: dict[str, str], body: bytes) -> bytes:
        if not headers.get("content-type", "").lower().startswith("text/plain"):
            raise HttpError(400, "ErrorInvalidRequest", "MIME content must be sent as text/plain")
        try:
            mime = base64.b64decode(body, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise HttpError(400, "ErrorMimeContentInvalidBase64String",
                            "Invalid base64 string for MIME content.") from exc
        if b":" not in mime.split(b"\n", 1)[0]:
            raise HttpError(400, "ErrorMimeContentInvalid", "not a MIME message")
        return mime

    @staticmethod
    def _recipients(mime: bytes) -> list[str]:
        parsed = message_from_bytes(mime, policy=default_policy)
        values = [str(v) for h in ("to", "cc", "bcc") for v in parsed.get_all(h, [])]
        return [a for _, a in getaddresses(values) if a]

    def _send_mail(self, **kw: Any) -> Reply:
        mime = self._mime_body(kw["headers"], kw["body"])
        recipients = self._recipients(mime)
        if not recipients:
            raise HttpError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
        self.sent.append(SentMail(mime, recipients, "sendMail"))
        self.add_message("sentitems", mime, is_read=True)
        return Reply(202)

    def _create_draft(self, **kw: Any) -> Reply:
        if kw["headers"].get("content-type", "").lower().startswith("application/json"):
            data = self._body_json(kw["body"])
            to = ", ".join(r["emailAddress"]["address"] for r in data.get("toRecipients", []))
            mime = build_mime(subject=str(data.get("subject", "")), to=to,
                              sender=self.address,
                              body=str((data.get("body") or {}).get("content", "")))
        else:
            mime = self._mime_body(kw["headers"], kw["body"])
        mid = self.add_message("drafts", mime, is_read=True, is_draft=True)
        return _json(self.message_json(self.messages[mid]), 201)

    def _draft(self, mid: str) -> FakeMessage:
        msg = self._message(mid)
        if not msg.is_draft:
            raise HttpError(400, "ErrorInvalidOperation", "the message is not a draft")
        return msg

    def _add_attachment(self, mid: str, **kw: Any) -> Reply:
        msg = self._draft(mid)
        data = self._body_json(kw["body"])
        if data.get("@odata.type") != "#microsoft.graph.fileAttachment":
            raise HttpError(400, "ErrorInvalidRequest", "only fileAttachment is supported")
        content = base64.b64decode(str(data.get("contentBytes", "")))
        if len(content) > 3 * 1024 * 1024:
            raise HttpError(413, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                            "attachments over 3 MB need an upload session")
        att = FakeAttachment(self._next_id("AAMkAtt"), str(data.get("name", "file")),
                             str(data.get("contentType", "application/octet-stream")), content,
                             bool(data.get("isInline")), data.get("contentId"))
        msg.attachments.append(att)
        msg.seq = self._bump()
        return _json({"id": att.id, "name": att.name, "size": len(content)}, 201)

    def _create_upload(self, mid: str, **kw: Any) -> Reply:
        self._draft(mid)
        item = self._body_json(kw["body"]).get("AttachmentItem")
        if not isinstance(item, dict) or item.get("attachmentType") != "file":
            raise HttpError(400, "ErrorInvalidRequest", "AttachmentItem with attachmentType "
                            "'file' is required")
        size = int(item.get("size", -1))
        if not 0 < size <= 150 * 1024 * 1024 or not item.get("name"):
            raise HttpError(400, "ErrorInvalidRequest", "name and a size up to 150 MB needed")
        session = UploadSession(uuid.uuid4().hex, mid, str(item["name"]), size,
                                str(item.get("contentType") or "application/octet-stream"),
                                bool(item.get("isInline")), item.get("contentId"))
        self.uploads[session.id] = session
        return _json({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph."
                              "uploadSession",
            "uploadUrl": f"{self.url}/upload/{session.id}?authtoken={uuid.uuid4().hex}",
            "expirationDateTime": _iso(datetime.now(UTC)),
            "nextExpectedRanges": ["0-"],
        }, 201)

    def _reject_chunk(self, why: str) -> HttpError:
        self.rejected_chunks.append(why)
        return HttpError(400, "InvalidContentRange", why)

    def _upload_put(self, method: str, path: str, headers: dict[str, str], body: bytes
                    ) -> Reply:
        session = self.uploads.get(path.rsplit("/", 1)[-1])
        if method != "PUT" or session is None:
            raise HttpError(404, "ItemNotFound", "no such upload session")
        if "authorization" in headers:
            raise HttpError(401, "InvalidAuthenticationToken",  # pre-authenticated URL only
                            "do not send an Authorization header to the upload URL")
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if not m:
            raise self._reject_chunk(f"bad Content-Range {headers.get('content-range')!r}")
        start, end, total = (int(g) for g in m.groups())
        if total != session.size:
            raise self._reject_chunk(f"total {total} != announced size {session.size}")
        if start != len(session.data):
            raise self._reject_chunk(f"expected range {len(session.data)}-, got {start}")
        if end < start or end >= total or len(body) != end - start + 1:
            raise self._reject_chunk(f"range {start}-{end} does not match {len(body)} bytes")
        if int(headers.get("content-length", "-1")) != len(body):
            raise self._reject_chunk("Content-Length does not match the body")
        if len(body) >= MAX_REQUEST:
            raise self._reject_chunk("chunk of 4 MiB or more")
        if end + 1 < total and len(body) % CHUNK_UNIT:
            raise self._reject_chunk(f"chunk of {len(body)} bytes is not a multiple of 320 KiB")
        session.data += body
        self.upload_log.append((start, end, total))
        if len(session.data) < total:
            return _json({"expirationDateTime": _iso(datetime.now(UTC)),
                          "nextExpectedRanges": [f"{len(session.data)}-"]})
        msg = self._draft(session.message_id)
        att = FakeAttachment(self._next_id("AAMkAtt"), session.name, session.content_type,
                             bytes(session.data), session.inline, session.content_id)
        msg.attachments.append(att)
        msg.seq = self._bump()
        del self.uploads[session.id]
        return Reply(201, b"", "application/json", {
            "Location": f"{self.graph_url}/me/messages/{msg.id}/attachments/{att.id}"})

    def _send_draft(self, mid: str, **kw: Any) -> Reply:
        msg = self._draft(mid)
        final = message_from_bytes(msg.mime, policy=default_policy)
        assert isinstance(final, EmailMessage)
        for att in msg.attachments:
            if final.get_content_maintype() != "multipart":
                final.make_mixed()
            main, _, sub = att.content_type.partition("/")
            final.add_attachment(att.data, maintype=main or "application",
                                 subtype=sub or "octet-stream", filename=att.name)
        mime = final.as_bytes(policy=default_policy.clone(linesep="\r\n"))
        recipients = self._recipients(mime)
        if not recipients:
            raise HttpError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
        self.sent.append(SentMail(mime, recipients, "draft", list(msg.attachments)))
        self.delete_message(mid)
        self.add_message("sentitems", mime, is_read=True)
        return Reply(202)
