"""A local Microsoft Graph mail + Microsoft identity platform fake (stdlib HTTP server).

Speaks the documented wire formats the Graph mail service and msal use, on 127.0.0.1:

Sign-in (``https://login.microsoftonline.com`` → :meth:`FakeGraph.session` rewrites it here)
    ``GET /{tenant}/v2.0/.well-known/openid-configuration``, ``GET /common/discovery/instance``,
    ``POST /{tenant}/oauth2/v2.0/devicecode``, ``POST /{tenant}/oauth2/v2.0/token`` with the
    device_code grant (``authorization_pending`` ``device_pending`` times, then tokens),
    refresh_token (rotating: the old refresh token stops working) and client_credentials.
    Access tokens live ``token_lifetime`` seconds (msal refreshes below 5 minutes).

Graph (``{url}/v1.0``; ``/me/...`` for user tokens, ``/users/{address}/...`` for both)
    mailFolders (+ ``childFolders``, well-known names as ids; like v1.0 no ``wellKnownName``
    unless ``expose_well_known_name``), ``messages`` lists with ``$filter`` / ``$search``
    subsets (``$search`` insists on ``ConsistencyLevel: eventual``), ``$select``, ``$top``,
    ``$expand=attachments``, OData paging (``@odata.nextLink``, page size
    ``min(Prefer: odata.maxpagesize, max_page_size)``); ``messages/delta`` with
    ``@odata.deltaLink`` (``expire_delta_links()`` → 410 ``SyncStateNotFound``),
    ``@removed`` for deleted / moved-away messages; ``$value`` (MIME); ``sendMail`` (MIME
    as base64 text/plain, 202, copy in Sent Items); drafts from MIME, ``attachments``,
    ``createUploadSession`` + chunked ``PUT`` (Content-Range checked: contiguous, chunks
    multiples of 320 KiB except the last, under 4 MiB, no Authorization header),
    ``send``; ``PATCH`` (isRead, flag), ``move``, ``DELETE``.

Fault injection: :meth:`FakeGraph.inject` makes the next N matching Graph requests fail
(429 + Retry-After, 503, 403 ``ErrorQuotaExceeded`` ...).  Every Graph request is logged
in ``requests`` (method, path, query, headers).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import requests

__all__ = ["LOGIN_HOST", "FakeGraph", "RewritingSession", "SentMail", "build_mime"]

LOGIN_HOST = "https://login.microsoftonline.com"
CHUNK_UNIT = 320 * 1024
MAX_REQUEST = 4 * 1024 * 1024
WELL_KNOWN = (
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
)
RESERVED_SCOPES = {"openid", "profile", "offline_access"}


class RewritingSession(requests.Session):
    """A requests.Session for msal: ``https://login.microsoftonline.com`` → the fake."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.trust_env = False  # no proxies from the environment
        self.urls: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(LOGIN_HOST):
            url = self.target + url[len(LOGIN_HOST):]
        self.urls.append(str(url))
        return super().request(method, url, *args, **kwargs)


def build_mime(
    *,
    subject: str = "Hello",
    sender: str = "Alice <alice@example.com>",
    to: str = "user@contoso.com",
    cc: str = "",
    body: str = "Hello there",
    date: datetime | None = None,
    attachments: Iterable[tuple[str, bytes]] = (),
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="example.com")
    for k, v in (extra_headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes(policy=default_policy.clone(linesep="\r\n"))


# --------------------------------------------------------------------------- model


@dataclass
class FakeFolder:
    id: str
    name: str
    parent_id: str
    well_known: str | None = None


@dataclass
class FakeAttachment:
    id: str
    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass
class FakeMessage:
    id: str
    folder_id: str
    mime: bytes
    is_read: bool = False
    flag_status: str = "notFlagged"
    is_draft: bool = False
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    importance: str | None = None


@dataclass
class SentMail:
    mime: bytes
    recipients: list[str]
    via: str  # "sendMail" or "draft"
    attachments: list[FakeAttachment] = field(default_factory=list)


@dataclass
class Fault:
    status: int
    count: int
    code: str
    retry_after: str | None
    method: str | None
    path: str | None


@dataclass
class UploadSession:
    id: str
    message_id: str
    name: str
    size: int
    content_type: str
    inline: bool
    content_id: str | None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str = "",
                 headers: dict[str, str] | None = None, oauth: bool = False) -> None:
        super().__init__(message or code)
        self.status, self.code, self.message = status, code, message or code
        self.headers = headers or {}
        self.oauth = oauth


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json", headers or {})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the fake


