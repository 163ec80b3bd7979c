"""Recipients as the builder accepts them (str, Address, Contact, lists) → checked Addresses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses
from typing import TypeAlias

from services.errors import AddressError
from services.models import Address, Contact

__all__ = ["RecipientLike", "check_address", "to_addresses"]

RecipientLike: TypeAlias = "str | Address | Contact | Iterable[str | Address | Contact]"

_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LOCAL = rf'(?:{_ATOM}(?:\.{_ATOM})*|"[^"\\\r\n]*")'
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
_ADDR = re.compile(rf"{_LOCAL}@{_DOMAIN}")


def check_address(address: str) -> str:
    """``address`` stripped, or :class:`AddressError` if it is not an e-mail address."""
    text = address.strip()
    if not _ADDR.fullmatch(text) or len(text) > 254:
        raise AddressError(f"not an e-mail address: {address!r}")
    return text


def _one(item: str | Address | Contact) -> list[Address]:
    if isinstance(item, Address):
        return [Address(check_address(item.address), item.name)]
    if isinstance(item, Contact):
        if not item.email:
            raise AddressError(f"contact {item.name or item.phone or '?'!r} has no e-mail address")
        return [Address(check_address(item.email), item.name)]
    if not isinstance(item, str):
        raise AddressError(f"not a recipient: {item!r} (use a str, Address or Contact)")
    if "\r" in item or "\n" in item:
        raise AddressError(f"line breaks in a recipient: {item!r}")
    pairs = [(n, a) for n, a in getaddresses([item]) if n or a]
    if not pairs:
        raise AddressError(f"not an e-mail address: {item!r}")
    if len(pairs) == 1 and not pairs[0][1]:
        raise AddressError(f"not an e-mail address: {item!r}")
    return [Address(check_address(a), n) for n, a in pairs]


def to_addresses(value: RecipientLike) -> list[Address]:
    """Every address in ``value``: a str may hold several (``"a@x, B <b@y>"``)."""
    if isinstance(value, str | Address | Contact):
        return _one(value)
    out: list[Address] = []
    for item in value:
        out.extend(_one(item))
    return out
