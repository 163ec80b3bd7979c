"""OData query evaluation for the Graph fake: ``$filter``, ``$search`` (KQL), ``$select``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .wire import HttpError


def _select(item: dict[str, Any], select: str | None, keep: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    if not select:
        return item
    wanted = {s.strip() for s in select.split(",")} | {"id", "@odata.etag", *keep}
    return {k: v for k, v in item.items() if k in wanted}


def _unquote_search(value: str) -> str:
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
        return re.sub(r'\\(["\\])', r"\1", text)
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _phrase_match(needle: list[str], hay: list[str], prefix_last: bool = True) -> bool:
    """Every needle token in sequence; tokens match as prefixes (Graph's word search)."""
    if not needle:
        return False
    for i in range(len(hay) - len(needle) + 1):
        if all(hay[i + j].startswith(n) for j, n in enumerate(needle)):
            return True
    return False


Pred = Callable[[dict[str, Any]], bool]


class ODataFilter:
    """``$filter`` subset: comparisons (eq ne gt ge lt le) on paths like ``flag/flagStatus``,
    literals (strings, true/false, numbers, datetimes), ``and``/``or``/``not``, parentheses."""

    TOKEN = re.compile(r"\s*(?:(\()|(\))|('(?:[^']|'')*')|([A-Za-z_][\w/]*)|"
                       r"(\d{4}-\d\d-\d\dT[\d:.]+Z?)|(-?\d+(?:\.\d+)?))")

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise HttpError(400, "BadRequest", f"Invalid filter clause at {pos}: {text!r}")
            pos = m.end()
            lp, rp, string, ident, stamp, number = m.groups()
            if lp or rp:
                self.tokens.append(("p", lp or rp))
            elif string is not None:
                self.tokens.append(("v", string[1:-1].replace("''", "'")))
            elif stamp:
                self.tokens.append(("v", datetime.fromisoformat(stamp.replace("Z", "+00:00"))))
            elif number:
                self.tokens.append(("v", float(number)))
            elif ident in ("true", "false"):
                self.tokens.append(("v", ident == "true"))
            else:
                self.tokens.append(("i", ident))
        self.i = 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> tuple[str, Any]:
        tok = self._peek()
        if tok is None:
            raise HttpError(400, "BadRequest", "Invalid filter clause: unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Pred:
        pred = self._or()
        if self._peek() is not None:
            raise HttpError(400, "BadRequest", f"Invalid filter clause near {self._peek()}")
        return pred

    def _or(self) -> Pred:
        parts = [self._and()]
        while self._peek() == ("i", "or"):
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda m: any(p(m) for p in parts))

    def _and(self) -> Pred:
        parts = [self._unary()]
        while self._peek() == ("i", "and"):
            self.i += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda m: all(p(m) for p in parts))

    def _unary(self) -> Pred:
        tok = self._take()
        if tok == ("i", "not"):
            inner = self._unary()
            return lambda m: not inner(m)
        if tok == ("p", "("):
            inner = self._or()
            if self._take() != ("p", ")"):
                raise HttpError(400, "BadRequest", "Invalid filter clause: missing )")
            return inner
        if tok[0] != "i":
            raise HttpError(400, "BadRequest", f"Invalid filter clause at {tok}")
        path = tok[1]
        op = self._take()
        value = self._take()
        if op[0] != "i" or op[1] not in ("eq", "ne", "gt", "ge", "lt", "le") or value[0] != "v":
            raise HttpError(400, "BadRequest", f"Invalid filter clause near {path}")
        return _compare(path, op[1], value[1])


def _lookup(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _compare(path: str, op: str, want: Any) -> Pred:
    def pred(item: dict[str, Any]) -> bool:
        have = _lookup(item, path)
        if isinstance(have, str) and isinstance(want, str):
            a, b = have.casefold(), want.casefold()
        else:
            a, b = have, want
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if a is None:
            return False
        return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op])

    return pred


