"""An OAuth 2.0 authorization server on loopback: token endpoint + RFC 7662 introspection.

``POST /token`` is :class:`tests.fakes.oauth.FakeTokenEndpoint` (refresh_token grant).
``POST /introspect`` (form ``token=...``, as Dovecot's oauth2 passdb sends it with
``introspection_mode = post``) answers ``{"active": true, "username": <user>}`` for an
access token the endpoint issued, ``{"active": false}`` otherwise.  Mail servers (Dovecot
for IMAP XOAUTH2, the aiosmtpd fixture for SMTP XOAUTH2) ask it whether a token is good.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.oauth import FakeTokenEndpoint

__all__ = ["OAuthServer"]


class OAuthServer:
    def __init__(self, user: str) -> None:
        self.user = user
        self.endpoint = FakeTokenEndpoint()
        self.introspections: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "OAuthServer not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def active(self, token: str) -> bool:
        return token in self.endpoint.access_tokens

    def start(self) -> OAuthServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/token"):
                    status, payload = fake.endpoint.handle(body)
                elif self.path.startswith("/introspect"):
                    form = urllib.parse.parse_qs(body.decode("utf-8"))
                    token = form.get("token", [""])[0]
                    fake.introspections.append(token)
                    answer: dict[str, object] = {"active": False}
                    if fake.active(token):
                        answer = {"active": True, "username": fake.user}
                    status, payload = 200, json.dumps(answer).encode()
                else:
                    status, payload = 404, b'{"error": "not_found"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
