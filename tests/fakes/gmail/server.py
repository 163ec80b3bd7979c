"""A local fake of the Gmail REST API (v1) for tests that use the real googleapiclient.

Start it with the ``gmail_fake`` fixture (or ``GmailFake().start()``); point the client at
``fake.endpoint`` (``http://127.0.0.1:PORT/``) and batches at ``fake.endpoint + "batch"``.
It speaks the documented wire format of ``users.getProfile``, ``users.labels.list``,
``users.messages.list`` (with a ``q`` subset, paging), ``users.messages.get``
(``raw|full|metadata|minimal``), ``users.messages.send``, ``users.messages.modify``,
``users.messages.attachments.get``, ``users.threads.get``, ``users.history.list``, the
``/batch`` endpoint (``multipart/mixed`` of ``application/http`` parts) and an OAuth
``/token`` endpoint (see :mod:`tests.fakes.oauth`).

Test helpers: ``add_message(raw, labels=...)``, ``add_label(name)``, ``set_labels``,
``delete_message``, ``expire_history()``, ``fail_next(n, kind, methods=...)`` (kinds:
``"429"``, ``"rate403"``, ``"quota"``, ``"500"``, ``"500-after"`` = do the work, then answer
500), ``sent`` (raw bytes of every sent message), ``calls`` (method names in order).
Access tokens are checked: use ``fake.access_token`` or refresh through ``/token``.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import FeedParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.gmail.message import _PARSER, SYSTEM_LABELS, FakeMessage, b64url, unb64url
from tests.fakes.gmail.query import compile_q
from tests.fakes.gmail.wire import _FAULTS, ApiError, Fault, Response
from tests.fakes.oauth import FakeTokenEndpoint


class GmailFake:
    """One mailbox (``me``) behind a threaded HTTP server on 127.0.0.1."""

    def __init__(self, address: str = "alice@example.test") -> None:
        self.address = address
        self.messages: dict[str, FakeMessage] = {}
        self.labels: dict[str, dict[str, Any]] = {
            name: {"id": name, "name": name, "type": "system"} for name in SYSTEM_LABELS
        }
        self.attachments: dict[str, bytes] = {}
        self.history: list[dict[str, Any]] = []
        self.history_id = 1000
        self.history_floor = 0
        self.faults: list[Fault] = []
        self.calls: list[str] = []
        self.batches: list[int] = []  # size of each batch request
        self.sent: list[bytes] = []
        self.oauth = FakeTokenEndpoint()
        self.access_token = self.oauth.issue_access_token()
        self.max_page = 500
        self._ids = itertools.count(0x18F0000000000001)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> GmailFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = fake.dispatch(
                    method, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return self.endpoint + "token"

    # -- helpers for tests -------------------------------------------------------------
    def _record(self, kind: str, message: FakeMessage, labels: list[str] | None = None) -> None:
        self.history_id += 1
        entry: dict[str, Any] = {"id": str(self.history_id),
                                 "messages": [{"id": message.id, "threadId": message.thread_id}]}
        body: dict[str, Any] = {"message": {"id": message.id, "threadId": message.thread_id,
                                            "labelIds": sorted(message.labels)}}
        if labels is not None:
            body["labelIds"] = labels
        entry[kind] = [body]
        message.history_id = self.history_id
        self.history.append(entry)

    def _thread_of(self, raw: bytes, own: str) -> str:
        head = _PARSER.parsebytes(raw, headersonly=True)
        refs = " ".join(str(head.get(h, "")) for h in ("References", "In-Reply-To"))
        wanted = set(re.findall(r"<([^>]+)>", refs))
        for m in self.messages.values():
            if m.message_id() in wanted:
                return m.thread_id
        return own

    def add_label(self, name: str) -> str:
        with self._lock:
            for label in self.labels.values():
                if label["name"] == name:
                    return str(label["id"])
            ident = f"Label_{len(self.labels) + 1}"
            self.labels[ident] = {"id": ident, "name": name, "type": "user",
                                  "messageListVisibility": "show",
                                  "labelListVisibility": "labelShow"}
            return ident

    def label_id(self, name: str) -> str:
        for label in self.labels.values():
            if label["name"] == name:
                return str(label["id"])
        return self.add_label(name)

    def add_message(self, raw: bytes, labels: tuple[str, ...] | list[str] = ("INBOX", "UNREAD"),
                    *, internal_date: datetime | None = None) -> str:
        """Deliver ``raw`` with label *names* (system names are their ids); returns the id."""
        with self._lock:
            ident = f"{next(self._ids):x}"
            if internal_date is None:
                head = _PARSER.parsebytes(raw, headersonly=True)
                try:
                    internal_date = email.utils.parsedate_to_datetime(str(head["Date"]))
                except (TypeError, ValueError):
                    internal_date = datetime.now(UTC)
            msg = FakeMessage(
                id=ident, thread_id=self._thread_of(raw, ident), raw=raw,
                labels={self.label_id(n) for n in labels},
                internal_date=int(internal_date.timestamp() * 1000), history_id=0, owner=self,
            )
            self.messages[ident] = msg
            self._record("messagesAdded", msg)
            return ident

    def set_labels(self, ident: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
                   ) -> None:
        """Change labels (by name) as another client would."""
        with self._lock:
            self._modify(ident, [self.label_id(n) for n in add],
                         [self.label_id(n) for n in remove])

    def _modify(self, ident: str, add: list[str], remove: list[str]) -> FakeMessage:
        msg = self.messages.get(ident)
        if msg is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        for label in [*add, *remove]:
            if label not in self.labels:
                raise ApiError(400, "invalidArgument", f"Invalid label: {label}")
        added = sorted(set(add) - msg.labels)
        removed = sorted(set(remove) & msg.labels)
        msg.labels |= set(add)
        msg.labels -= set(remove)
        if added:
            self._record("labelsAdded", msg, added)
        if removed:
            self._record("labelsRemoved", msg, removed)
        return msg

    def delete_message(self, ident: str) -> None:
        with self._lock:
            msg = self.messages.pop(ident)
            self._record("messagesDeleted", msg)

    def expire_history(self) -> None:
        """Every history id before the current one becomes too old: history.list answers
        404 (as Gmail does after about a week, or at random)."""
        with self._lock:
            self.history_floor = self.history_id

    def fail_next(self, n: int, kind: str, *, methods: tuple[str, ...] | None = None,
                  retry_after: str | None = "1") -> None:
        """The next ``n`` API calls (optionally only these method names, e.g.
        ``"messages.get"``) fail with ``kind`` (see the module docstring)."""
        if kind not in _FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self.faults.append(Fault(kind, n, frozenset(methods) if methods else None,
                                     retry_after))

    def by_message_id(self, message_id: str) -> FakeMessage | None:
        bare = message_id.strip("<>")
        return next((m for m in self.messages.values() if m.message_id() == bare), None)

    # -- HTTP dispatch -----------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes
                 ) -> Response:
        url = urllib.parse.urlsplit(target)
        path = url.path
        if path == "/token" and method == "POST":
            status, payload = self.oauth.handle(body)
            return status, {"Content-Type": "application/json"}, payload
        if path == "/batch" and method == "POST":
            return self._batch(headers, body)
        query = urllib.parse.parse_qs(url.query)
        try:
            return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(
                self._api(method, path, query, headers, body)).encode()
        except ApiError as exc:
            out = {"Content-Type": "application/json; charset=UTF-8", **exc.headers}
            return exc.status, out, exc.body()

    def _check_auth(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token not in self.oauth.access_tokens:
            raise ApiError(401, "authError", "Request had invalid authentication credentials.",
                           headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})

    def _fault(self, name: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and (fault.methods is None or name in fault.methods):
                    fault.remaining -= 1
                    return fault
        return None

    @staticmethod
    def _raise(fault: Fault) -> None:
        status, reason, domain, message = _FAULTS[fault.kind]
        extra = {"Retry-After": fault.retry_after} if fault.retry_after and status == 429 else {}
        raise ApiError(status, reason, message, domain=domain, headers=extra)

    _ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
        (m, re.compile("^/gmail/v1/users/(?P<user>[^/]+)" + p + "$"), name)
        for m, p, name in (
            ("GET", "/profile", "getProfile"),
            ("GET", "/labels", "labels.list"),
            ("GET", "/messages", "messages.list"),
            ("POST", "/messages/send", "messages.send"),
            ("GET", "/messages/(?P<id>[^/]+)", "messages.get"),
            ("POST", "/messages/(?P<id>[^/]+)/modify", "messages.modify"),
            ("GET", "/messages/(?P<mid>[^/]+)/attachments/(?P<id>[^/]+)", "attachments.get"),
            ("GET", "/threads/(?P<id>[^/]+)", "threads.get"),
            ("GET", "/history", "history.list"),
        )
    )

    def _route(self, method: str, path: str) -> tuple[str, re.Match[str]]:
        for verb, pattern, name in self._ROUTES:
            match = pattern.match(path)
            if verb == method and match:
                return name, match
        raise ApiError(404, "notFound", f"no such method: {method} {path}")

    def _api(self, method: str, path: str, query: dict[str, list[str]],
             headers: dict[str, str], body: bytes) -> dict[str, Any]:
        name, match = self._route(method, path)
        with self._lock:
            self.calls.append(name)
        self._check_auth(headers)
        if match["user"] not in ("me", self.address):
            raise ApiError(403, "forbidden", "Delegation denied")
        fault = self._fault(name)
        if fault is not None and fault.kind != "500-after":
            self._raise(fault)
        params = {k: v[-1] for k, v in query.items()}
        lists = query
        handler: Callable[..., dict[str, Any]] = getattr(self, "_" + name.replace(".", "_"))
        with self._lock:
            result = handler(match.groupdict(), params, lists, body)
        if fault is not None:
            self._raise(fault)
        return result

    # -- API methods -------------------------------------------------------------------
    def _getProfile(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                    ) -> dict[str, Any]:
        return {"emailAddress": self.address, "messagesTotal": len(self.messages),
                "threadsTotal": len({m.thread_id for m in self.messages.values()}),
                "historyId": str(self.history_id)}

    def _labels_list(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                     ) -> dict[str, Any]:
        return {"labels": [dict(label) for label in self.labels.values()]}

    def _messages_list(self, ids: dict[str, str], p: dict[str, str],
                       lists: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        q = p.get("q", "")
        try:
            pred = compile_q(q)
        except ValueError as exc:
            raise ApiError(400, "invalidArgument", f"Invalid query: {exc}") from exc
        spam_trash = p.get("includeSpamTrash") == "true" or re.search(
            r"\bin:(spam|trash|anywhere)\b", q) is not None
        wanted_labels = set(lists.get("labelIds", []))
        found = [
            m for m in sorted(self.messages.values(), key=lambda m: (-m.internal_date, m.id))
            if (spam_trash or not m.labels & {"SPAM", "TRASH"})
            and wanted_labels <= m.labels and pred(m)
        ]
        start = int(p.get("pageToken") or 0)
        size = min(int(p.get("maxResults") or 100), self.max_page)
        page = found[start : start + size]
        out: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            out["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if start + size < len(found):
            out["nextPageToken"] = str(start + size)
        return out

    def _message(self, ident: str) -> FakeMessage:
        msg = self.messages.get(ident)
        if msg is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        return msg

    def _messages_get(self, ids: dict[str, str], p: dict[str, str],
                      lists: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        fmt = p.get("format", "full")
        if fmt not in ("raw", "full", "metadata", "minimal"):
            raise ApiError(400, "invalidArgument", f"Invalid format {fmt}")
        return self._message(ids["id"]).resource(fmt, lists.get("metadataHeaders"))

    def _messages_send(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                       ) -> dict[str, Any]:
        try:
            raw = unb64url(json.loads(body)["raw"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ApiError(400, "invalidArgument", "'raw' RFC822 payload message string or "
                           "uploading message via /upload/* URL required") from exc
        if b"\n\n" not in raw.replace(b"\r\n", b"\n"):
            raise ApiError(400, "invalidArgument", "Invalid RFC822 message")
        self.sent.append(raw)
        ident = self.add_message(raw, ("SENT",), internal_date=datetime.now(UTC))
        msg = self.messages[ident]
        return {"id": msg.id, "threadId": msg.thread_id, "labelIds": sorted(msg.labels)}

    def _messages_modify(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                         ) -> dict[str, Any]:
        request = json.loads(body or b"{}")
        msg = self._modify(ids["id"], list(request.get("addLabelIds", [])),
                           list(request.get("removeLabelIds", [])))
        return msg.resource("minimal")

    def _attachments_get(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                         ) -> dict[str, Any]:
        msg = self._message(ids["mid"])
        msg.resource("full")  # (re)computes this message's attachment ids
        data = self.attachments.get(ids["id"])
        if data is None or not ids["id"].startswith(f"ATT_{msg.id}_"):
            raise ApiError(400, "invalidArgument", "Invalid attachment token")
        return {"size": len(data), "data": b64url(data)}

    def _threads_get(self, ids: dict[str, str], p: dict[str, str],
                     lists: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        fmt = p.get("format", "full")
        msgs = sorted((m for m in self.messages.values() if m.thread_id == ids["id"]),
                      key=lambda m: m.internal_date)
        if not msgs:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        return {"id": ids["id"], "historyId": str(max(m.history_id for m in msgs)),
                "messages": [m.resource(fmt, lists.get("metadataHeaders")) for m in msgs]}

    def _history_list(self, ids: dict[str, str], p: dict[str, str], lists: Any, body: bytes
                      ) -> dict[str, Any]:
        if "startHistoryId" not in p:
            raise ApiError(400, "invalidArgument", "startHistoryId is required")
        start = int(p["startHistoryId"])
        if start < self.history_floor:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        records = [h for h in self.history if int(h["id"]) > start]
        offset = int(p.get("pageToken") or 0)
        size = min(int(p.get("maxResults") or 100), self.max_page)
        out: dict[str, Any] = {"historyId": str(self.history_id)}
        if records[offset : offset + size]:
            out["history"] = records[offset : offset + size]
        if offset + size < len(records):
            out["nextPageToken"] = str(offset + size)
        return out

    # -- batch -------------------------------------------------------------------------
    def _batch(self, headers: dict[str, str], body: bytes) -> Response:
        ctype = headers.get("content-type", "")
        parser = FeedParser()
        parser.feed(f"Content-Type: {ctype}\r\n\r\n")
        parser.feed(body.decode("utf-8"))
        envelope = parser.close()
        if not envelope.is_multipart():
            return 400, {"Content-Type": "text/plain"}, b"batch must be multipart/mixed"
        parts = envelope.get_payload()
        assert isinstance(parts, list)
        if len(parts) > 100:
            err = ApiError(400, "invalidArgument", "Too many requests in batch (max 100).")
            return 400, {"Content-Type": "application/json"}, err.body()
        with self._lock:
            self.batches.append(len(parts))
        boundary = "batch_fake_boundary"
        out: list[str] = []
        for part in parts:
            inner = part.get_payload()
            assert isinstance(inner, str)
            status, rheaders, payload = self._inner(inner, headers)
            cid = str(part.get("Content-ID", "<x+0>")).strip()
            reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                      404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
            head = "".join(f"{k}: {v}\r\n" for k, v in rheaders.items())
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{cid[1:-1]}>\r\n\r\n"
                f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n{head}"
                f"Content-Length: {len(payload)}\r\n\r\n{payload.decode('utf-8')}\r\n"
            )
        text = "".join(out) + f"--{boundary}--\r\n"
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, text.encode()

    def _inner(self, text: str, outer: dict[str, str]) -> Response:
        text = text.replace("\r\n", "\n")
        request_line, rest = text.split("\n", 1)
        head, _, body = rest.partition("\n\n")
        method, target, _version = request_line.split(" ", 2)
        headers = {}
        for line in head.split("\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "authorization" not in headers and "authorization" in outer:
            headers["authorization"] = outer["authorization"]
        return self.dispatch(method, target, headers, body.encode("utf-8"))