class KqlSearch:
    """``$search`` subset: words (prefix match), ``"phrases"``, ``prop:value`` for from,
    to/recipients, cc, bcc, subject, body, attachment, participants, hasattachment,
    importance; ``size>N``/``size<N``; AND (or juxtaposition), OR, NOT, parentheses."""

    TOKEN = re.compile(r'\s*(?:(\()|(\))|([A-Za-z]+)(:|>=|<=|>|<)("(?:[^"])*"|[^\s()]+)|'
                       r'("(?:[^"])*")|([^\s()"]+))')

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise HttpError(400, "BadRequest", f"Syntax error in $search at {pos}: {text!r}")
            pos = m.end()
            lp, rp, prop, op, pval, phrase, word = m.groups()
            if lp or rp:
                self.tokens.append(("p", lp or rp))
            elif prop:
                self.tokens.append(("t", (prop.lower(), op, pval.strip('"'))))
            elif phrase:
                self.tokens.append(("t", ("", ":", phrase.strip('"'))))
            elif word in ("AND", "OR", "NOT"):
                self.tokens.append(("o", word))
            else:
                self.tokens.append(("t", ("", ":", word)))
        self.i = 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Pred:
        pred = self._or()
        if self._peek() is not None:
            raise HttpError(400, "BadRequest", f"Syntax error in $search near {self._peek()}")
        return pred

    def _or(self) -> Pred:
        parts = [self._and()]
        while self._peek() == ("o", "OR"):
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda m: any(p(m) for p in parts))

    def _and(self) -> Pred:
        parts = [self._unary()]
        while True:
            tok = self._peek()
            if tok == ("o", "AND"):
                self.i += 1
            elif tok is None or tok in (("o", "OR"), ("p", ")")):
                break
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda m: all(p(m) for p in parts))

    def _unary(self) -> Pred:
        tok = self._peek()
        if tok is None:
            raise HttpError(400, "BadRequest", "Syntax error in $search: unexpected end")
        self.i += 1
        if tok == ("o", "NOT"):
            inner = self._unary()
            return lambda m: not inner(m)
        if tok == ("p", "("):
            inner = self._or()
            if self._peek() != ("p", ")"):
                raise HttpError(400, "BadRequest", "Syntax error in $search: missing )")
            self.i += 1
            return inner
        if tok[0] != "t":
            raise HttpError(400, "BadRequest", f"Syntax error in $search near {tok}")
        return _kql_term(*tok[1])


def _party(item: dict[str, Any], *keys: str) -> str:
    out: list[str] = []
    for key in keys:
        values = item.get(key)
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                e = v.get("emailAddress") or {}
                out += [str(e.get("name") or ""), str(e.get("address") or "")]
    return " ".join(out)


def _kql_term(prop: str, op: str, value: str) -> Pred:
    def text(item: dict[str, Any]) -> str:
        body = (item.get("body") or {}).get("content", "")
        atts = " ".join(str(a.get("name", "")) for a in item.get("attachments") or [])
        fields = {
            "": " ".join([item.get("subject") or "", body, _party(item, "from", "toRecipients",
                                                                 "ccRecipients",
                                                                 "bccRecipients"), atts]),
            "from": _party(item, "from"),
            "to": _party(item, "toRecipients"),
            "recipients": _party(item, "toRecipients", "ccRecipients", "bccRecipients"),
            "cc": _party(item, "ccRecipients"),
            "bcc": _party(item, "bccRecipients"),
            "participants": _party(item, "from", "toRecipients", "ccRecipients",
                                   "bccRecipients"),
            "subject": item.get("subject") or "",
            "body": body,
            "attachment": atts,
        }
        if prop not in fields:
            raise HttpError(400, "BadRequest", f"unsupported $search property {prop!r}")
        return str(fields[prop])

    if prop == "hasattachment":
        return lambda m: bool(m.get("hasAttachments")) == (value.lower() == "true")
    if prop == "importance":
        return lambda m: str(m.get("importance", "")).lower() == value.lower()
    if prop == "size":
        limit = int(value)
        cmp = {">": lambda s: s > limit, "<": lambda s: s < limit,
               ">=": lambda s: s >= limit, "<=": lambda s: s <= limit}[op]
        return lambda m: cmp(len(json.dumps(m)))
    needle = _words(value.rstrip("*"))
    return lambda m: _phrase_match(needle, _words(text(m)))
