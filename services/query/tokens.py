"""Tokenising text the way the store's SQLite FTS5 index does.

The store indexes with ``tokenize = 'unicode61 remove_diacritics 2'``; the local
evaluator (:mod:`services.query.evaluate`) must cut text into the *same* tokens
so that a query means the same thing locally, in the store and (as far as the
servers allow) remotely.  The rule, checked against SQLite in
``tests/unit/query/test_query_tokens.py``:

* a token is a run of Unicode letters, digits (categories ``L*``, ``N*``) and
  private-use characters (``Co``); everything else separates tokens
  (``alice@example.com`` → ``alice`` ``example`` ``com``; ``x_y`` → ``x`` ``y``);
* tokens are case-folded one character to one character (``ß`` stays ``ß``,
  ``ς`` becomes ``σ``, ``İ`` becomes ``i``);
* diacritics are removed from Latin letters (``é`` → ``e``, ``ǖ`` → ``u``,
  ``ế`` → ``e``); the combining marks FTS5 knows as diacritics (U+0300 acute,
  grave, ...) vanish inside a token, other combining marks separate; letters
  of other scripts keep their marks (``ά``, ``й``).

Characters newer than SQLite's Unicode tables may be classified differently by
SQLite (it treats code points it does not know as token characters).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

__all__ = ["tokens"]

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
#: Combining marks FTS5's remove_diacritics drops (the others separate tokens).
_DIACRITICS = frozenset(chain(
    range(0x300, 0x305), range(0x306, 0x30D), (0x30F, 0x311, 0x31B), range(0x323, 0x329),
    (0x32D, 0x32E, 0x330, 0x331),
))
#: Latin letters with diacritics that FTS5 leaves alone (ǡ ǣ ǯ ǽ ǿ and capitals).
_KEEP = frozenset({0x1E0, 0x1E1, 0x1E2, 0x1E3, 0x1EE, 0x1EF, 0x1FC, 0x1FD, 0x1FE, 0x1FF})


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str | None:
    """The folded form of one character: ``None`` separates, ``""`` vanishes."""
    code = ord(ch)
    if code < 128:
        return ch.lower() if ch.isalnum() else None
    if code in _DIACRITICS:
        return ""
    category = unicodedata.category(ch)
    if category == "Cn":  # unassigned: SQLite treats what it does not know as a letter
        return ch
    if category[0] not in "LN" and category != "Co":
        return None
    folded = ch.casefold()
    if len(folded) != 1:  # full folding (ß → ss): FTS5 folds one to one
        lower = ch.lower()
        folded = lower if len(lower) == 1 else folded
    latin = code < 0x250 or 0x1E00 <= code <= 0x1EFF
    if latin and code not in _KEEP:
        decomposed = unicodedata.normalize("NFD", folded)
        if len(decomposed) > 1 and all(0x300 <= ord(m) < 0x370 for m in decomposed[1:]):
            folded = decomposed[0]
    return folded


def tokens(text: str) -> list[str]:
    """The FTS5 tokens of ``text`` (see the module docstring)."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text.lower())
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        folded = _fold(ch)
        if folded is None:
            if current:
                out.append("".join(current))
                current = []
        elif folded:
            current.append(folded)
    if current:
        out.append("".join(current))
    return out
