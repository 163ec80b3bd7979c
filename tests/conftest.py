"""Root conftest: loopback-only network, an isolated environment per test, shared fixtures.

Network
    pytest-socket (``--allow-hosts=127.0.0.1,localhost,::1`` in pyproject's addopts) blocks
    ``socket.connect`` to any other address. It does not guard name resolution, ``connect_ex``
    or UDP ``sendto``; this file closes those holes while the restriction is active, so
    ``socket.getaddrinfo("example.com", 443)`` raises :class:`NetworkLookupBlockedError` (a
    ``pytest_socket.SocketBlockedError``) instead of asking a DNS server. Loopback names
    (localhost, *.localhost, this machine's hostname) and numeric addresses still resolve.
    A test marked ``@pytest.mark.enable_socket`` lifts all of it.

Environment for every test (autouse ``_isolated_env``)
    * ``COMMHUB_DATA_DIR``: a fresh empty temp dir per test, never the real user data dir;
    * ``QT_QPA_PLATFORM=offscreen`` (set at import, before any QApplication exists;
      ``COMMHUB_TEST_QT_PLATFORM=xcb`` overrides it for runs under Xvfb);
    * ``PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring`` and the keyring module's cached
      backend set to it: every keyring call raises ``NoKeyringError``. Opt in to the platform's
      backend with ``@pytest.mark.real_keyring`` (the variable is removed, the cache reset);
    * ``XDG_DATA_HOME``/``XDG_CONFIG_HOME``/``XDG_STATE_HOME``: one temp dir per session.

Fixtures from tests/support (see each module's docstring)
    ``tls_ca`` (session), ``dovecot`` (session), ``clean_mailbox``, ``smtp_server`` (session),
    ``clean_smtp``. The corpus generator is a plain module: ``tests.support.corpus``.

Everything collected under tests/integration/ gets the ``integration`` marker.

Hypothesis runs derandomized (the same examples every run) so that ``make test`` is
repeatable; ``HYPOTHESIS_PROFILE=explore`` searches with fresh random examples.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as _hypothesis_settings

_hypothesis_settings.register_profile(
    "repeatable", derandomize=True, deadline=None, database=None
)
_hypothesis_settings.register_profile("explore", deadline=None, max_examples=1000)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `import tests.support...` with the `pytest` script too
    sys.path.insert(0, str(ROOT))

import pytest_socket  # noqa: E402 - after the sys.path fix, with the other test imports

os.environ["QT_QPA_PLATFORM"] = os.environ.get("COMMHUB_TEST_QT_PLATFORM") or "offscreen"
FAIL_KEYRING = "keyring.backends.fail.Keyring"
os.environ["PYTHON_KEYRING_BACKEND"] = FAIL_KEYRING

pytest.register_assert_rewrite("tests.support")
pytest_plugins = [
    "tests.support.keyrings",
    "tests.support.tls",
    "tests.unit.security.pki_helpers",
    "tests.support.servers.dovecot",
    "tests.support.servers.smtp",
]

INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"


# --------------------------------------------------------------------------- network guard

_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex
_REAL_SENDTO = socket.socket.sendto
_REAL_LOOKUPS: dict[str, Callable[..., Any]] = {
    name: getattr(socket, name)
    for name in (
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
    )
}
_LOCAL_NAMES = {
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    socket.gethostname().lower(),
}


class NetworkLookupBlockedError(pytest_socket.SocketBlockedError):
    """A test tried to resolve a non-loopback name (which would query DNS)."""


def _restricted() -> bool:
    """True while pytest-socket restricts connections for the running test."""
    return socket.socket.connect is not _REAL_CONNECT


def _is_local_name(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes | bytearray):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().rstrip(".").lower()
    if not name:
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        return True  # numeric: resolving needs no DNS; connecting is guarded separately
    except ValueError:
        pass
    return name in _LOCAL_NAMES or name.endswith(".localhost")


def _is_loopback_address(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return isinstance(address, str | bytes)  # AF_UNIX path
    host = address[0]
    if isinstance(host, str) and host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _lookup_is_local(name: str, host: Any, args: tuple[Any, ...]) -> bool:
    if name == "gethostbyaddr":  # reverse lookup: a public IP would query DNS
        return _is_local_name(host) and (
            host is None or _is_loopback_address((host,)) or not _is_numeric(host)
        )
    if name == "getnameinfo":  # (sockaddr, flags)
        flags = args[0] if args else 0
        return bool(flags & socket.NI_NUMERICHOST) or _is_loopback_address(host)
    return _is_local_name(host)


def _is_numeric(host: Any) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
        return True
    except ValueError:
        return False


def _guarded_lookup(name: str) -> Callable[..., Any]:
    real = _REAL_LOOKUPS[name]

    @functools.wraps(real)
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if _restricted() and not _lookup_is_local(name, host, args):
            raise NetworkLookupBlockedError(
                f"A test tried to resolve {host!r} with socket.{name}(): only loopback "
                "names are allowed (mark the test enable_socket if it really needs DNS)."
            )
        return real(host, *args, **kwargs)

    guarded.__commhub_guard__ = True  # type: ignore[attr-defined]
    return guarded


_GUARDED_LOOKUPS = {name: _guarded_lookup(name) for name in _REAL_LOOKUPS}


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _restricted():
        return _REAL_CONNECT_EX(self, address)
    # Route through pytest-socket's guarded connect(); keep connect_ex's errno contract.
    try:
        socket.socket.connect(self, address)
    except OSError as exc:
        return exc.errno if exc.errno is not None else errno.EAGAIN
    return 0


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    address = args[-1] if args else None
    if _restricted() and not _is_loopback_address(address):
        self.close()
        raise pytest_socket.SocketConnectBlockedError(["loopback"], str(address))
    return _REAL_SENDTO(self, data, *args)


def _install_network_guard() -> None:
    for name, guarded in _GUARDED_LOOKUPS.items():
        current = getattr(socket, name)
        # pytest-socket's own disable_socket() guards are stricter: leave those in place.
        if current is _REAL_LOOKUPS[name]:
            setattr(socket, name, guarded)
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]


def _remove_network_guard() -> None:
    for name, real in _REAL_LOOKUPS.items():
        setattr(socket, name, real)
    socket.socket.connect_ex = _REAL_CONNECT_EX  # type: ignore[method-assign]
    socket.socket.sendto = _REAL_SENDTO  # type: ignore[method-assign]


# --------------------------------------------------------------------------- hooks

_SESSION_DIRS: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_keyring: use the platform keyring backend instead of keyring.backends.fail",
    )
    base = Path(tempfile.mkdtemp(prefix="commhub-test-home-"))
    _SESSION_DIRS.append(base)
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
    ):
        (base / sub).mkdir()
        os.environ[var] = str(base / sub)
    os.environ["COMMHUB_DATA_DIR"] = str(base / "commhub-data")  # outside tests, too
    _install_network_guard()


def pytest_unconfigure(config: pytest.Config) -> None:
    _remove_network_guard()
    for d in _SESSION_DIRS:
        shutil.rmtree(d, ignore_errors=True)
    _SESSION_DIRS.clear()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # pytest-socket's teardown restores the socket module's lookups to the originals:
    # re-arm ours (this hook runs before pytest-socket's, which may then tighten further).
    _install_network_guard()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _isolated_env(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Per-test data dir, offscreen Qt and (unless opted in) the failing keyring backend."""
    monkeypatch.setenv("COMMHUB_DATA_DIR", str(tmp_path_factory.mktemp("commhub-data")))
    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("COMMHUB_TEST_QT_PLATFORM") or "offscreen")
    real_keyring = request.node.get_closest_marker("real_keyring") is not None
    if real_keyring:
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    else:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL_KEYRING)
    try:
        import keyring.backends.fail
        import keyring.core
    except ImportError:  # pragma: no cover - keyring is a runtime dependency
        pass
    else:
        # keyring caches its backend on first use: make the choice per test, restore after.
        monkeypatch.setattr(
            keyring.core,
            "_keyring_backend",
            None if real_keyring else keyring.backends.fail.Keyring(),
        )
    yield
