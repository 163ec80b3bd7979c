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

import itertools
import threading
import uuid
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .changes import ChangesMixin
from .mailbox import MailboxMixin
from .model import (
    WELL_KNOWN,
    FakeFolder,
    FakeMessage,
    Fault,
    RecordedRequest,
    SentMail,
    UploadSession,
    build_mime,
)
from .signin import SignInMixin
from .wire import HttpError, Reply, RewritingSession, _handler, _iso, _json


class FakeGraph(SignInMixin, MailboxMixin, ChangesMixin):
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
