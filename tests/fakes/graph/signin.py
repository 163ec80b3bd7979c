"""The Microsoft identity platform (sign-in) endpoints of the Graph fake."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qs

from .wire import LOGIN_HOST, HttpError, Reply, _b64url, _json

RESERVED_SCOPES = {"openid", "profile", "offline_access"}


class SignInMixin:
    """:class:`~.server.FakeGraph` methods: openid-configuration, discovery, devicecode, token."""

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
