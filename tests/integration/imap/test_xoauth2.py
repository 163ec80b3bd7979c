"""XOAUTH2 for IMAP and SMTP against real servers.

Dovecot checks the bearer token with its oauth2 passdb (RFC 7662 introspection, POST) at a
local authorization server (:mod:`tests.fakes.oauth_server`); the aiosmtpd submission server
asks the same server.  Commhub keeps the OAuth sign-in in the keyring stand-in and refreshes
the access token with google-auth's refresh-token grant at that server's ``/token``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services import CommManager
from services.email.oauth import SECRET_KEY, store_oauth_sign_in
from services.errors import AuthenticationError
from services.security.secrets import MemorySecrets
from tests.fakes.oauth_server import OAuthServer
from tests.support.servers.dovecot import DovecotServer
from tests.support.servers.smtp import SmtpServer
from tests.support.tls import TestCA

pytestmark = pytest.mark.integration
ACCOUNT = "oauth-mail"


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    with OAuthServer("alice") as server:
        yield server


@pytest.fixture(scope="module")
def servers(oauth: OAuthServer, tls_ca: TestCA) -> Iterator[tuple[DovecotServer, SmtpServer]]:
    with DovecotServer(ca=tls_ca, oauth2_introspection_url=f"{oauth.url}/introspect") as dov:
        smtp = SmtpServer(tls_ca, dovecot=dov)
        smtp.oauth_check = lambda user, token: user == oauth.user and oauth.active(token)
        smtp.start()
        try:
            yield dov, smtp
        finally:
            smtp.stop()


def _settings(dov: DovecotServer, smtp: SmtpServer) -> dict[str, Any]:
    common = {"host": "127.0.0.1", "username": "alice", "ca_file": str(dov.ca_pem),
              "timeout": 10.0, "security": "starttls"}
    return {
        "account": ACCOUNT,
        "address": "alice@example.test",
        "imap": {**common, "port": dov.imap_port, "auth": "xoauth2"},
        "smtp": {**common, "port": smtp.port, "auth": "XOAUTH2"},
    }


def _sign_in(secrets: MemorySecrets, oauth: OAuthServer) -> str:
    refresh = oauth.endpoint.issue_refresh_token()
    store_oauth_sign_in(
        secrets, ACCOUNT, refresh_token=refresh, client_id=oauth.endpoint.client_id,
        client_secret=oauth.endpoint.client_secret, token_uri=f"{oauth.url}/token",
    )
    return refresh


def test_imap_and_smtp_sign_in_with_xoauth2_and_refresh_rotated_tokens(
    oauth: OAuthServer, servers: tuple[DovecotServer, SmtpServer], tmp_path: Path
) -> None:
    dov, smtp = servers
    secrets = MemorySecrets()
    first_refresh = _sign_in(secrets, oauth)
    oauth.endpoint.rotate = True  # the provider hands out a new refresh token each time
    comm = CommManager(data_dir=tmp_path / "data", secrets=secrets)
    try:
        mail = comm.email("imap", **_settings(dov, smtp))
        result = mail.compose().to("alice@example.test").subject("token sign-in").body(
            "sent with XOAUTH2").send()
        assert result.success, result.error
        assert smtp.wait_for(1)[-1].auth_user == "alice"

        deadline = time.monotonic() + 5
        while len(mail.search('subject:"token sign-in"')) < 2 and time.monotonic() < deadline:
            mail.sync()
            time.sleep(0.1)
        found = mail.search('subject:"token sign-in"')
        assert sorted(m.folder for m in found) == ["INBOX", "Sent"]  # received + filed copy
    finally:
        comm.close()

    # one refresh served both connections; the rotated refresh token is what the keyring holds
    grants = [r for r in oauth.endpoint.requests if r.get("grant_type") == "refresh_token"]
    assert len(grants) == 1 and grants[0]["refresh_token"] == first_refresh
    stored = json.loads(secrets.get(ACCOUNT, SECRET_KEY) or "{}")
    assert stored["refresh_token"] != first_refresh
    assert stored["refresh_token"] in oauth.endpoint.refresh_tokens
    assert stored["token"] in oauth.endpoint.access_tokens
    assert "method=XOAUTH2" in dov.log_text()


def test_revoked_sign_in_is_an_authentication_error_and_sends_nothing(
    oauth: OAuthServer, servers: tuple[DovecotServer, SmtpServer], tmp_path: Path
) -> None:
    dov, smtp = servers
    secrets = MemorySecrets()
    _sign_in(secrets, oauth)
    oauth.endpoint.revoke_all()
    before = len(smtp.messages)
    comm = CommManager(data_dir=tmp_path / "data", secrets=secrets)
    try:
        mail = comm.email("imap", **_settings(dov, smtp))
        with pytest.raises(AuthenticationError, match=r"expired or was refused.*sign in again"):
            mail.sync()
        result = mail.compose().to("alice@example.test").subject("never").body("x").send()
        assert not result.success
        assert "sign in again" in (result.error or "") and "retry" not in (result.error or "")
    finally:
        comm.close()
    assert len(smtp.messages) == before


def test_servers_refuse_a_token_they_did_not_issue(
    oauth: OAuthServer, servers: tuple[DovecotServer, SmtpServer], tmp_path: Path
) -> None:
    dov, smtp = servers
    secrets = MemorySecrets()
    store_oauth_sign_in(  # a still-valid-looking access token the provider never issued
        secrets, ACCOUNT, refresh_token="unused", client_id=oauth.endpoint.client_id,
        token_uri=f"{oauth.url}/token", access_token="forged-token",
    )
    stored = json.loads(secrets.get(ACCOUNT, SECRET_KEY) or "{}")
    stored["expiry"] = "2999-01-01T00:00:00"
    secrets.set(ACCOUNT, SECRET_KEY, json.dumps(stored))
    comm = CommManager(data_dir=tmp_path / "data", secrets=secrets)
    try:
        mail = comm.email("imap", **_settings(dov, smtp))
        with pytest.raises(AuthenticationError, match="alice"):
            mail.sync()
        result = mail.compose().to("alice@example.test").subject("forged").body("x").send()
        assert not result.success and "535" in (result.error or "")
        assert "retry" not in (result.error or "")  # a refused login is not retried
    finally:
        comm.close()
    assert "forged-token" in oauth.introspections  # Dovecot really asked
    assert smtp.auth_failures >= 1