class FakeGraph:
    def __init__(
        self,
        *,
        address: str = "user@contoso.com",
        display_name: str = "Test User",
        tenant_id: str = "11111111-2222-3333-4444-555555555555",
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
    ) -> None:
        self.address = address
        self.display_name = display_name
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.oid = str(uuid.UUID(int=0xA11CE))
        self.token_lifetime = 3600
        self.device_pending = 2
        self.device_interval = 0
        self.max_page_size = 1000
        self.expose_well_known_name = False
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[dict[str, str]] = []
        self.sent: list[SentMail] = []
        self.upload_log: list[tuple[int, int, int]] = []  # (start, end, total) accepted
        self.rejected_chunks: list[str] = []
        self.refresh_tokens: set[str] = set()
        self.issued_refresh_tokens: list[str] = []
        self.access_tokens: dict[str, str] = {}  # token -> "user" | "app"
        self.device_codes: dict[str, int] = {}
        self.folders: dict[str, FakeFolder] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.tombstones: list[tuple[int, str, str]] = []  # (seq, folder id, message id)
        self.faults: list[Fault] = []
        self.uploads: dict[str, UploadSession] = {}
        self._delta_epoch = 1
        self._snapshots: dict[str, tuple[list[dict[str, Any]], str]] = {}
        self._seq = 0
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        for known, name in WELL_KNOWN:
            self._new_folder(name, "root", known)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def graph_url(self) -> str:
        return self.url + "/v1.0"

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def session(self) -> RewritingSession:
        return RewritingSession(self.url)

    # -- test helpers ------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}-{uuid.uuid4().hex[:8]}="

    def _bump(self) -> int:
        self._seq += 1
        return self._seq

    def _new_folder(self, name: str, parent_id: str, known: str | None = None) -> FakeFolder:
        folder = FakeFolder(self._next_id("AQMkFld"), name, parent_id, known)
        self.folders[folder.id] = folder
        return folder

    def folder(self, ref: str) -> FakeFolder:
        """A folder by id, well-known name or display name (case-insensitive)."""
        with self._lock:
            if ref in self.folders:
                return self.folders[ref]
            low = ref.lower()
            for f in self.folders.values():
                if f.well_known == low or f.name.lower() == low:
                    return f
        raise HttpError(404, "ErrorItemNotFound", f"folder {ref} not found")

    def user_token(self) -> str:
        """A valid delegated access token without going through sign-in."""
        with self._lock:
            token = "user-" + uuid.uuid4().hex
            self.access_tokens[token] = "user"
            return token

    def add_folder(self, name: str, parent: str = "root") -> str:
        with self._lock:
            parent_id = "root" if parent == "root" else self.folder(parent).id
            return self._new_folder(name, parent_id).id

    def add_message(self, folder: str = "inbox", mime: bytes | None = None, *,
                    is_read: bool = False, flagged: bool = False, is_draft: bool = False,
                    received: datetime | None = None, **mime_kwargs: Any) -> str:
        with self._lock:
            msg = FakeMessage(
                id=self._next_id("AAMkMsg"),
                folder_id=self.folder(folder).id,
                mime=mime if mime is not None else build_mime(**mime_kwargs),
                is_read=is_read,
                flag_status="flagged" if flagged else "notFlagged",
                is_draft=is_draft,
                received=received or datetime.now(UTC),
                seq=self._bump(),
            )
            self.messages[msg.id] = msg
            return msg.id

    def delete_message(self, message_id: str) -> None:
        with self._lock:
            msg = self.messages.pop(message_id)
            self.tombstones.append((self._bump(), msg.folder_id, message_id))

    def update_message(self, message_id: str, *, is_read: bool | None = None,
                       flagged: bool | None = None) -> None:
        with self._lock:
            msg = self.messages[message_id]
            if is_read is not None:
                msg.is_read = is_read
            if flagged is not None:
                msg.flag_status = "flagged" if flagged else "notFlagged"
            msg.seq = self._bump()

    def messages_in(self, folder: str) -> list[FakeMessage]:
        with self._lock:
            fid = self.folder(folder).id
            return [m for m in self.messages.values() if m.folder_id == fid]

    def expire_delta_links(self) -> None:
        """Every delta link handed out so far now gets 410 Gone (syncStateNotFound)."""
        with self._lock:
            self._delta_epoch += 1

    def inject(self, status: int, *, count: int = 1, code: str | None = None,
               retry_after: float | None = None, method: str | None = None,
               path: str | None = None) -> None:
        """The next ``count`` Graph requests (matching ``method`` / path substring) fail."""
        default = {429: "TooManyRequests", 503: "ServiceUnavailable",
                   403: "ErrorQuotaExceeded"}.get(status, "ErrorInternalServerError")
        with self._lock:
            self.faults.append(Fault(status, count, code or default,
                                     None if retry_after is None else str(retry_after),
                                     method, path))

    def graph_requests(self, method: str | None = None, contains: str = "") -> list[
            RecordedRequest]:
        return [r for r in self.requests
                if (method is None or r.method == method) and contains in r.path]

    # -- dispatch ----------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            with self._lock:
                if path.startswith("/v1.0/"):
                    self.requests.append(RecordedRequest(method, path, query, headers))
                    return self._graph(method, path[len("/v1.0"):], query, headers, body)
                if path.startswith("/upload/"):
                    return self._upload_put(method, path, headers, body)
                return self._login(method, path, query, headers, body)
        except HttpError as exc:
            if exc.oauth:
                return _json({"error": exc.code, "error_description": exc.message,
                              "error_codes": [0], "timestamp": _iso(datetime.now(UTC))},
                             exc.status, exc.headers)
            return _json({"error": {"code": exc.code, "message": exc.message,
                                    "innerError": {"request-id": str(uuid.uuid4())}}},
                         exc.status, exc.headers)

    # -- sign-in -----------------------------------------------------------------------
    def _login(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        m = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        if m and method == "GET":
            base = f"{LOGIN_HOST}/{m.group(1)}"
            return _json({
                "issuer": f"{LOGIN_HOST}/{self.tenant_id}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                          "client_secret_basic"],
                "tenant_region_scope": "EU",
            })
        if path == "/common/discovery/instance" and method == "GET":
            auth = query.get("authorization_endpoint", f"{LOGIN_HOST}/common/oauth2/v2.0/authorize")
            tenant_base = auth.rsplit("/oauth2/", 1)[0]
            return _json({
                "tenant_discovery_endpoint": f"{tenant_base}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": "login.microsoftonline.com",
                              "preferred_cache": "login.windows.net",
                              "aliases": ["login.microsoftonline.com", "login.windows.net"]}],
            })
        form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if re.fullmatch(r"/[^/]+/oauth2/v2\.0/devicecode", path) and method == "POST":
            if form.get("client_id") != self.client_id:
                raise HttpError(400, "unauthorized_client",
                                "AADSTS700016: Application not found in the directory.",
                                oauth=True)
            code = "dc-" + uuid.uuid4().hex
            self.device_codes[code] = self.device_pending
            user_code = "FAKE-" + uuid.uuid4().hex[:4].upper()
            return _json({
                "user_code": user_code,
                "device_code": code,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": self.device_interval,
                "message": "To sign in, use a web browser to open the page "
                           f"https://microsoft.com/devicelogin and enter the code {user_code} "
                           "to authenticate.",
            })
        if re.fullmatch(r"/[^/]+/oauth2/v2\.0/token", path) and method == "POST":
            self.token_requests.append(form)
            return self._token(form)
        raise HttpError(404, "not_found", f"no sign-in endpoint {method} {path}", oauth=True)

    def _token(self, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if grant == "client_credentials":
            if form.get("client_id") != self.client_id or form.get(
                    "client_secret") != self.client_secret:
                raise HttpError(401, "invalid_client",
                                "AADSTS7000215: Invalid client secret provided.", oauth=True)
            token = "app-" + uuid.uuid4().hex
            self.access_tokens[token] = "app"
            return _json({"token_type": "Bearer", "expires_in": self.token_lifetime,
                          "ext_expires_in": self.token_lifetime, "access_token": token})
        if form.get("client_id") != self.client_id:
            raise HttpError(400, "unauthorized_client", "AADSTS700016: unknown client_id",
                            oauth=True)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            code = form.get("device_code", "")
            if code not in self.device_codes:
                raise HttpError(400, "expired_token", "AADSTS70019: device code expired.",
                                oauth=True)
            if self.device_codes[code] > 0:
                self.device_codes[code] -= 1
                raise HttpError(400, "authorization_pending",
                                "AADSTS70016: OAuth 2.0 device flow error. Authorization is "
                                "pending. Continue polling.", oauth=True)
            del self.device_codes[code]
            return self._user_tokens(scope)
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt not in self.refresh_tokens:
                raise HttpError(400, "invalid_grant",
                                "AADSTS70000: The provided refresh token is invalid or was "
                                "already used.", oauth=True)
            self.refresh_tokens.discard(rt)  # rotation: one use only
            return self._user_tokens(scope)
        raise HttpError(400, "unsupported_grant_type", f"grant {grant!r}", oauth=True)

    def _user_tokens(self, scope: str) -> Reply:
        now = int(time.time())
        access = "user-" + uuid.uuid4().hex
        refresh = "rt-" + uuid.uuid4().hex
        self.access_tokens[access] = "user"
        self.refresh_tokens.add(refresh)
        self.issued_refresh_tokens.append(refresh)
        claims = {
            "aud": self.client_id, "iss": f"{LOGIN_HOST}/{self.tenant_id}/v2.0", "iat": now,
            "nbf": now, "exp": now + 3600, "name": self.display_name, "oid": self.oid,
            "preferred_username": self.address, "sub": "sub-" + self.oid, "tid": self.tenant_id,
            "ver": "2.0",
        }
        id_token = ".".join([_b64url(b'{"alg":"none","typ":"JWT"}'),
                             _b64url(json.dumps(claims).encode()), ""])
        granted = " ".join(s for s in scope.split() if s not in RESERVED_SCOPES)
        return _json({
            "token_type": "Bearer", "scope": granted, "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime, "access_token": access,
            "refresh_token": refresh, "id_token": id_token,
            "client_info": _b64url(json.dumps({"uid": self.oid,
                                               "utid": self.tenant_id}).encode()),
        })

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


# --------------------------------------------------------------------------- helpers


def _select(item: dict[str, Any], select: str | None, keep: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    if not select:
        return item
    wanted = {s.strip() for s in select.split(",")} | {"id", "@odata.etag", *keep}
    return {k: v for k, v in item.items() if k in wanted}


def _unquote_search(value: str) -> str:
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
        return re.sub(r'\\(["\\])', r"\1", text)
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _phrase_match(needle: list[str], hay: list[str], prefix_last: bool = True) -> bool:
    """Every needle token in sequence; tokens match as prefixes (Graph's word search)."""
    if not needle:
        return False
    for i in range(len(hay) - len(needle) + 1):
        if all(hay[i + j].startswith(n) for j, n in enumerate(needle)):
            return True
    return False


Pred = Callable[[dict[str, Any]], bool]


class ODataFilter:
    """``$filter`` subset: comparisons (eq ne gt ge lt le) on paths like ``flag/flagStatus``,
    literals (strings, true/false, numbers, datetimes), ``and``/``or``/``not``, parentheses."""

    TOKEN = re.compile(r"\s*(?:(\()|(\))|('(?:[^']|'')*')|([A-Za-z_][\w/]*)|"
                       r"(\d{4}-\d\d-\d\dT[\d:.]+Z?)|(-?\d+(?:\.\d+)?))")

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise HttpError(400, "BadRequest", f"Invalid filter clause at {pos}: {text!r}")
            pos = m.end()
            lp, rp, string, ident, stamp, number = m.groups()
            if lp or rp:
                self.tokens.append(("p", lp or rp))
            elif string is not None:
                self.tokens.append(("v", string[1:-1].replace("''", "'")))
            elif stamp:
                self.tokens.append(("v", datetime.fromisoformat(stamp.replace("Z", "+00:00"))))
            elif number:
                self.tokens.append(("v", float(number)))
            elif ident in ("true", "false"):
                self.tokens.append(("v", ident == "true"))
            else:
                self.tokens.append(("i", ident))
        self.i = 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> tuple[str, Any]:
        tok = self._peek()
        if tok is None:
            raise HttpError(400, "BadRequest", "Invalid filter clause: unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Pred:
        pred = self._or()
        if self._peek() is not None:
            raise HttpError(400, "BadRequest", f"Invalid filter clause near {self._peek()}")
        return pred

    def _or(self) -> Pred:
        parts = [self._and()]
        while self._peek() == ("i", "or"):
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda m: any(p(m) for p in parts))

    def _and(self) -> Pred:
        parts = [self._unary()]
        while self._peek() == ("i", "and"):
            self.i += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda m: all(p(m) for p in parts))

    def _unary(self) -> Pred:
        tok = self._take()
        if tok == ("i", "not"):
            inner = self._unary()
            return lambda m: not inner(m)
        if tok == ("p", "("):
            inner = self._or()
            if self._take() != ("p", ")"):
                raise HttpError(400, "BadRequest", "Invalid filter clause: missing )")
            return inner
        if tok[0] != "i":
            raise HttpError(400, "BadRequest", f"Invalid filter clause at {tok}")
        path = tok[1]
        op = self._take()
        value = self._take()
        if op[0] != "i" or op[1] not in ("eq", "ne", "gt", "ge", "lt", "le") or value[0] != "v":
            raise HttpError(400, "BadRequest", f"Invalid filter clause near {path}")
        return _compare(path, op[1], value[1])


def _lookup(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _compare(path: str, op: str, want: Any) -> Pred:
    def pred(item: dict[str, Any]) -> bool:
        have = _lookup(item, path)
        if isinstance(have, str) and isinstance(want, str):
            a, b = have.casefold(), want.casefold()
        else:
            a, b = have, want
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if a is None:
            return False
        return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op])

    return pred


