"""Keep secrets out of logs and crash reports.

:func:`redact` replaces what looks like a credential in free text: ``password=…``,
``"token": "…"`` (JSON and Python reprs), ``Authorization: Bearer …``, SASL XOAUTH2 and
AUTH PLAIN/LOGIN blobs, PEM private keys, and known key formats (AWS, GitHub, Slack,
Google).  :class:`RedactingFilter` applies it to every log record (message, arguments,
exception and stack text) before a handler writes it; the app installs it on its handlers.

It is a last line of defence: code should not log secrets in the first place.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactingFilter", "redact"]

REDACTED = "[redacted]"

_KEYS = (r"pass(?:word|wd)?|secret|client_secret|token|access_token|refresh_token|id_token"
         r"|api[_-]?key|apikey|auth(?:orization)?|credentials?|private[_-]?key|session[_-]?key")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, whole blocks
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
                re.S), REDACTED),
    # HTTP and SASL: "Authorization: Bearer x", "Bearer x", "Basic x"
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.I), rf"\1 {REDACTED}"),
    # IMAP/SMTP AUTHENTICATE/AUTH with an initial response (XOAUTH2, PLAIN, LOGIN)
    (re.compile(r"\b(AUTH(?:ENTICATE)?\s+(?:XOAUTH2|OAUTHBEARER|PLAIN|LOGIN))\s+\S+", re.I),
     rf"\1 {REDACTED}"),
    # the IMAP command "LOGIN user password" (upper case: prose such as "login refused"
    # stays readable)
    (re.compile(r"\b(LOGIN\s+\S+)\s+(\"(?:[^\"\\]|\\.)*\"|\S+)"), rf"\1 {REDACTED}"),
    # JSON / repr: "password": "x"  'token': 'x'
    (re.compile(rf"""(["'](?:{_KEYS})["']\s*:\s*)(["'])(?:(?!\2).)*\2""", re.I),
     rf"\1\2{REDACTED}\2"),
    # key=value and key: value in text, query strings, form bodies
    (re.compile(rf"""\b((?:{_KEYS}))(\s*[=:]\s*)(?!\[redacted\])("[^"]*"|'[^']*'|[^\s&,;'"]+)""",
                re.I), rf"\1\2{REDACTED}"),
    # well-known key shapes, wherever they appear
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), REDACTED),
    (re.compile(r"\bya29\.[0-9A-Za-z_.-]{20,}"), REDACTED),
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts each record in place (message with its arguments, exception, stack)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, readable
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # the redacted text is what gets written
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
