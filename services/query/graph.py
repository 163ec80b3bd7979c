"""Tree → Microsoft Graph ``/messages`` query: ``$filter`` (OData) or ``$search`` (KQL).

Graph does not combine ``$search`` with ``$filter`` on messages, so each query
uses one of them.  **Rule**: both are compiled; the one that expresses the whole
tree wins (``$filter`` first); otherwise the one with the higher selectivity
score wins, ties going to ``$search``.  Score per top-level condition:
Message-ID 100, complete from-address 20, other text 10, OR/NOT group 5, date 3,
anything else 1.  What the chosen side cannot express is in the residual.

``$filter``: ``isRead``, ``flag/flagStatus``, ``isDraft``, ``hasAttachments``,
``receivedDateTime ge/lt``, ``importance``, ``internetMessageId``.  (A complete
address is not sent as ``from/emailAddress/address eq``: locally ``from:bob@x.com``
is the token phrase ``bob x com``, which ``bob@x.com.au`` also matches, so ``eq``
would not be a superset.)  ``$search``: KQL words,
phrases and ``from: recipients: cc: bcc: subject: body: attachment:
participants: hasattachment: importance: size``.  Top-level ``folder:`` becomes
:attr:`GraphQuery.folder` (``/me/mailFolders/{id}/messages``).  Like Gmail,
Graph's word search is accepted as the server form of a text term (it
matches whole words and word prefixes like the local semantics, with its own
tokenizer and stemming).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from services.models import Flag, Priority
from services.query.ast import (
    All,
    And,
    DateRange,
    FlagIs,
    HasAttachment,
    Node,
    Not,
    Or,
    PriorityIs,
    SizeRange,
    Term,
    TextField,
    and_,
)
from services.query.compiled import Compiled, LeafPlan, folder_scope, split, split_folders
from services.query.evaluate import is_full_address

__all__ = ["GraphQuery", "odata_quote", "to_graph"]

_FILTER_FLAGS = {Flag.SEEN: "isRead", Flag.DRAFT: "isDraft"}
_IMPORTANCE = {Priority.HIGH: "high", Priority.NORMAL: "normal", Priority.LOW: "low"}
_KQL_PROPS = {
    TextField.ANY: "",
    TextField.FROM: "from:",
    TextField.TO: "recipients:",
    TextField.CC: "cc:",
    TextField.BCC: "bcc:",
    TextField.SUBJECT: "subject:",
    TextField.BODY: "body:",
    TextField.ATTACHMENT: "attachment:",
    TextField.CONTACT: "participants:",
}
_SAFE = re.compile(r"[\w@.+'][\w@.+'\-]*\*?")
_WORD = re.compile(r"[^\W_]+")
_KQL_OPS = frozenset({"AND", "OR", "NOT", "NEAR"})


@dataclass(frozen=True, slots=True)
class GraphQuery:
    """``filter``: OData ``$filter``; ``search``: KQL for ``$search`` (unquoted);
    ``folder``: the mail folder to list (``None`` = all messages)."""

    filter: str | None = None
    search: str | None = None
    folder: str | None = None

    def params(self) -> dict[str, str]:
        """Query parameters for ``GET .../messages`` (``$search`` wrapped in quotes)."""
        out: dict[str, str] = {}
        if self.filter:
            out["$filter"] = self.filter
        if self.search:
            out["$search"] = '"' + self.search.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return out


def odata_quote(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _odata_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- $filter ----------------------------------------------------------------------------
def _filter_rule(node: Node) -> LeafPlan:
    no = "Graph $filter cannot express this"
    if isinstance(node, Term):
        if node.field is TextField.MESSAGE_ID:
            return LeafPlan(node, True)
        if node.field in _KQL_PROPS:
            return LeafPlan(None, False, "text search needs $search, not combinable with $filter")
        return LeafPlan(None, False, f"Graph cannot filter by {node.field.value} here")
    if isinstance(node, FlagIs):
        ok = node.flag in _FILTER_FLAGS or node.flag is Flag.FLAGGED
        return LeafPlan(node, True) if ok else LeafPlan(None, False, no)
    if isinstance(node, HasAttachment | PriorityIs | DateRange):
        return LeafPlan(node, True)
    return LeafPlan(None, False, no)


def _filter_leaf(node: Node, negate: bool = False) -> str:
    match node:
        case Term(field=TextField.MESSAGE_ID, value=v):
            text = f"internetMessageId eq {odata_quote('<' + v + '>')}"
        case FlagIs(flag=Flag.FLAGGED, value=v):
            op = "eq" if v != negate else "ne"
            return f"flag/flagStatus {op} 'flagged'"
        case FlagIs(flag=f, value=v):
            return f"{_FILTER_FLAGS[f]} eq {str(v != negate).lower()}"
        case HasAttachment():
            return f"hasAttachments eq {str(not negate).lower()}"
        case PriorityIs(priority=p):
            text = f"importance eq '{_IMPORTANCE[p]}'"
        case DateRange(after=a, before=b):
            parts = ([f"receivedDateTime ge {_odata_time(a)}"] if a is not None else []) + (
                [f"receivedDateTime lt {_odata_time(b)}"] if b is not None else [])
            text = " and ".join(parts) if len(parts) < 2 else f"({' and '.join(parts)})"
        case _:
            raise TypeError(f"Graph $filter cannot render {node!r}")
    return f"not ({text})" if negate else text


def render_filter(node: Node) -> str:
    match node:
        case And(children=cs):
            return " and ".join(_paren(render_filter(c), c) for c in cs)
        case Or(children=cs):
            return " or ".join(_paren(render_filter(c), c) for c in cs)
        case Not(child=All()):
            return "not (isRead eq true or isRead eq false)"  # nothing
        case Not(child=c) if isinstance(c, FlagIs | HasAttachment):
            return _filter_leaf(c, negate=True)
        case Not(child=c):
            return f"not ({render_filter(c)})"
    return _filter_leaf(node)


# -- $search (KQL) ---------------------------------------------------------------------
def _search_rule(node: Node) -> LeafPlan:
    if isinstance(node, Term):
        if node.field in _KQL_PROPS:
            return LeafPlan(node, True)
        return LeafPlan(None, False, f"Graph $search cannot search by {node.field.value}")
    if isinstance(node, HasAttachment | PriorityIs | SizeRange):
        return LeafPlan(node, True)
    return LeafPlan(None, False, "needs $filter, not combinable with $search")


def _kql_term(term: Term) -> str:
    prop = _KQL_PROPS[term.field]
    if term.phrase:
        return prop + '"' + " ".join(term.value.replace('"', " ").split()) + '"'
    if _SAFE.fullmatch(term.value) and term.value.upper() not in _KQL_OPS:
        return prop + term.value
    words = [w for w in _WORD.findall(term.value) if w.upper() not in _KQL_OPS] or [
        '"' + term.value.replace('"', " ").strip() + '"']
    parts = [prop + w for w in words]
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def render_search(node: Node) -> str:
    match node:
        case And(children=cs):
            return " AND ".join(_paren(render_search(c), c) for c in cs)
        case Or(children=cs):
            return " OR ".join(_paren(render_search(c), c) for c in cs)
        case Not(child=All()):
            return "(NOT hasattachment:true AND NOT hasattachment:false)"  # nothing
        case Not(child=c):
            return f"NOT {_paren(render_search(c), c)}"
        case Term():
            return _kql_term(node)
        case HasAttachment():
            return "hasattachment:true"
        case PriorityIs(priority=p):
            return f"importance:{_IMPORTANCE[p]}"
        case SizeRange(larger=lo, smaller=hi):
            parts = ([f"size>{lo}"] if lo is not None else []) + (
                [f"size<{hi}"] if hi is not None else [])
            return " AND ".join(parts) if len(parts) < 2 else f"({' AND '.join(parts)})"
    raise TypeError(f"Graph $search cannot render {node!r}")


def _paren(text: str, node: Node) -> str:
    return f"({text})" if isinstance(node, And | Or) else text


# -- choosing ---------------------------------------------------------------------------
def _score(node: Node) -> int:
    total = 0
    for c in node.children if isinstance(node, And) else (node,):
        if isinstance(c, Term):
            total += 100 if c.field is TextField.MESSAGE_ID else (
                20 if is_full_address(c.value) else 10)
        elif isinstance(c, Or | Not):
            total += 5
        elif isinstance(c, DateRange):
            total += 3
        elif not isinstance(c, All):
            total += 1
    return total


def to_graph(node: Node) -> Compiled[GraphQuery]:
    """Compile ``node`` for Graph ``GET /me/messages`` (see the module docstring)."""
    folders, rest = split_folders(node)
    if folders is not None and len(folders) != 1:
        folders, rest = None, node
    folder = folders[0] if folders else None
    by_filter = split(rest, _filter_rule)
    by_search = split(rest, _search_rule)
    if by_filter.residual is None:
        use_search = False
    elif by_search.residual is None:
        use_search = True
    else:
        use_search = _score(by_search.server) >= _score(by_filter.server)
    chosen = by_search if use_search else by_filter
    server = chosen.server
    text = None if isinstance(server, All) else (
        render_search(server) if use_search else render_filter(server))
    query = GraphQuery(filter=None if use_search else text,
                       search=text if use_search else None, folder=folder)
    return Compiled(query, chosen.residual, chosen.unsupported,
                    and_(folder_scope(folders), server))