class KqlSearch:
    """``$search`` subset: words (prefix match), ``"phrases"``, ``prop:value`` for from,
    to/recipients, cc, bcc, subject, body, attachment, participants, hasattachment,
    importance; ``size>N``/``size<N``; AND (or juxtaposition), OR, NOT, parentheses."""

    TOKEN = re.compile(r'\s*(?:(\()|(\))|([A-Za-z]+)(:|>=|<=|>|<)("(?:[^"])*"|[^\s()]+)|'
                       r'("(?:[^"])*")|([^\s()"]+))')

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise HttpError(400, "BadRequest", f"Syntax error in $search at {pos}: {text!r}")
            pos = m.end()
            lp, rp, prop, op, pval, phrase, word = m.groups()
            if lp or rp:
                self.tokens.append(("p", lp or rp))
            elif prop:
                self.tokens.append(("t", (prop.lower(), op, pval.strip('"'))))
            elif phrase:
                self.tokens.append(("t", ("", ":", phrase.strip('"'))))
            elif word in ("AND", "OR", "NOT"):
                self.tokens.append(("o", word))
            else:
                self.tokens.append(("t", ("", ":", word)))
        self.i = 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Pred:
        pred = self._or()
        if self._peek() is not None:
            raise HttpError(400, "BadRequest", f"Syntax error in $search near {self._peek()}")
        return pred

    def _or(self) -> Pred:
        parts = [self._and()]
        while self._peek() == ("o", "OR"):
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda m: any(p(m) for p in parts))

    def _and(self) -> Pred:
        parts = [self._unary()]
        while True:
            tok = self._peek()
            if tok == ("o", "AND"):
                self.i += 1
            elif tok is None or tok in (("o", "OR"), ("p", ")")):
                break
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda m: all(p(m) for p in parts))

    def _unary(self) -> Pred:
        tok = self._peek()
        if tok is None:
            raise HttpError(400, "BadRequest", "Syntax error in $search: unexpected end")
        self.i += 1
        if tok == ("o", "NOT"):
            inner = self._unary()
            return lambda m: not inner(m)
        if tok == ("p", "("):
            inner = self._or()
            if self._peek() != ("p", ")"):
                raise HttpError(400, "BadRequest", "Syntax error in $search: missing )")
            self.i += 1
            return inner
        if tok[0] != "t":
            raise HttpError(400, "BadRequest", f"Syntax error in $search near {tok}")
        return _kql_term(*tok[1])


