"""Graph routing, mail folders, message JSON / lists and delta sync of the Graph fake."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

from .model import FakeFolder, FakeMessage
from .query import KqlSearch, ODataFilter, _select, _unquote_search
from .wire import MAX_REQUEST, HttpError, Reply, _iso, _json


class MailboxMixin:
    """:class:`~.server.FakeGraph` methods: auth + fault checks, routes, folders, messages."""

    # -- graph: routing ------------------------------------------------------------------
    def _graph(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        auth = headers.get("authorization", "")
        kind = self.access_tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if kind is None:
            raise HttpError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        for fault in self.faults:
            if (fault.method in (None, method)) and (fault.path is None or fault.path in path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                raise HttpError(fault.status, fault.code, "injected fault", extra)
        if len(body) > MAX_REQUEST:
            raise HttpError(413, "RequestEntityTooLarge", "request body over 4 MB")
        m = re.fullmatch(r"/(me|users/([^/]+))(/.*)?", path)
        if not m:
            raise HttpError(400, "BadRequest", f"unsupported resource {path}")
        if m.group(1) == "me" and kind != "user":
            raise HttpError(400, "BadRequest",
                            "/me request is only valid with delegated authentication flow.")
        if m.group(2) is not None and m.group(2).lower() != self.address.lower():
            raise HttpError(404, "ErrorInvalidUser", f"user {m.group(2)} not found")
        rest = m.group(3) or ""
        return self._mail(method, rest, query, headers, body, "/" + m.group(1))

    def _mail(self, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
              body: bytes, mailbox: str) -> Reply:
        base = self.graph_url + mailbox
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", r"/mailFolders", self._list_folders),
            ("GET", r"/mailFolders/([^/]+)/childFolders", self._list_folders),
            ("GET", r"/mailFolders/([^/]+)", self._get_folder),
            ("GET", r"/mailFolders/([^/]+)/messages/delta", self._delta),
            ("GET", r"/mailFolders/([^/]+)/messages", self._list_messages),
            ("GET", r"/messages", self._list_messages),
            ("GET", r"/messages/([^/]+)/\$value", self._get_value),
            ("GET", r"/messages/([^/]+)", self._get_message),
            ("PATCH", r"/messages/([^/]+)", self._patch_message),
            ("DELETE", r"/messages/([^/]+)", self._delete_message),
            ("POST", r"/messages/([^/]+)/move", self._move),
            ("POST", r"/messages/([^/]+)/send", self._send_draft),
            ("POST", r"/messages/([^/]+)/attachments/createUploadSession", self._create_upload),
            ("POST", r"/messages/([^/]+)/attachments", self._add_attachment),
            ("POST", r"/messages", self._create_draft),
            ("POST", r"/sendMail", self._send_mail),
        ]
        for verb, pattern, handler in routes:
            m = re.fullmatch(pattern, rest)
            if m and verb == method:
                return handler(*m.groups(), query=query, headers=headers, body=body, base=base)
        raise HttpError(400, "BadRequest", f"unsupported {method} {rest}")

    # -- folders ---------------------------------------------------------------------
    def _folder_json(self, f: FakeFolder) -> dict[str, Any]:
        msgs = [m for m in self.messages.values() if m.folder_id == f.id]
        data: dict[str, Any] = {
            "id": f.id, "displayName": f.name, "parentFolderId": f.parent_id,
            "childFolderCount": sum(1 for c in self.folders.values() if c.parent_id == f.id),
            "unreadItemCount": sum(1 for m in msgs if not m.is_read),
            "totalItemCount": len(msgs), "isHidden": False,
        }
        if self.expose_well_known_name and f.well_known:
            data["wellKnownName"] = f.well_known
        return data

    def _page(self, items: list[dict[str, Any]], query: dict[str, str],
              headers: dict[str, str], link: str) -> Reply:
        size = self._page_size(query, headers)
        skip = int(query.get("$skip", "0") or 0)
        page: dict[str, Any] = {"value": items[skip:skip + size]}
        if skip + size < len(items):
            q = {k: v for k, v in query.items() if k not in ("$skip",)}
            q["$skip"] = str(skip + size)
            page["@odata.nextLink"] = f"{link}?{urlencode(q, quote_via=quote)}"
        return _json(page)

    def _page_size(self, query: dict[str, str], headers: dict[str, str]) -> int:
        size = int(query.get("$top", "10") or 10)
        m = re.search(r"odata\.maxpagesize=(\d+)", headers.get("prefer", ""))
        if m:
            size = int(m.group(1))
        return max(1, min(size, self.max_page_size))

    def _list_folders(self, parent: str | None = None, **kw: Any) -> Reply:
        pid = "root" if parent is None else self.folder(parent).id
        items = [self._folder_json(f) for f in self.folders.values() if f.parent_id == pid]
        suffix = "/mailFolders" if parent is None else f"/mailFolders/{parent}/childFolders"
        return self._page(items, kw["query"], kw["headers"], kw["base"] + suffix)

    def _get_folder(self, ref: str, **kw: Any) -> Reply:
        return _json(_select(self._folder_json(self.folder(ref)), kw["query"].get("$select")))

    # -- messages: JSON ----------------------------------------------------------------
    def _message(self, mid: str) -> FakeMessage:
        if mid not in self.messages:
            raise HttpError(404, "ErrorItemNotFound",
                            "The specified object was not found in the store.")
        return self.messages[mid]

    def message_json(self, msg: FakeMessage, *, text_body: bool = False,
                     expand: bool = False) -> dict[str, Any]:
        parsed = message_from_bytes(msg.mime, policy=default_policy)

        def addrs(name: str) -> list[dict[str, Any]]:
            values = [str(v) for v in parsed.get_all(name, [])]
            return [{"emailAddress": {"name": n or a, "address": a}}
                    for n, a in getaddresses(values) if a]

        plain = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        text = plain.get_content() if plain is not None else ""
        if html is not None and not text_body:
            body = {"contentType": "html", "content": html.get_content()}
        else:
            body = {"contentType": "text", "content": text or (
                re.sub(r"<[^>]+>", " ", html.get_content()) if html is not None else "")}
        files = [p for p in parsed.iter_attachments() if p.get_filename()]
        sender = (addrs("from") or [None])[0]
        try:
            sent = parsedate_to_datetime(str(parsed["date"])) if parsed["date"] else msg.received
        except (TypeError, ValueError):
            sent = msg.received
        importance = msg.importance or {"1": "high", "5": "low"}.get(
            str(parsed.get("x-priority", "3")).strip()[:1], str(
                parsed.get("importance", "normal")).lower())
        data: dict[str, Any] = {
            "@odata.etag": f'W/"{msg.seq}"',
            "id": msg.id,
            "createdDateTime": _iso(msg.received),
            "lastModifiedDateTime": _iso(msg.received),
            "changeKey": str(msg.seq),
            "receivedDateTime": _iso(msg.received),
            "sentDateTime": _iso(sent),
            "hasAttachments": bool(files or msg.attachments),
            "internetMessageId": str(parsed.get("message-id", "") or ""),
            "subject": str(parsed.get("subject", "") or ""),
            "bodyPreview": " ".join(body["content"].split())[:255],
            "importance": importance if importance in ("low", "normal", "high") else "normal",
            "parentFolderId": msg.folder_id,
            "conversationId": "conv-" + msg.id[:12],
            "isRead": msg.is_read,
            "isDraft": msg.is_draft,
            "body": body,
            "sender": sender,
            "from": sender,
            "toRecipients": addrs("to"),
            "ccRecipients": addrs("cc"),
            "bccRecipients": addrs("bcc"),
            "replyTo": addrs("reply-to"),
            "flag": {"flagStatus": msg.flag_status},
        }
        if expand:
            data["attachments"] = [
                {"@odata.type": "#microsoft.graph.fileAttachment", "id": f"mime-{i}",
                 "name": p.get_filename(), "contentType": p.get_content_type(),
                 "size": len(p.get_payload(decode=True) or b""),
                 "isInline": p.get_content_disposition() == "inline"}
                for i, p in enumerate(files)
            ] + [{"@odata.type": "#microsoft.graph.fileAttachment", "id": a.id, "name": a.name,
                  "contentType": a.content_type, "size": len(a.data), "isInline": a.inline}
                 for a in msg.attachments]
        return data

    def _get_message(self, mid: str, **kw: Any) -> Reply:
        msg = self._message(mid)
        text = "outlook.body-content-type=\"text\"" in kw["headers"].get("prefer", "")
        return _json(_select(self.message_json(msg, text_body=text), kw["query"].get("$select")))

    def _get_value(self, mid: str, **kw: Any) -> Reply:
        return Reply(200, self._message(mid).mime, "text/plain")

    def _list_messages(self, folder: str | None = None, **kw: Any) -> Reply:
        query, headers = kw["query"], kw["headers"]
        flt, search = query.get("$filter"), query.get("$search")
        if flt and search:
            raise HttpError(400, "ErrorInvalidUrlQuery",
                            "$filter and $search cannot be combined on messages")
        if search and headers.get("consistencylevel", "").lower() != "eventual":
            raise HttpError(400, "Request_UnsupportedQuery",  # this fake insists on it
                            "$search needs the header ConsistencyLevel: eventual")
        msgs = list(self.messages.values())
        if folder is not None:
            fid = self.folder(folder).id
            msgs = [m for m in msgs if m.folder_id == fid]
        msgs.sort(key=lambda m: m.received, reverse=True)
        text = "outlook.body-content-type=\"text\"" in headers.get("prefer", "")
        expand = "attachments" in query.get("$expand", "")
        items = [self.message_json(m, text_body=text, expand=expand) for m in msgs]
        if flt:
            pred = ODataFilter(flt).parse()
            items = [i for i in items if pred(i)]
        if search:
            kql = KqlSearch(_unquote_search(search)).parse()
            with_att = [self.message_json(self.messages[i["id"]], expand=True) for i in items]
            items = [i for i, full in zip(items, with_att, strict=True) if kql(full)]
        sel = query.get("$select")
        items = [_select(i, sel, keep=("attachments",) if expand else ()) for i in items]
        suffix = "/messages" if folder is None else f"/mailFolders/{folder}/messages"
        return self._page(items, query, headers, kw["base"] + suffix)

    # -- delta -----------------------------------------------------------------------
    def _delta(self, folder: str, **kw: Any) -> Reply:
        query, headers, base = kw["query"], kw["headers"], kw["base"]
        fid = self.folder(folder).id
        link = f"{base}/mailFolders/{folder}/messages/delta"
        if "$skiptoken" in query:
            key, _, offset_text = query["$skiptoken"].rpartition(".")
            if key not in self._snapshots:
                raise HttpError(410, "SyncStateNotFound", "The sync state was not found.")
            items, next_token = self._snapshots[key]
            offset = int(offset_text)
        else:
            select = query.get("$select", "")
            since = 0
            if "$deltatoken" in query:
                try:
                    state = json.loads(base64.urlsafe_b64decode(query["$deltatoken"]))
                except (ValueError, binascii.Error) as exc:
                    raise HttpError(400, "ErrorInvalidSyncStateData", "bad token") from exc
                if state["epoch"] != self._delta_epoch or state["folder"] != fid:
                    raise HttpError(410, "SyncStateNotFound",
                                    "The sync state generation is no longer valid; resync.")
                since, select = int(state["since"]), str(state["select"])
            changed = sorted((m for m in self.messages.values()
                              if m.folder_id == fid and m.seq > since), key=lambda m: m.seq)
            items = [_select(self.message_json(m), select or None) for m in changed]
            if since:
                present = {m.id for m in changed}
                items += [{"@odata.type": "#microsoft.graph.message", "id": mid,
                           "@removed": {"reason": "deleted"}}
                          for seq, f, mid in self.tombstones
                          if f == fid and seq > since and mid not in present]
            next_token = base64.urlsafe_b64encode(json.dumps(
                {"epoch": self._delta_epoch, "folder": fid, "since": self._seq,
                 "select": select}).encode()).decode()
            key = uuid.uuid4().hex
            self._snapshots[key] = (items, next_token)
            offset = 0
        size = self._page_size({}, headers)
        page: dict[str, Any] = {"value": items[offset:offset + size]}
        if offset + size < len(items):
            page["@odata.nextLink"] = f"{link}?$skiptoken={key}.{offset + size}"
        else:
            page["@odata.deltaLink"] = f"{link}?$deltatoken={quote(next_token)}"
        return _json(page)
