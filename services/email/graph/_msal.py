"""A small typed face over the untyped ``msal`` library (and the ``requests`` errors it raises).

Everything msal returns is a loosely typed dict; this module turns it into plain typed
values and every failure into a :mod:`services.errors` exception, so the rest of the
package never touches msal directly.  All calls block (msal uses ``requests``): callers
run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msal
import requests

from services.errors import (
    AuthenticationError,
    CommError,
    ConfigurationError,
    ConnectionFailed,
    OperationTimedOut,
)

__all__ = ["DeviceCode", "MsalApp", "MsalCache", "TokenResult", "msal_call"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DeviceCode:
    """What the user must do to finish a device-code sign-in (``message`` says it all)."""

    user_code: str
    verification_uri: str
    message: str
    expires_in: int

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class TokenResult:
    access_token: str
    expires_in: int
    username: str | None = None


def _auth_error(result: Mapping[str, Any], what: str) -> AuthenticationError:
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "no description given")
    return AuthenticationError(f"{what} failed: {error}: {description}")


def token_result(result: Mapping[str, Any] | None, what: str) -> TokenResult:
    """An msal result dict → TokenResult, or AuthenticationError with msal's description."""
    if not result or "access_token" not in result:
        raise _auth_error(result or {"error": "no_account"}, what)
    claims = result.get("id_token_claims") or {}
    username = claims.get("preferred_username") if isinstance(claims, Mapping) else None
    return TokenResult(
        access_token=str(result["access_token"]),
        expires_in=int(result.get("expires_in") or 0),
        username=str(username) if username else None,
    )


def msal_call(fn: Callable[[], T], what: str) -> T:
    """Run one msal call, translating library exceptions (network, configuration)."""
    try:
        return fn()
    except CommError:
        raise
    except requests.exceptions.Timeout as exc:
        raise OperationTimedOut(f"{what}: the sign-in service timed out ({exc})") from exc
    except requests.exceptions.RequestException as exc:
        raise ConnectionFailed(f"{what}: cannot reach the sign-in service ({exc})") from exc
    except ValueError as exc:  # msal: bad authority / tenant / OIDC discovery refused
        raise ConfigurationError(f"{what}: {exc}") from exc
    except Exception as exc:  # anything else msal raises must not escape services/
        raise AuthenticationError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


class MsalCache:
    """msal's SerializableTokenCache: load/serialize and the changed flag."""

    def __init__(self, state: str | None) -> None:
        self.raw: Any = msal.SerializableTokenCache()
        if state:
            try:
                self.raw.deserialize(state)
            except ValueError:  # a corrupt cache: start empty, the user signs in again
                self.raw = msal.SerializableTokenCache()

    @property
    def changed(self) -> bool:
        return bool(self.raw.has_state_changed)

    def serialize(self) -> str:
        text = str(self.raw.serialize())
        self.raw.has_state_changed = False
        return text


class MsalApp:
    """One msal application (public or confidential); construction does network I/O."""

    def __init__(
        self,
        client_id: str,
        authority: str,
        cache: MsalCache,
        *,
        client_secret: str | None = None,
        http_client: object | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"authority": authority, "token_cache": cache.raw}
        if http_client is not None:
            kwargs["http_client"] = http_client
        what = "connecting to the Microsoft sign-in service"
        if client_secret is None:
            self._app: Any = msal_call(
                lambda: msal.PublicClientApplication(client_id, **kwargs), what)
        else:
            self._app = msal_call(
                lambda: msal.ConfidentialClientApplication(
                    client_id, client_credential=client_secret, **kwargs), what)

    def usernames(self) -> list[str]:
        accounts = msal_call(self._app.get_accounts, "reading the token cache")
        return [str(a.get("username") or "") for a in accounts or []]

    def silent(self, scopes: Sequence[str], username: str | None) -> TokenResult | None:
        """A cached or refreshed token for the (first / named) account; None: sign-in needed."""
        accounts = msal_call(
            lambda: self._app.get_accounts(username=username), "reading the token cache")
        if not accounts:
            return None
        result = msal_call(
            lambda: self._app.acquire_token_silent_with_error(list(scopes), accounts[0]),
            "refreshing the access token")
        if result is None:
            return None
        return token_result(result, "refreshing the access token")

    def initiate_device_flow(self, scopes: Sequence[str]) -> tuple[dict[str, Any], DeviceCode]:
        flow = msal_call(lambda: self._app.initiate_device_flow(scopes=list(scopes)),
                         "starting the device-code sign-in")
        if "user_code" not in flow:
            raise _auth_error(flow, "starting the device-code sign-in")
        code = DeviceCode(
            user_code=str(flow["user_code"]),
            verification_uri=str(flow.get("verification_uri") or ""),
            message=str(flow.get("message") or ""),
            expires_in=int(flow.get("expires_in") or 0),
        )
        return dict(flow), code

    def finish_device_flow(self, flow: dict[str, Any]) -> TokenResult:
        result = msal_call(lambda: self._app.acquire_token_by_device_flow(flow),
                           "the device-code sign-in")
        return token_result(result, "the device-code sign-in")

    def interactive(self, scopes: Sequence[str], username: str | None,
                    timeout: int | None) -> TokenResult:
        result = msal_call(
            lambda: self._app.acquire_token_interactive(
                list(scopes), login_hint=username, timeout=timeout, prompt="select_account"),
            "the interactive sign-in")
        return token_result(result, "the interactive sign-in")

    def for_client(self, scopes: Sequence[str]) -> TokenResult:
        result = msal_call(lambda: self._app.acquire_token_for_client(scopes=list(scopes)),
                           "the client-credentials sign-in")
        return token_result(result, "the client-credentials sign-in")

    def remove_accounts(self) -> None:
        def remove_all() -> None:
            for account in self._app.get_accounts() or []:
                self._app.remove_account(account)

        msal_call(remove_all, "signing out")
