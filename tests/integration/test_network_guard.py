"""The test suite may talk to loopback only: everything else fails before any packet leaves.

Every blocked attempt below is stopped inside Python (pytest-socket's guard or the lookup
guard in tests/conftest.py) before a real connect/DNS query happens.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import urllib.request

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError

# Guard errors warn as they are built; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to:UserWarning")

UNROUTABLE = "10.255.255.1"  # private, unroutable: never reached because the guard fires first


@pytest.fixture
def loopback_listener() -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    yield srv
    srv.close()


def test_loopback_connect_is_allowed(loopback_listener: socket.socket) -> None:
    port = loopback_listener.getsockname()[1]
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection((host, port), timeout=2) as conn:
            peer, _ = loopback_listener.accept()
            peer.close()
            assert conn.getpeername()[0] == "127.0.0.1"


def test_ipv6_loopback_is_allowed() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with srv:
        srv.listen(1)
        with socket.create_connection(("::1", srv.getsockname()[1]), timeout=2) as conn:
            assert conn.getpeername()[0] == "::1"


def test_connect_to_other_address_is_blocked() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(SocketConnectBlockedError, match=UNROUTABLE):
        s.connect((UNROUTABLE, 80))
    s.close()
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection((UNROUTABLE, 443), timeout=1)


def test_connect_ex_is_blocked() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s,
        pytest.raises(SocketConnectBlockedError),
    ):
        s.connect_ex((UNROUTABLE, 80))


def test_udp_sendto_other_address_is_blocked() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
        pytest.raises(SocketConnectBlockedError),
    ):
        s.sendto(b"x", (UNROUTABLE, 53))


def test_udp_sendto_loopback_is_allowed() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        tx.sendto(b"ping", rx.getsockname())
        assert rx.recvfrom(16)[0] == b"ping"


@pytest.mark.parametrize(
    ("func", "arg"),
    [
        (socket.getaddrinfo, ("example.com", 443)),
        (socket.gethostbyname, ("example.com",)),
        (socket.gethostbyname_ex, ("pypi.org",)),
        (socket.gethostbyaddr, ("8.8.8.8",)),
    ],
    ids=["getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"],
)
def test_resolving_public_names_is_blocked(func: object, arg: tuple[object, ...]) -> None:
    # Look the function up at call time: the guard is installed on the socket module.
    name = func.__name__  # type: ignore[attr-defined]
    with pytest.raises(SocketBlockedError, match="resolve"):
        getattr(socket, name)(*arg)


def test_loopback_names_still_resolve() -> None:
    addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", 25, type=socket.SOCK_STREAM)}
    assert addrs & {"127.0.0.1", "::1"}
    assert socket.gethostbyname("127.0.0.1") == "127.0.0.1"
    assert socket.getaddrinfo(None, 0, flags=socket.AI_PASSIVE)


async def test_asyncio_connections_are_blocked() -> None:
    with pytest.raises(SocketBlockedError):  # DNS, via the loop's executor
        await asyncio.open_connection("example.com", 80)
    with pytest.raises(SocketConnectBlockedError):
        await asyncio.open_connection(UNROUTABLE, 80)


def test_library_clients_are_blocked() -> None:
    with pytest.raises(SocketBlockedError):
        smtplib.SMTP("smtp.example.com", 587, local_hostname="localhost", timeout=1)
    with pytest.raises((SocketBlockedError, OSError)) as info:
        urllib.request.urlopen("https://example.com/", timeout=1)
    # urllib wraps errors in URLError(OSError): make sure the guard is the cause.
    cause = getattr(info.value, "reason", info.value)
    assert isinstance(cause, SocketBlockedError)
