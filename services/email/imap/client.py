"""Async wrapper over imapclient: every call runs in ``asyncio.to_thread`` and library
errors come out as ``services.errors``.  One :class:`ImapConnection` is one socket; it is
not safe to call it from two tasks at once (the service serialises its use).
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from services.email.imap.config import ImapConfig
from services.email.imap.fetchparse import parse_fetch
from services.email.imap.fetchread import run_fetch
from services.email.imap.protocol import FolderStatus, parse_uid_set
from services.errors import (
    AuthenticationError,
    CommError,
    ConnectionFailed,
    OperationTimedOut,
    ProviderError,
)

__all__ = ["FetchResult", "ImapConnection", "translate_error"]

T = TypeVar("T")
PasswordSource = Callable[[], str]
_CODE = re.compile(r"\[([A-Z-]+)")
_CODES = {
    "NONEXISTENT": "NOT_FOUND",
    "TRYCREATE": "NOT_FOUND",
    "OVERQUOTA": "QUOTA_EXCEEDED",
    "LIMIT": "RATE_LIMITED",
    "INUSE": "IN_USE",
    "SERVERBUG": "SERVER_ERROR",
    "UNAVAILABLE": "UNAVAILABLE",
    "CANNOT": "REFUSED",
    "ALREADYEXISTS": "ALREADY_EXISTS",
}


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip() or type(exc).__name__


def translate_error(exc: BaseException, config: ImapConfig, action: str) -> CommError:
    """A library exception → the matching ``services.errors`` error (readable text)."""
    from imapclient.exceptions import LoginError

    where = f"{config.host}:{config.effective_port}"
    who = f"{config.username}@{config.host}"
    if isinstance(exc, CommError):
        return exc
    if isinstance(exc, LoginError) or (
        isinstance(exc, imaplib.IMAP4.error) and "AUTHENTICATIONFAILED" in str(exc)
        and action == "login"
    ):
        return AuthenticationError(f"login refused for {who}: {_text(exc)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or _text(exc)
        return ConnectionFailed(f"certificate for {config.host} not trusted: {reason}")
    if isinstance(exc, TimeoutError):
        return OperationTimedOut(f"IMAP {action} on {where} timed out after {config.timeout} s")
    if isinstance(exc, ssl.SSLError):
        return ConnectionFailed(f"TLS with {where} failed: {exc.reason or _text(exc)}")
    if isinstance(exc, imaplib.IMAP4.abort):
        return ConnectionFailed(f"IMAP connection to {where} lost during {action}: {_text(exc)}")
    if isinstance(exc, OSError):
        return ConnectionFailed(f"cannot reach IMAP server {where} ({action}): {_text(exc)}")
    if isinstance(exc, imaplib.IMAP4.error):
        text = _text(exc)
        match = _CODE.search(text)
        code = _CODES.get(match.group(1), match.group(1)) if match else "SERVER_ERROR"
        return ProviderError(f"IMAP {action} failed on {where}: {text}", provider="imap",
                             error_code=code)
    if isinstance(exc, ValueError | KeyError | IndexError):  # imapclient parse errors
        return ProviderError(f"IMAP {action}: unreadable server answer from {where}: {exc}",
                             provider="imap", error_code="PROTOCOL")
    return ProviderError(f"IMAP {action} failed on {where}: {type(exc).__name__}: {exc}",
                         provider="imap", error_code="UNKNOWN")


class FetchResult:
    """A FETCH answer: ``items`` keyed by UID (unsolicited answers without UID dropped) and
    the UIDs reported ``VANISHED`` (QRESYNC)."""

    __slots__ = ("items", "vanished")

    def __init__(self, items: dict[int, dict[bytes, object]], vanished: list[int]) -> None:
        self.items = items
        self.vanished = vanished


def _client_factory(config: ImapConfig) -> Any:
    from imapclient import IMAPClient

    source = config.source_address
    if source is None:
        return IMAPClient
    from imapclient import imap4, tls

    def connect(host: str, port: int, timeout: float | None) -> socket.socket:
        return socket.create_connection((host, port), timeout, source_address=(source, 0))

    class PlainIMAP4(imap4.IMAP4WithTimeout):  # type: ignore[misc]
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            return connect(self.host, self.port, timeout if timeout is not None else self._timeout)

    class TlsIMAP4(tls.IMAP4_TLS):  # type: ignore[misc]
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            sock = connect(self.host, self.port, timeout if timeout is not None else self._timeout)
            return tls.wrap_socket(sock, self.ssl_context, self.host)  # type: ignore[no-any-return]

    class BoundIMAPClient(IMAPClient):  # type: ignore[misc]
        def _create_IMAP4(self) -> Any:
            connect_timeout = getattr(self._timeout, "connect", None)
            if self.ssl:
                return TlsIMAP4(self.host, self.port, self.ssl_context, connect_timeout)
            return PlainIMAP4(self.host, self.port, connect_timeout)

    return BoundIMAPClient


class ImapConnection:
    """One logged-in IMAP connection (``await open()``, then the operations)."""

    def __init__(
        self,
        config: ImapConfig,
        *,
        password: PasswordSource | None = None,
        token: PasswordSource | None = None,
    ) -> None:
        self.config = config
        self._password = password
        self._token = token
        self._client: Any = None
        self.capabilities: frozenset[str] = frozenset()
        self.condstore = False
        self.qresync = False
        self.selected: str | None = None
        self.readonly = False

    # -- plumbing ----------------------------------------------------------------------
    async def _run(self, action: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        if self._client is None and action != "connect":
            raise ConnectionFailed(f"IMAP connection to {self.config.host} is not open")
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except CommError:
            raise
        except Exception as exc:
            raise translate_error(exc, self.config, action) from exc

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    # -- session -----------------------------------------------------------------------
    def _connect_blocking(self) -> Any:
        cfg = self.config
        factory = _client_factory(cfg)
        ctx = cfg.tls_context() if cfg.security != "plain" else None
        client = factory(cfg.host, cfg.effective_port, ssl=cfg.security == "ssl",
                         ssl_context=ctx, timeout=cfg.timeout)
        try:
            if cfg.security == "starttls":
                client.starttls(ctx)
        except BaseException:
            _shutdown(client)
            raise
        return client

    def _login_blocking(self, client: Any) -> None:
        cfg = self.config
        if cfg.auth == "xoauth2":
            if self._token is None:
                raise AuthenticationError(f"no OAuth token provider for {cfg.username}")
            client.oauth2_login(cfg.username, self._token())
        else:
            if self._password is None:
                raise AuthenticationError(f"no password for {cfg.username}@{cfg.host}")
            client.login(cfg.username, self._password())

    async def open(self) -> None:
        """Connect, secure, log in (once: an auth failure is never retried), ENABLE
        CONDSTORE/QRESYNC when offered."""
        client = await self._run("connect", self._connect_blocking)
        try:
            await asyncio.to_thread(self._login_blocking, client)
        except CommError:
            _shutdown(client)
            raise
        except Exception as exc:
            _shutdown(client)
            raise translate_error(exc, self.config, "login") from exc
        self._client = client
        caps = await self._run("capability", client.capabilities)
        self.capabilities = frozenset(
            (c.decode() if isinstance(c, bytes) else str(c)).upper() for c in caps
        )
        wanted = [c for c in ("CONDSTORE", "QRESYNC")
                  if c in self.capabilities and self.config.use_condstore]
        if wanted and self.has("ENABLE"):
            enabled = await self._run("enable", client.enable, *wanted)
            names = {(e.decode() if isinstance(e, bytes) else str(e)).upper() for e in enabled}
            self.condstore = "CONDSTORE" in names or "QRESYNC" in names
            self.qresync = "QRESYNC" in names
        else:
            self.condstore = "CONDSTORE" in self.capabilities and self.config.use_condstore

    async def close(self) -> None:
        client, self._client = self._client, None
        self.selected = None
        if client is None:
            return
        try:
            await asyncio.wait_for(asyncio.to_thread(_logout, client), 5.0)
        except (TimeoutError, Exception):
            _shutdown(client)

    def abort(self) -> None:
        """Shut the socket down at once (from any thread): a blocked call returns."""
        client = self._client
        if client is not None:
            _shutdown(client)

    # -- folders -----------------------------------------------------------------------
    async def list_folders(self) -> list[tuple[tuple[bytes, ...], str, str]]:
        rows = await self._run("LIST", self._client.list_folders)
        out: list[tuple[tuple[bytes, ...], str, str]] = []
        for flags, delim, name in rows:
            d = delim.decode() if isinstance(delim, bytes) else (delim or "/")
            n = name.decode() if isinstance(name, bytes) else str(name)
            out.append((tuple(flags), d, n))
        return out

    async def select(self, folder: str, *, readonly: bool = False) -> FolderStatus:
        resp: Mapping[bytes, Any] = await self._run(
            f"SELECT {folder}", self._client.select_folder, folder, readonly
        )
        self.selected, self.readonly = folder, readonly

        def num(key: bytes) -> int | None:
            value = resp.get(key)
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return int(value) if value is not None else None

        return FolderStatus(
            uidvalidity=num(b"UIDVALIDITY") or 0,
            uidnext=num(b"UIDNEXT") or 1,
            exists=num(b"EXISTS") or 0,
            highestmodseq=num(b"HIGHESTMODSEQ") if self.condstore else None,
        )

    async def ensure_selected(self, folder: str, *, readonly: bool = False) -> None:
        if self.selected != folder or (self.readonly and not readonly):
            await self.select(folder, readonly=readonly)

    async def create_folder(self, folder: str) -> None:
        await self._run(f"CREATE {folder}", self._client.create_folder, folder)

    async def folder_exists(self, folder: str) -> bool:
        return bool(await self._run("LIST", self._client.folder_exists, folder))

    # -- messages ----------------------------------------------------------------------
    def _fetch_data_blocking(
        self, uids: str, items: Sequence[str], modifiers: Sequence[str] | None
    ) -> tuple[list[Any], list[Any]]:
        imap = self._client._imap
        args = f"{uids} ({' '.join(items)})"
        if modifiers:
            args += f" ({' '.join(modifiers)})"
        imap.untagged_responses.pop("VANISHED", None)
        typ, data = run_fetch(imap, args)
        if typ != "OK":
            text = data[-1] if data and isinstance(data[-1], bytes) else b""
            raise imaplib.IMAP4.error(f"FETCH failed: {typ} {text.decode('utf-8', 'replace')}")
        return data, imap.untagged_responses.pop("VANISHED", [])

    def _fetch_blocking(
        self, uids: str, items: Sequence[str], modifiers: Sequence[str] | None
    ) -> FetchResult:
        data, vanished_raw = self._fetch_data_blocking(uids, items, modifiers)
        parsed = parse_fetch(data)
        out: dict[int, dict[bytes, object]] = {}
        for item in parsed.values():
            uid = item.get(b"UID")
            if isinstance(uid, int):
                out[uid] = item
        vanished = [u for v in vanished_raw for u in parse_uid_set(v or b"")]
        return FetchResult(out, vanished)

    async def fetch(
        self, uids: str, items: Sequence[str], modifiers: Sequence[str] | None = None
    ) -> FetchResult:
        """UID FETCH over a sequence set *string* (``"1:500,702"``), so ranges never go
        through imapclient's filtering (which rejects ``"1:*"``)."""
        return await self._run("FETCH", self._fetch_blocking, uids, list(items), modifiers)

    async def fetch_data(self, uids: str, items: Sequence[str]) -> list[Any]:
        """UID FETCH, unparsed: imaplib's raw answer (``bytes`` lines and ``(line,
        literal)`` pairs) for :func:`~services.email.imap.fetchparse.parse_fetch` to read
        elsewhere (a header sync parses in a worker process)."""
        data, _ = await self._run("FETCH", self._fetch_data_blocking, uids, list(items), None)
        return data

    async def search(self, criteria: Any, charset: str | None = None) -> list[int]:
        found = await self._run("SEARCH", self._client.search, criteria, charset)
        return sorted(int(u) for u in found)

    async def add_flags(self, uids: Sequence[int], flags: Sequence[str]) -> None:
        await self._run("STORE", self._client.add_flags, list(uids), list(flags), True)

    async def remove_flags(self, uids: Sequence[int], flags: Sequence[str]) -> None:
        await self._run("STORE", self._client.remove_flags, list(uids), list(flags), True)

    def _copy_blocking(self, command: str, uids: list[int], folder: str) -> dict[int, int]:
        imap = self._client._imap
        imap.untagged_responses.pop("COPYUID", None)
        getattr(self._client, command)(uids, folder)
        found: dict[int, int] = {}
        for value in imap.untagged_responses.pop("COPYUID", []) or []:
            found.update(_copyuid(b"COPYUID " + (value or b"")))
        return found

    async def copy(self, uids: Sequence[int], folder: str) -> dict[int, int]:
        """UID COPY; old UID → new UID when the server says (UIDPLUS COPYUID)."""
        return await self._run("COPY", self._copy_blocking, "copy", list(uids), folder)

    async def move(self, uids: Sequence[int], folder: str) -> dict[int, int]:
        """MOVE (RFC 6851) or COPY + \\Deleted + UID EXPUNGE; old UID → new UID if told."""
        if self.has("MOVE"):
            return await self._run("MOVE", self._copy_blocking, "move", list(uids), folder)
        mapping = await self.copy(uids, folder)
        await self.expunge_uids(uids)
        return mapping

    async def expunge_uids(self, uids: Sequence[int]) -> None:
        await self.add_flags(uids, ["\\Deleted"])
        if self.has("UIDPLUS"):
            await self._run("UID EXPUNGE", self._client.uid_expunge, list(uids))
        else:
            await self._run("EXPUNGE", self._client.expunge)

    async def append(self, folder: str, raw: bytes, flags: Sequence[str]) -> int | None:
        resp = await self._run("APPEND", self._client.append, folder, raw, tuple(flags))
        text = resp.decode("ascii", "replace") if isinstance(resp, bytes) else str(resp or "")
        match = re.search(r"APPENDUID \d+ (\d+)", text)
        return int(match.group(1)) if match else None

    async def noop(self) -> None:
        await self._run("NOOP", self._client.noop)

    # -- IDLE --------------------------------------------------------------------------
    async def idle(self) -> None:
        await self._run("IDLE", self._client.idle)

    async def idle_check(self, timeout: float) -> list[tuple[Any, ...]]:
        return list(await self._run("IDLE", self._client.idle_check, timeout))

    async def idle_done(self) -> None:
        await self._run("IDLE", self._client.idle_done)


def _copyuid(resp: object) -> dict[int, int]:
    text = resp.decode("ascii", "replace") if isinstance(resp, bytes) else str(resp or "")
    match = re.search(r"COPYUID \d+ ([\d:,]+) ([\d:,]+)", text)
    if not match:
        return {}
    old, new = parse_uid_set(match.group(1)), parse_uid_set(match.group(2))
    return dict(zip(old, new, strict=False))


def _logout(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        _shutdown(client)


def _shutdown(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()
