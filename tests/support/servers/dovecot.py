"""A private Dovecot (IMAP + STARTTLS, IMAPS, LMTP) on free loopback ports, for integration tests.

Fixtures (registered by tests/conftest.py):

``dovecot`` (session)
    A running :class:`DovecotServer` with users ``alice`` and ``bob``
    (passwords: ``dovecot.users["alice"]``). Skips the test if the ``dovecot`` binary is absent
    (``make test`` installs it through scripts/system-deps.sh).
``clean_mailbox`` (function)
    The same server, with alice's and bob's mailboxes emptied before the test.

Typical use::

    def test_fetch(clean_mailbox):
        clean_mailbox.deliver("alice", raw_bytes)          # via LMTP, like a real MTA
        with clean_mailbox.imap("alice", tls="starttls") as client:  # verified TLS
            client.select_folder("INBOX")
            assert client.search(["ALL"])

Connection details for code under test: ``dovecot.host``, ``imap_port`` (plain + STARTTLS),
``imaps_port``, ``lmtp_port``, ``dovecot.ssl_context()`` (trusts the test CA),
``dovecot.ca_pem`` (the CA file). On a test failure the part of ``dovecot.log`` written during
the test is attached to the report.

Pitfalls handled here (see ../shared/notes/test-servers.md): mail uid/gid 65534 as root, 0755
dirs so the ``dovecot`` user can read the users file, ``chroot =`` for anvil/imap-login,
``mail_fsync = never``, free ports chosen up front, readiness by connecting (no sleeps).
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

import pytest

from tests.support.net import LOOPBACK, free_ports, wait_for_ports
from tests.support.tls import TestCA, make_test_ca

DEFAULT_USERS: Mapping[str, str] = {"alice": "alice-Secret-1", "bob": "bob-Secret-2"}
MAIL_DOMAIN = "example.test"
NOBODY = 65534
# Source address for deliberate bad logins (see DovecotServer.imap): keeps 127.0.0.1 penalty-free.
BAD_LOGIN_SOURCE_IP = "127.0.0.2"

TlsMode = Literal["plain", "starttls", "ssl"]


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
        None,
    )


def doveadm_binary() -> str | None:
    return shutil.which("doveadm") or next(
        (p for p in ("/usr/bin/doveadm", "/usr/local/bin/doveadm") if os.access(p, os.X_OK)),
        None,
    )


def dovecot_available() -> bool:
    return dovecot_binary() is not None


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Have the kernel SIGKILL Dovecot's master if the test process dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except Exception:
        pass


class DovecotError(RuntimeError):
    pass


class DovecotServer:
    """A private Dovecot instance living in its own temp dir.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Everything (config, mail,
    logs, sockets) lives under ``base_dir``, which is removed on stop unless ``keep=True``.
    """

    def __init__(
        self,
        users: Mapping[str, str] = DEFAULT_USERS,
        *,
        ca: TestCA | None = None,
        host: str = LOOPBACK,
        keep: bool = False,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.users = dict(users)
        # With a URL, XOAUTH2/OAUTHBEARER logins are checked by RFC 7662 introspection
        # there (Dovecot's oauth2 passdb, introspection_mode = post).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.host = host
        self.keep = keep
        self._ca = ca
        self._own_ca_dir: Path | None = None
        self.base_dir: Path | None = None
        self.imap_port = self.imaps_port = self.lmtp_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    # ------------------------------------------------------------------ paths
    def _path(self, *parts: str) -> Path:
        if self.base_dir is None:
            raise DovecotError("Dovecot is not started")
        return self.base_dir.joinpath(*parts)

    @property
    def config_path(self) -> Path:
        return self._path("dovecot.conf")

    @property
    def log_path(self) -> Path:
        return self._path("dovecot.log")

    @property
    def ca(self) -> TestCA:
        if self._ca is None:
            raise DovecotError("Dovecot is not started")
        return self._ca

    @property
    def ca_pem(self) -> Path:
        """Path of the CA certificate that signed the server certificate."""
        return self.ca.ca_pem

    def mail_dir(self, user: str) -> Path:
        """The user's Maildir (``INBOX``); subfolders are ``.Name`` inside it."""
        return self._path("mail", user, "Maildir")

    def address(self, user: str) -> str:
        return f"{user}@{MAIL_DOMAIN}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The master process's id (its children serve the connections)."""
        if self._proc is None:
            raise RuntimeError("Dovecot is not running")
        return self._proc.pid

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 15.0) -> DovecotServer:
        binary = dovecot_binary()
        if binary is None:
            raise DovecotError("the dovecot binary is not installed (bash scripts/system-deps.sh)")
        if self.running:
            return self
        t0 = time.monotonic()
        if self._ca is None:
            self._ca, self._own_ca_dir = make_test_ca()
        self.base_dir = Path(tempfile.mkdtemp(prefix="commhub-dovecot-"))
        # Dovecot's auth process runs as the `dovecot` user: it must traverse the dir.
        self.base_dir.chmod(0o755)
        for sub in ("run", "state", "mail"):
            self._path(sub).mkdir(mode=0o755)
        uid, gid = self._mail_ids()
        os.chown(self._path("mail"), uid, gid)
        users_file = self._path("users")
        users_file.write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()), encoding="utf-8"
        )
        users_file.chmod(0o644)

        last_error: Exception | None = None
        for _attempt in range(3):  # a chosen port may be taken meanwhile: pick new ones
            self.imap_port, self.imaps_port, self.lmtp_port = free_ports(3, self.host)
            self.config_path.write_text(self._config(), encoding="utf-8")
            self.log_path.write_bytes(b"")
            stderr = self._path("dovecot.stderr").open("wb")
            try:
                self._proc = subprocess.Popen(
                    [binary, "-F", "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: kill() reaps the children too
                    preexec_fn=_set_pdeathsig,
                )
            finally:
                stderr.close()
            atexit.register(self.kill)
            try:
                wait_for_ports(
                    self.host,
                    [self.imap_port, self.imaps_port, self.lmtp_port],
                    timeout,
                    alive=lambda: self.running,
                )
            except (RuntimeError, TimeoutError) as exc:
                last_error = exc
                output = self.diagnostics()
                self.kill()
                if "Address already in use" in output:
                    continue
                raise DovecotError(f"Dovecot did not start: {exc}\n{output}") from exc
            self.start_seconds = time.monotonic() - t0
            return self
        raise DovecotError(f"Dovecot did not start (ports kept clashing): {last_error}")

    def stop(self, timeout: float = 5.0, *, graceful: bool = True) -> None:
        """SIGTERM (graceful, about 1.1 s), then SIGKILL if needed; removes the temp dir.

        ``graceful=False`` SIGKILLs the process group at once (instant; nothing to save).
        """
        proc = self._proc
        if graceful and proc is not None and proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        self.kill()
        if not self.keep:
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
            if self._own_ca_dir is not None:
                shutil.rmtree(self._own_ca_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (used at exit and after crashes)."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(5)
        self._proc = None
        atexit.unregister(self.kill)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ config
    @staticmethod
    def _mail_ids() -> tuple[int, int]:
        # As root Dovecot refuses mail uid 0; as a normal user it can only use its own ids.
        if os.geteuid() == 0:
            return NOBODY, NOBODY
        return os.getuid(), os.getgid()

    def _config(self) -> str:
        d = self.base_dir
        uid, gid = self._mail_ids()
        unprivileged = ""
        if os.geteuid() != 0:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            unprivileged = (
                f"default_internal_user = {user}\n"
                f"default_internal_group = {group}\n"
                f"default_login_user = {user}\n"
            )
        oauth_mechs = oauth_passdb = ""
        if self.oauth2_introspection_url:
            oauth_conf = self._path("dovecot-oauth2.conf.ext")
            oauth_conf.write_text(
                f"introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "force_introspection = yes\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n",
                encoding="utf-8",
            )
            oauth_conf.chmod(0o644)
            oauth_mechs = " xoauth2 oauthbearer"
            oauth_passdb = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {oauth_conf}\n}}\n"
            )
        return f"""\
# Generated by tests/support/servers/dovecot.py
instance_name = commhub-test-{self.imap_port}
base_dir  = {d}/run
state_dir = {d}/state
log_path  = {d}/dovecot.log
{unprivileged}protocols = imap lmtp
listen = {self.host}
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechs}
auth_username_format = %Ln
auth_failure_delay = 0
auth_verbose = yes
mail_max_userip_connections = 200
mail_fsync = never
ssl = yes
ssl_cert = <{self.ca.cert_pem}
ssl_key  = <{self.ca.key_pem}
mail_location = maildir:{d}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {self.host}
    port = {self.lmtp_port}
  }}
}}
"""

    # ------------------------------------------------------------------ diagnostics
    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except (OSError, DovecotError):
            return 0

    def log_text(self, since: int = 0, limit: int = 20_000) -> str:
        """``dovecot.log`` from byte offset ``since`` (the last ``limit`` characters)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except (OSError, DovecotError):
            return ""
        return text[-limit:]

    def diagnostics(self) -> str:
        parts = [f"--- dovecot.log ---\n{self.log_text()}"]
        with contextlib.suppress(OSError, DovecotError):
            out = self._path("dovecot.stderr").read_text("utf-8", "replace")
            if out.strip():
                parts.append(f"--- dovecot stdout/stderr ---\n{out[-5000:]}")
        return "\n".join(parts)

    # ------------------------------------------------------------------ clients
    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that verifies the server against the test CA (hostname too)."""
        return self.ca.client_context()

    def imap(
        self,
        user: str | None = "alice",
        *,
        tls: TlsMode = "starttls",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        source_ip: str | None = None,
    ):  # -> imapclient.IMAPClient (untyped library)
        """An ``IMAPClient`` connected with ``tls`` and logged in as ``user`` (None: no login).

        ``tls="plain"`` uses the plain port without TLS, ``"starttls"`` the same port upgraded,
        ``"ssl"`` the IMAPS port. Use as a context manager (it logs out).

        ``source_ip`` binds the client side, e.g. :data:`BAD_LOGIN_SOURCE_IP` for deliberate
        wrong-password tests: Dovecot's auth penalty is per client IP and would otherwise
        delay the *next* login from 127.0.0.1 (any test's) by about 4 s.
        """
        from imapclient import IMAPClient

        if source_ip is not None:
            IMAPClient = _source_bound_client(source_ip)
        ctx = ssl_context or self.ssl_context()
        if tls == "ssl":
            client = IMAPClient(
                self.host, self.imaps_port, ssl=True, ssl_context=ctx, timeout=timeout
            )
        else:
            client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=timeout)
            if tls == "starttls":
                client.starttls(ctx)
        if user is not None:
            client.login(user, self.users[user])
        return client

    def deliver(
        self,
        user: str,
        raw: bytes | str,
        *,
        sender: str = f"sender@{MAIL_DOMAIN}",
    ) -> None:
        """Deliver one message to ``user``'s INBOX through LMTP (like a real MTA would).

        ``user`` may be a local name (``alice``) or an address (``alice@example.test``).
        """
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        rcpt = user if "@" in user else self.address(user)
        with smtplib.LMTP(self.host, self.lmtp_port, local_hostname="localhost", timeout=10) as lm:
            refused = lm.sendmail(sender, [rcpt], data)
        if refused:
            raise DovecotError(f"LMTP refused {refused}")

    def deliver_many(self, user: str, raws: Iterable[bytes]) -> int:
        """Deliver several messages on one LMTP connection; returns how many."""
        rcpt = user if "@" in user else self.address(user)
        n = 0
        with smtplib.LMTP(self.host, self.lmtp_port, local_hostname="localhost", timeout=30) as lm:
            for raw in raws:
                lm.sendmail(f"sender@{MAIL_DOMAIN}", [rcpt], raw)
                n += 1
        return n

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes | str,
        *,
        flags: Sequence[str] = (),
        msg_time: datetime | None = None,
    ) -> int | None:
        """APPEND one message to ``folder`` (created if missing) over IMAP; returns its UID."""
        return self.append_many(user, folder, [raw], flags=flags, msg_time=msg_time)[0]

    def append_many(
        self,
        user: str,
        folder: str,
        raws: Iterable[bytes | str],
        *,
        flags: Sequence[str] = (),
        msg_time: datetime | None = None,
    ) -> list[int | None]:
        """APPEND messages one by one on a single connection (about 1.7 ms each); UIDs back."""
        uids: list[int | None] = []
        with self.imap(user, tls="plain") as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                resp = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
                uids.append(_appenduid(resp))
        return uids

    def doveadm(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``doveadm -c <this config> ARGS``."""
        binary = doveadm_binary()
        if binary is None:
            raise DovecotError("doveadm is not installed")
        proc = subprocess.run(
            [binary, "-c", str(self.config_path), *args],
            input=input,
            capture_output=True,
            timeout=30,
            check=False,
        )
        if check and proc.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({proc.returncode}): "
                f"{proc.stderr.decode(errors='replace')}"
            )
        return proc

    def folders(self, user: str) -> list[str]:
        out = self.doveadm("mailbox", "list", "-u", user).stdout.decode()
        return [line for line in out.splitlines() if line]

    def reset_user(self, user: str) -> None:
        """Empty ``user``'s mailbox: expunge everything, delete all folders but INBOX (~25 ms).

        Flags, keywords and UIDVALIDITY of INBOX survive; UIDs keep counting up.
        """
        self.doveadm("expunge", "-u", user, "mailbox", "*", "all")
        # Top-level folders only, recursively ("Work" takes "Work.Sub" with it).
        top = sorted({f.split(".", 1)[0] for f in self.folders(user)} - {"INBOX"})
        if top:
            # Exit code 68 for a Maildir++ parent that exists only as a name: check the result.
            proc = self.doveadm("mailbox", "delete", "-u", user, "-r", "-s", *top, check=False)
            left = [f for f in self.folders(user) if f != "INBOX"]
            if left:
                raise DovecotError(
                    f"could not delete {left} of {user}: {proc.stderr.decode(errors='replace')}"
                )

    def reset(self) -> None:
        for user in self.users:
            self.reset_user(user)


def _source_bound_client(source_ip: str):  # -> type[IMAPClient]
    """An IMAPClient subclass whose connections come from ``source_ip``."""
    from imapclient import IMAPClient, imap4, tls

    def connect(host: str, port: int, timeout: float | None) -> socket.socket:
        return socket.create_connection((host, port), timeout, source_address=(source_ip, 0))

    class PlainIMAP4(imap4.IMAP4WithTimeout):
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            return connect(self.host, self.port, timeout if timeout is not None else self._timeout)

    class TlsIMAP4(tls.IMAP4_TLS):
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            sock = connect(self.host, self.port, timeout if timeout is not None else self._timeout)
            return tls.wrap_socket(sock, self.ssl_context, self.host)

    class SourceBoundIMAPClient(IMAPClient):
        def _create_IMAP4(self):
            connect_timeout = getattr(self._timeout, "connect", None)
            if self.ssl:
                return TlsIMAP4(self.host, self.port, self.ssl_context, connect_timeout)
            return PlainIMAP4(self.host, self.port, connect_timeout)

    return SourceBoundIMAPClient


def _appenduid(resp: bytes | str | None) -> int | None:
    """Parse ``[APPENDUID <validity> <uid>] ...`` from an APPEND response."""
    text = resp.decode("ascii", "replace") if isinstance(resp, bytes) else str(resp or "")
    if "APPENDUID" in text:
        try:
            return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        except (IndexError, ValueError):
            return None
    return None


# --------------------------------------------------------------------------- pytest fixtures

_LOG_OFFSET = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def dovecot(tls_ca: TestCA) -> Iterator[DovecotServer]:
    """A running private Dovecot for the whole session (skips if Dovecot is not installed)."""
    if not dovecot_available():
        pytest.skip("dovecot is not installed: run `bash scripts/system-deps.sh` (as root)")
    server = DovecotServer(ca=tls_ca)
    server.start()
    try:
        yield server
    finally:
        server.stop(graceful=False)  # throw-away data: skip the ~1.1 s graceful shutdown


@pytest.fixture
def clean_mailbox(dovecot: DovecotServer) -> DovecotServer:
    """The session Dovecot with every user's mailbox emptied before this test."""
    dovecot.reset()
    return dovecot


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    server = getattr(item, "funcargs", {}).get("dovecot")
    if not isinstance(server, DovecotServer):
        return report
    if report.when == "setup" and report.passed:
        item.stash[_LOG_OFFSET] = server.log_size()
    elif report.failed:
        since = item.stash.get(_LOG_OFFSET, 0)
        text = server.log_text(since)
        if text.strip():
            report.sections.append((f"dovecot.log ({report.when})", text))
    return report
