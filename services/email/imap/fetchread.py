"""A lean reader for one UID FETCH command's response on an imaplib connection.

imaplib reads a response line by line through several regular expressions and
bookkeeping calls per line; for a header sync (a thousand ``* n FETCH (... {size}``
lines and their literals per command) that costs more than the server takes to send
them.  :func:`run_fetch` sends the command with imaplib's own tag and reads the
answer with two buffered reads per message, producing exactly what imaplib's
``_command_complete`` + ``_untagged_response("FETCH")`` would: a list of ``bytes``
lines and ``(line, literal)`` pairs for the FETCH responses.  Every other untagged
response (EXISTS, EXPUNGE, VANISHED, ...) goes into ``untagged_responses`` through
imaplib's own ``_append_untagged``; BYE aborts as with imaplib.
"""

from __future__ import annotations

import imaplib
import re
from typing import Any

__all__ = ["MAX_LITERAL", "run_fetch"]

#: The largest literal read (a server announcing more is refused before anything is
#: allocated: a hostile ``{99999999999}`` must not take the memory with it).
MAX_LITERAL = 512 * 1024 * 1024

_LITERAL = re.compile(rb".*\{(\d+)\}\Z", re.S)
_STATUS = re.compile(rb"\* (\d+) ([A-Z-]+)(?: (.*))?\Z", re.S)
_RESPONSE = re.compile(rb"\* ([A-Z-]+)(?: (.*))?\Z", re.S)


def _line(imap: Any) -> bytes:
    line: bytes = imap.readline()
    if not line:
        raise imaplib.IMAP4.abort("socket error: EOF")
    if not line.endswith(b"\r\n"):
        raise imaplib.IMAP4.abort(f"socket error: unterminated line: {line[:80]!r}")
    return line[:-2]


def run_fetch(imap: Any, args: str) -> tuple[str, list[Any]]:
    """Send ``UID FETCH <args>`` on ``imap`` (an ``imaplib.IMAP4``, authenticated and
    with a folder selected) and read its whole answer: ``(status, fetch data)`` where
    status is ``"OK"``, ``"NO"`` or ``"BAD"`` (the completion text is the last element
    of the data for anything but OK)."""
    tag: bytes = imap._new_tag()
    try:
        for typ in ("OK", "NO", "BAD"):
            imap.untagged_responses.pop(typ, None)
        imap.send(tag + b" UID FETCH " + args.encode("ascii") + b"\r\n")
        return _read(imap, tag)
    finally:
        imap.tagged_commands.pop(tag, None)


def _read(imap: Any, tag: bytes) -> tuple[str, list[Any]]:
    data: list[Any] = list(imap.untagged_responses.pop("FETCH", []))
    append = data.append
    prefix = tag + b" "
    while True:
        line = _line(imap)
        if line.startswith(prefix):
            status, _, text = line[len(prefix):].partition(b" ")
            word = status.decode("ascii", "replace").upper()
            if word not in ("OK", "NO", "BAD"):
                raise imaplib.IMAP4.abort(f"unexpected tagged response: {line[:80]!r}")
            return word, data if word == "OK" else [*data, text]
        m = _STATUS.match(line)
        if m is not None:
            typ = m.group(2).decode("ascii")
            dat = m.group(1) + (b" " + m.group(3) if m.group(3) else b"")
        else:
            m = _RESPONSE.match(line)
            if m is None:
                raise imaplib.IMAP4.abort(f"unexpected response: {line[:80]!r}")
            typ = m.group(1).decode("ascii")
            dat = m.group(2) or b""
        if typ == "BYE":
            raise imaplib.IMAP4.abort(dat.decode("ascii", "replace"))
        store = append if typ == "FETCH" else (lambda item, t=typ: imap._append_untagged(t, item))
        while dat.endswith(b"}") and (lit := _LITERAL.match(dat)) is not None:
            size = int(lit.group(1))
            if size > MAX_LITERAL:
                raise imaplib.IMAP4.abort(
                    f"the server announced a {size:,}-byte literal (the limit is "
                    f"{MAX_LITERAL:,}): {dat[:80]!r}")
            literal = imap.read(size)
            if len(literal) != size:
                raise imaplib.IMAP4.abort("socket error: EOF inside a literal")
            store((dat, literal))
            dat = _line(imap)
        store(dat)
