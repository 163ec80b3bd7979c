"""What a compiler produces, and the generic split every compiler uses.

A compiler turns a tree into a server query that selects a **superset** of the
true result; the caller filters the server's answer locally with ``residual``::

    result = [m for m in server_search(compiled.expressed)
              if compiled.residual is None or matches(compiled.residual, m)]

``expressed_node`` is the part of the tree the server query stands for, as a
tree, so that ``matches(node, m) == matches(expressed_node, m) and
matches(residual, m)`` for every message (the tests check exactly this).

Each compiler supplies a *leaf rule*: for a leaf, the tree the server can
evaluate (``None``: nothing, i.e. everything passes) and whether that is exact.
:func:`split` then walks the tree: AND keeps what each child expresses and ANDs
the residuals; an OR whose children are all exact is expressed whole, else its
children's server parts are ORed (still a superset) and the whole OR goes to the
residual; a NOT is expressed only when its child is exact, otherwise the server
side is "all" and the whole NOT goes to the residual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from services.query.ast import (
    All,
    And,
    DateRange,
    Node,
    Not,
    Or,
    SizeRange,
    Term,
    TextField,
    and_,
    or_,
)
from services.query.text import to_text

__all__ = [
    "Compiled",
    "LeafPlan",
    "LeafRule",
    "Split",
    "describe",
    "folder_scope",
    "leaves",
    "split",
    "split_folders",
]

T = TypeVar("T")
_TRIVIAL = (DateRange(), SizeRange())


@dataclass(frozen=True, slots=True)
class Compiled(Generic[T]):
    """``expressed``: the server query; ``residual``: the local filter still to apply
    (``None`` when the server expresses everything); ``unsupported``: readable
    descriptions of what was left to the residual."""

    expressed: T
    residual: Node | None
    unsupported: tuple[str, ...] = ()
    expressed_node: Node = field(default_factory=All)

    @property
    def exact(self) -> bool:
        return self.residual is None


class LeafPlan(NamedTuple):
    server: Node | None  # what the server evaluates for this leaf; None = nothing
    exact: bool  # server result == leaf result (else the leaf goes to the residual)
    reason: str = ""  # why not exact, for ``unsupported``


LeafRule = Callable[[Node], LeafPlan]


class Split(NamedTuple):
    server: Node
    residual: Node | None
    unsupported: tuple[str, ...]


def describe(node: Node) -> str:
    """Short readable text of a node for messages."""
    try:
        return to_text(node) or "everything"
    except ValueError:
        return repr(node)


def leaves(node: Node) -> list[Node]:
    """Leaf nodes of a tree, left to right."""
    if isinstance(node, And | Or):
        return [leaf for c in node.children for leaf in leaves(c)]
    if isinstance(node, Not):
        return leaves(node.child)
    return [node]


def split(node: Node, rule: LeafRule) -> Split:
    """Split ``node`` into a server part and a residual using ``rule`` for leaves."""
    notes: list[str] = []
    server, residual = _split(node, rule, notes)
    return Split(server, residual, tuple(dict.fromkeys(notes)))


def _split(node: Node, rule: LeafRule, notes: list[str]) -> tuple[Node, Node | None]:
    if isinstance(node, All):
        return node, None
    if isinstance(node, And):
        parts = [_split(c, rule, notes) for c in node.children]
        rest = [r for _, r in parts if r is not None]
        return and_(*(s for s, _ in parts)), (and_(*rest) if rest else None)
    if isinstance(node, Or):
        parts = [_split(c, rule, notes) for c in node.children]
        server = or_(*(s for s, _ in parts))
        exact = all(r is None for _, r in parts)
        return server, (None if exact else node)
    if isinstance(node, Not):
        child_server, child_rest = _split(node.child, rule, notes)
        if child_rest is None:
            return Not(child_server), None
        notes.append(f"NOT ({describe(node.child)}): negation filtered locally")
        return All(), node
    if node in _TRIVIAL:  # an unbounded range: every message
        return All(), None
    plan = rule(node)
    if not plan.exact:
        notes.append(f"{describe(node)}: {plan.reason}")
    server = plan.server if plan.server is not None else All()
    return server, (None if plan.exact else node)


def split_folders(node: Node) -> tuple[tuple[str, ...] | None, Node]:
    """Top-level ``folder:`` conjuncts (also ``folder:a OR folder:b``) → folder scope.

    Returns ``(folders, rest)``: the search must run in ``folders`` only (``None``
    = any folder; several = search each and merge) and ``rest`` on each.
    """
    conjuncts = node.children if isinstance(node, And) else (node,)
    scope: dict[str, str] | None = None
    rest: list[Node] = []
    for c in conjuncts:
        names = _folder_names(c)
        if names is None:
            rest.append(c)
            continue
        mine = {n.casefold(): n for n in names}
        scope = mine if scope is None else {k: v for k, v in scope.items() if k in mine}
    folders = None if scope is None else tuple(scope.values())
    return folders, and_(*rest)


def _folder_names(node: Node) -> list[str] | None:
    if isinstance(node, Term) and node.field is TextField.FOLDER:
        return [node.value]
    if isinstance(node, Or):
        names: list[str] = []
        for c in node.children:
            sub = _folder_names(c)
            if sub is None:
                return None
            names += sub
        return names
    return None


def folder_scope(folders: tuple[str, ...] | None) -> Node:
    """The tree a folder scope stands for (for ``Compiled.expressed_node``)."""
    if folders is None:
        return All()
    if not folders:
        return Not(All())
    return or_(*(Term(TextField.FOLDER, f) for f in folders))
