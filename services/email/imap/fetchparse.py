"""A fast parser for imaplib's raw FETCH data, for the shapes a header sync sees.

imapclient's ``parse_fetch_response`` lexes byte by byte in Python and costs more than
everything else in a header sync put together.  :func:`parse_fetch` reads the usual
header-sync shape with two regular expressions, tokenises anything else with one, and
returns exactly what ``parse_fetch_response(data, False, False)`` returns (keyed by
sequence number, ``b"SEQ"`` and ``b"UID"`` in each item, digit atoms as ints, ``NIL`` as
None, INTERNALDATE as an aware datetime in the server's offset: never the machine's local
time, which a naive value would need the local zone to read back).  Anything it does
not handle itself (ENVELOPE, BODYSTRUCTURE, quoted strings with escapes, a malformed
response) is handed to imapclient's parser, so the result never differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["header_answers", "parse_fetch"]

_TOKEN = re.compile(
    rb'[ ]*(?:(\()|(\))|"([^"\\]*)"|\{(\d+)\}\Z|([^\s()"{\[\]]+(?:\[[^\]]*\](?:<\d+>)?)?)|(.))',
    re.S,
)
_OPEN, _CLOSE, _QUOTED, _LITERAL, _ATOM, _BAD = 1, 2, 3, 4, 5, 6
_INTERNALDATE = re.compile(
    rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*\Z"
)
_MONTHS = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), 1)}
_SLOW_ITEMS = frozenset((b"ENVELOPE", b"BODY", b"BODYSTRUCTURE"))
_ZONES: dict[bytes, timezone] = {}


class _Fallback(Exception):
    pass


def _value(token: bytes) -> Any:
    if token.isdigit() and (token[:1] != b"0" or len(token) == 1):
        return int(token)
    if token == b"NIL":
        return None
    return token


def _internaldate(value: object) -> datetime | None:
    if not isinstance(value, bytes):
        raise _Fallback
    m = _INTERNALDATE.match(value)
    month = _MONTHS.get(m.group(2).lower()) if m is not None else None
    if m is None or month is None:
        raise _Fallback
    zone_key = m.group(7) + m.group(8) + m.group(9)
    zone = _ZONES.get(zone_key)
    if zone is None:
        minutes = int(m.group(8)) * 60 + int(m.group(9))
        zone = timezone(timedelta(minutes=-minutes if m.group(7) == b"-" else minutes))
        if len(_ZONES) < 64:
            _ZONES[zone_key] = zone
    try:
        moment = datetime(int(m.group(3)), month, int(m.group(1)), int(m.group(4)),
                          int(m.group(5)), int(m.group(6)), tzinfo=zone)
    except ValueError:
        raise _Fallback from None
    return moment


def _finish(seq: int, items: list[Any], out: dict[int, dict[bytes, Any]]) -> None:
    if len(items) % 2:
        raise _Fallback
    msg: dict[bytes, Any] = {b"SEQ": seq}
    for i in range(0, len(items), 2):
        key = items[i]
        if not isinstance(key, bytes):
            raise _Fallback
        word = key.upper()
        value = items[i + 1]
        if word == b"INTERNALDATE":
            value = _internaldate(value)
        elif word in _SLOW_ITEMS:
            raise _Fallback
        msg[word] = value
    out.setdefault(seq, {}).update(msg)


# The usual shape of a header-sync answer, read with two matches instead of the tokeniser:
# ``12 (UID 7 FLAGS (\Seen) RFC822.SIZE 99 INTERNALDATE "..." BODY[HEADER] {1083}``, the
# literal, then ``)`` alone.
_FLAT = re.compile(
    rb'(\d+) \(((?:[A-Za-z0-9.]+ (?:\([^()"{}\[\]]*\)|"[^"\\]*"|[^\s()"{}\[\]]+) )*)'
    rb"([A-Za-z0-9.]+\[[^\]]*\](?:<\d+>)?) \{(\d+)\}\Z"
)
_PAIR = re.compile(rb'([A-Za-z0-9.]+) (\([^()"{}\[\]]*\)|"[^"\\]*"|[^\s()"{}\[\]]+) ')


def _flat(text: bytes, literal: object, out: dict[int, dict[bytes, Any]]) -> bool:
    """One ``(line, literal)`` element of the usual shape → ``out`` (False: not that shape,
    nothing done); the same values :func:`_finish` gives."""
    m = _FLAT.match(text)
    if m is None or not isinstance(literal, bytes | bytearray) \
            or len(literal) != int(m.group(4)):
        return False
    seq = int(m.group(1))
    msg: dict[bytes, Any] = {b"SEQ": seq}
    for key, token in _PAIR.findall(m.group(2)):
        word = key.upper()
        first = token[:1]
        if first == b"(":
            value: Any = tuple([_value(t) for t in token[1:-1].split()])
        elif first == b'"':
            value = token[1:-1]
        else:
            value = _value(token)
        if word == b"INTERNALDATE":
            value = _internaldate(value)
        elif word in _SLOW_ITEMS:
            raise _Fallback
        msg[word] = value
    msg[m.group(3).upper()] = bytes(literal)
    out.setdefault(seq, {}).update(msg)
    return True


def _fast(data: Sequence[Any]) -> dict[int, dict[bytes, Any]]:
    out: dict[int, dict[bytes, Any]] = {}
    stack: list[list[Any]] = []
    seq: int | None = None
    finditer = _TOKEN.finditer
    skip_close = False
    for element in data:
        if element is None:
            continue
        if skip_close:
            skip_close = False
            if element == b")":
                continue
            raise _Fallback  # the shape's closing parenthesis is missing
        if (not stack and seq is None and isinstance(element, tuple) and len(element) == 2
                and isinstance(element[0], bytes) and _flat(element[0], element[1], out)):
            skip_close = True
            continue
        literal: bytes | None = None
        if isinstance(element, tuple):
            if len(element) != 2:
                raise _Fallback
            text, literal = element
        else:
            text = element
        if not isinstance(text, bytes):
            raise _Fallback
        for m in finditer(text):
            kind = m.lastindex
            if kind is None:
                continue  # trailing spaces
            if kind == _ATOM:
                token = m.group(_ATOM)
                if stack:
                    stack[-1].append(_value(token))
                elif seq is None and token.isdigit():
                    seq = int(token)
                else:
                    raise _Fallback
            elif kind == _OPEN:
                if not stack and seq is None:
                    raise _Fallback
                stack.append([])
            elif kind == _CLOSE:
                if not stack:
                    raise _Fallback
                done = stack.pop()
                if stack:
                    stack[-1].append(tuple(done))
                else:
                    assert seq is not None
                    _finish(seq, done, out)
                    seq = None
            elif kind == _QUOTED:
                if not stack:
                    raise _Fallback
                stack[-1].append(m.group(_QUOTED))
            elif kind == _LITERAL:
                if not stack or not isinstance(literal, bytes | bytearray):
                    raise _Fallback
                if len(literal) != int(m.group(_LITERAL)):
                    raise _Fallback
                stack[-1].append(bytes(literal))
                literal = None
            else:
                raise _Fallback
        if literal is not None:
            raise _Fallback
    if stack or seq is not None or skip_close:
        raise _Fallback
    return out


# One answer of a header sync exactly as asked for (``protocol.header_items``) and as
# Dovecot, Cyrus and most servers send it: the items in the order requested.
_SYNC_ANSWER = re.compile(
    rb"(\d+) \(UID ([1-9]\d*) FLAGS \(([^()\"{}\[\]]*)\) RFC822\.SIZE (0|[1-9]\d*) "
    rb'INTERNALDATE "([^"\\]*)" BODY\[[^\]]*\] \{(\d+)\}\Z'
)

#: A header sync's answer: (UID, the FLAGS list's text, RFC822.SIZE, INTERNALDATE, header)
SyncAnswer = tuple[int, bytes, int, datetime, bytes]


def header_answers(data: Sequence[Any]) -> list[SyncAnswer] | None:
    """The answers of a header sync's FETCH when every one of them has the usual shape
    (``12 (UID 7 FLAGS (\\Seen) RFC822.SIZE 99 INTERNALDATE "..." BODY[...] {1083}``, the
    literal, ``)``) and no sequence number comes twice: one match per answer, no dict
    per message.  None for anything else (then :func:`parse_fetch` reads the data): it
    gives exactly the values ``parse_fetch`` gives for these items."""
    out: list[SyncAnswer] = []
    seqs: set[bytes] = set()
    match = _SYNC_ANSWER.match
    closing = False
    for element in data:
        if closing:
            if element != b")":
                return None
            closing = False
            continue
        if element is None:
            continue
        if type(element) is not tuple or len(element) != 2 or type(element[0]) is not bytes:
            return None
        line, literal = element
        m = match(line)
        if m is None or not isinstance(literal, bytes | bytearray) \
                or len(literal) != int(m.group(6)) or m.group(1) in seqs:
            return None
        seqs.add(m.group(1))
        try:
            when = _internaldate(m.group(5))
        except _Fallback:
            return None
        assert when is not None
        out.append((int(m.group(2)), m.group(3), int(m.group(4)), when, bytes(literal)))
        closing = True
    return None if closing else out


def parse_fetch(data: Sequence[Any]) -> dict[int, dict[bytes, Any]]:
    """imaplib FETCH data → ``{seq: {b"SEQ": seq, b"UID": uid, b"FLAGS": (...), ...}}``,
    as ``imapclient.response_parser.parse_fetch_response(data, False, False)``."""
    try:
        return _fast(data)
    except _Fallback:
        from imapclient.response_parser import parse_fetch_response

        return dict(parse_fetch_response(list(data), False, False))
