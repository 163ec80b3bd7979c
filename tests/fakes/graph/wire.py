"""HTTP plumbing of the Graph fake: constants, the msal session, errors, replies, handler."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from .server import FakeGraph

LOGIN_HOST = "https://login.microsoftonline.com"
CHUNK_UNIT = 320 * 1024
MAX_REQUEST = 4 * 1024 * 1024


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