def _party(item: dict[str, Any], *keys: str) -> str:
    out: list[str] = []
    for key in keys:
        values = item.get(key)
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                e = v.get("emailAddress") or {}
                out += [str(e.get("name") or ""), str(e.get("address") or "")]
    return " ".join(out)


def _kql_term(prop: str, op: str, value: str) -> Pred:
    def text(item: dict[str, Any]) -> str:
        body = (item.get("body") or {}).get("content", "")
        atts = " ".join(str(a.get("name", "")) for a in item.get("attachments") or [])
        fields = {
            "": " ".join([item.get("subject") or "", body, _party(item, "from", "toRecipients",
                                                                 "ccRecipients",
                                                                 "bccRecipients"), atts]),
            "from": _party(item, "from"),
            "to": _party(item, "toRecipients"),
            "recipients": _party(item, "toRecipients", "ccRecipients", "bccRecipients"),
            "cc": _party(item, "ccRecipients"),
            "bcc": _party(item, "bccRecipients"),
            "participants": _party(item, "from", "toRecipients", "ccRecipients",
                                   "bccRecipients"),
            "subject": item.get("subject") or "",
            "body": body,
            "attachment": atts,
        }
        if prop not in fields:
            raise HttpError(400, "BadRequest", f"unsupported $search property {prop!r}")
        return str(fields[prop])

    if prop == "hasattachment":
        return lambda m: bool(m.get("hasAttachments")) == (value.lower() == "true")
    if prop == "importance":
        return lambda m: str(m.get("importance", "")).lower() == value.lower()
    if prop == "size":
        limit = int(value)
        cmp = {">": lambda s: s > limit, "<": lambda s: s < limit,
               ">=": lambda s: s >= limit, "<=": lambda s: s <= limit}[op]
        return lambda m: cmp(len(json.dumps(m)))
    needle = _words(value.rstrip("*"))
    return lambda m: _phrase_match(needle, _words(text(m)))


# --------------------------------------------------------------------------- HTTP glue


def _handler(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = fake.handle(self.command, self.path, headers, body)
            self.send_response(reply.status)
            if reply.body or reply.status not in (202, 204):
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler
