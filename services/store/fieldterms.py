"""Per-field terms for the ``fields`` column of the full-text index.

FTS5 column filters (``{sender} : bob``) read the whole doclist of ``bob`` (every
column of every message) and keep the hits in the column.  So that a field search
reads only that field's hits, the ``fields`` column holds the sender, recipient
(to, cc, bcc), subject and attachment-name texts once more with every token
prefixed by a private-use character, one per field (``Bob <bob@x.org>`` as the
sender: ``\\ue001Bob <\\ue001bob@\\ue001x.\\ue001org>``).  unicode61 treats
private-use characters (``Co``) as token characters that fold to themselves, so
each FTS5 token ``t`` of the field becomes the token ``P + t`` — the same cut, the
same case folding and diacritic removal — and ``from:bob`` is ``fields : "\\ue001bob"``
(``services.store.search``).

Exactness: the prefix goes exactly where SQLite starts a token, found with SQLite's
own classification of each character (asked of the running library, a block of
code points at a time, cached): a *start* character (letter, digit, private use —
what unicode61 calls alphanumeric) begins a token after a separator; a *continue*
character (those, or a diacritic) extends one.  Each field's tokens are contiguous
in the column and only they carry its prefix, so a phrase of prefixed tokens
matches exactly where the phrase matches in the field's own column.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache

__all__ = [
    "ANY_COLUMNS",
    "ATT_NAMES",
    "FIELDS_COLUMN",
    "PREFIX_CHARS",
    "RCPT_BCC",
    "RCPT_CC",
    "RCPT_TO",
    "SENDER",
    "SUBJECT",
    "fields_text",
    "mark",
]

FIELDS_COLUMN = "fields"
#: The columns a term without a field searches (all but ``fields``).
ANY_COLUMNS = ("subject", "sender", "rcpt_to", "rcpt_cc", "rcpt_bcc", "body", "att_names",
               "att_text")

SENDER = "\ue001"
RCPT_TO = "\ue002"
RCPT_CC = "\ue003"
RCPT_BCC = "\ue004"
SUBJECT = "\ue005"
ATT_NAMES = "\ue006"
PREFIX_CHARS = frozenset((SENDER, RCPT_TO, RCPT_CC, RCPT_BCC, SUBJECT, ATT_NAMES))

#: Where an ASCII token starts (a literal replacement here runs in C, not per match)
_ASCII_START = re.compile(r"(?<![0-9A-Za-z])(?=[0-9A-Za-z])")
_SEPARATOR, _CONTINUE, _START = 0, 1, 3  # _START includes _CONTINUE's bit
_LETTER = {_SEPARATOR: "x", _CONTINUE: "c", _START: "s"}
_TOKEN = re.compile(r"s[sc]*")  # over the class letters: what unicode61 cuts
_BLOCK = 256
_classes: dict[str, int] = {chr(cp): _START if chr(cp).isalnum() else _SEPARATOR
                            for cp in range(0x80)}  # ASCII: [0-9A-Za-z] only
_letters: dict[int, str] = {ord(ch): _LETTER[cls] for ch, cls in _classes.items()}
_blocks: set[int] = set()
_lock = threading.Lock()
_conn: sqlite3.Connection | None = None


def _classify_block(base: int) -> None:
    """Ask SQLite how unicode61 classifies the code points ``base .. base+_BLOCK-1``:
    in ``q?z`` a continue character leaves one token (not ``q``); in `` ?y`` a start
    character begins the token (not ``y``)."""
    global _conn
    with _lock:
        if base in _blocks:
            return
        if _conn is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, "
                         "tokenize = 'unicode61 remove_diacritics 2')")
            conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
            _conn = conn
        conn = _conn
        points = [cp for cp in range(max(base, 0x80), base + _BLOCK)
                  if not 0xD800 <= cp < 0xE000]
        conn.execute("DELETE FROM t")
        conn.executemany("INSERT INTO t (rowid, a) VALUES (?, ?)",
                         [(cp, f"q{chr(cp)}z {chr(cp)}y") for cp in points])
        first: dict[int, str] = {}
        last: dict[int, str] = {}
        for doc, term in conn.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
            first.setdefault(int(doc), str(term))
            last[int(doc)] = str(term)
        conn.execute("DELETE FROM t")
        for cp in points:
            cls = _SEPARATOR
            if first.get(cp, "q") != "q":
                cls |= _CONTINUE
            if last.get(cp, "y") != "y":
                cls |= _START
            _classes[chr(cp)] = cls
        for cp in range(max(base, 0x80), base + _BLOCK):
            _classes.setdefault(chr(cp), _SEPARATOR)  # surrogates (never stored)
            _letters[cp] = _LETTER[_classes[chr(cp)]]
        _blocks.add(base)


def _class(ch: str) -> int:
    cls = _classes.get(ch)
    if cls is None:
        _classify_block(ord(ch) - ord(ch) % _BLOCK)
        cls = _classes[ch]
    return cls


@lru_cache(maxsize=65536)  # party texts repeat from message to message
def mark(text: str, prefix: str) -> str:
    """``text`` with ``prefix`` inserted where each of its FTS5 tokens starts."""
    if text.isascii():
        return _ASCII_START.sub(prefix, text)
    for ch in set(text):
        if ch not in _classes:
            _class(ch)
    out: list[str] = []
    done = 0
    for token in _TOKEN.finditer(text.translate(_letters)):
        start = token.start()
        out.append(text[done:start])
        out.append(prefix)
        done = start
    out.append(text[done:])
    return "".join(out)


def fields_text(subject: str, sender: str, to: str, cc: str, bcc: str, att_names: str) -> str:
    """The ``fields`` column of one message from the texts of its field columns."""
    parts = [mark(text, prefix) for text, prefix in (
        (sender, SENDER), (to, RCPT_TO), (cc, RCPT_CC), (bcc, RCPT_BCC),
        (subject, SUBJECT), (att_names, ATT_NAMES)) if text]
    return " ".join(parts)
