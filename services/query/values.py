"""Value helpers shared by the text parser and the builder.

Everything here turns user input (strings, dates, sizes) into the exact values
stored in :mod:`services.query.ast` nodes, so that ``EmailQuery().from_sender("x")``
and ``parse_query("from:x")`` build equal trees.  Errors are :class:`ValueError`
with a readable message; the builder and parser re-raise them as
:class:`~services.errors.ValidationError` / :class:`~services.errors.QuerySyntaxError`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from services.query.ast import Term, TextField

__all__ = [
    "EXACT_FIELDS",
    "DateInput",
    "format_instant",
    "make_term",
    "parse_duration",
    "parse_size",
    "to_end",
    "to_start",
    "words",
]

DateInput = str | date | datetime

#: Fields compared as a whole value (case-insensitively), never word by word.
EXACT_FIELDS = frozenset({TextField.FOLDER, TextField.ACCOUNT, TextField.MESSAGE_ID})

_WORD = re.compile(r"[^\W_]+")
_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)i?b?", re.IGNORECASE)
_DURATION = re.compile(r"(\d+)([hdwmy])", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_DURATION_DAYS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "y": 365}


def words(text: str) -> list[str]:
    """Casefolded words of ``text``: runs of letters and digits (accents kept)."""
    return _WORD.findall(text.casefold())


def make_term(field: TextField, value: str, *, quoted: bool = False) -> Term:
    """The canonical :class:`Term` for ``value`` typed into ``field``.

    Whitespace is collapsed; a quoted value of several words is a phrase (a quoted
    single word is just that word); Message-IDs lose their angle brackets.
    """
    text = " ".join(value.split())
    if field is TextField.MESSAGE_ID:
        text = text.strip("<> ")
    if not text:
        raise ValueError(f"empty value for {field.value}:")
    phrase = quoted and field not in EXACT_FIELDS and len(words(text)) > 1
    return Term(field, text, phrase)


def _parse_day_or_instant(value: DateInput) -> tuple[datetime, bool]:
    """(UTC instant, True when the input named a whole day)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC), False
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC), True
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD, a date or a datetime)")
    text = value.strip()
    m = _DAY.fullmatch(text)
    try:
        if m:
            day = date(int(m[1]), int(m[2]), int(m[3]))
            return datetime.combine(day, time(), UTC), True
        if "T" in text or " " in text:
            return _parse_day_or_instant(datetime.fromisoformat(text))
    except ValueError:
        pass
    raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or YYYY/MM/DD)")


def to_start(value: DateInput) -> datetime:
    """Inclusive lower bound: a day means its first instant (00:00 UTC)."""
    return _parse_day_or_instant(value)[0]


def to_end(value: DateInput, *, inclusive_day: bool) -> datetime:
    """Exclusive upper bound.

    With ``inclusive_day`` a day means "up to the end of that day" (next day
    00:00 UTC), as in ``date_range("2024-01-01", "2024-12-31")``; otherwise a day
    means "before that day starts", as in Gmail's ``before:``.  A datetime is
    always the exact exclusive bound.
    """
    instant, is_day = _parse_day_or_instant(value)
    return instant + timedelta(days=1) if is_day and inclusive_day else instant


def format_instant(instant: datetime) -> str:
    """``2024-01-01`` for midnight UTC, else ISO 8601 with ``Z``."""
    utc = instant.astimezone(UTC)
    if utc.time() == time():
        return utc.date().isoformat()
    return utc.replace(tzinfo=None).isoformat() + "Z"


def parse_size(value: str | int) -> int:
    """Bytes from ``1234``, ``"10M"``, ``"100K"``, ``"1.5MB"`` (binary units)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a size: {value!r} (use bytes or 10K, 10M, 1G)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must not be negative: {value}")
        return value
    m = _SIZE.fullmatch(value.strip())
    if not m:
        raise ValueError(f"not a size: {value!r} (use bytes or 10K, 10M, 1G)")
    return int(float(m[1]) * _UNITS[m[2].lower()])


def parse_duration(value: str) -> timedelta:
    """``7d``, ``2w``, ``6m`` (30 days), ``1y`` (365 days), ``12h``."""
    m = _DURATION.fullmatch(value.strip())
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 12h, 7d, 2w, 6m, 1y)")
    return timedelta(days=int(m[1]) * _DURATION_DAYS[m[2].lower()])
