"""Transport policy shared by the IMAP and SMTP settings.

Plaintext (no TLS) is refused for any host that is not this machine unless the user sets
``allow_plaintext=True``: the password and the mail would cross a network unencrypted.  A
loopback host (``localhost``, 127.0.0.0/8, ``::1``) never leaves the machine, so a local
bridge or relay there may speak plaintext without the flag.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "plaintext_allowed"]


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plaintext_allowed(host: str, allow_plaintext: bool) -> bool:
    return allow_plaintext is True or is_loopback(host)
