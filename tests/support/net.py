"""Small loopback networking helpers shared by the test servers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct TCP ports that were free on ``host`` a moment ago.

    All sockets are held open until every port is chosen, so the ports are distinct.
    (Another process may still grab one before the server binds it; servers retry.)
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if a TCP connection to ``host:port`` succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_ports(
    host: str,
    ports: list[int],
    timeout: float = 15.0,
    *,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Block until every port accepts connections.

    Raises ``TimeoutError`` after ``timeout`` seconds, or ``RuntimeError`` as soon as
    ``alive()`` turns false (the server process died: no point in waiting).
    """
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if not alive():
            raise RuntimeError(f"server exited before listening on {host}:{pending}")
        pending = [p for p in pending if not port_accepts(host, p)]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{pending} after {timeout:.0f} s")
        time.sleep(0.02)
