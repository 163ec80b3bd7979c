"""Message threading after Jamie Zawinski's algorithm (https://www.jwz.org/doc/threading.html).

``thread_messages`` builds a forest from Message-ID / References / In-Reply-To, with
placeholder nodes for referenced messages that are missing, never creating a cycle
whatever the headers say.  Root messages *without* reply headers are then grouped by
normalised subject.  Children and roots are sorted by date.  Every input item appears
exactly once in the output.  Nothing here recurses, so very long threads are fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Generic, Protocol, TypeVar

__all__ = [
    "ThreadNode",
    "Threadable",
    "is_reply_subject",
    "normalize_subject",
    "reference_chain",
    "thread_key_for",
    "thread_messages",
]


class Threadable(Protocol):
    """What threading reads from a message (``services.models.Message`` fits)."""

    @property
    def message_id(self) -> str | None: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def subject(self) -> str: ...
    @property
    def date(self) -> datetime | None: ...


T = TypeVar("T", bound=Threadable)

_REPLY_WORDS = r"re|aw|sv|vs|antw|odp|res|rif|ref|ynt|atb|vá|απ|ответ"
_FORWARD_WORDS = r"fwd?|wg|tr|enc|doorst|rv|i|fs|πρθ"
_COUNTER = r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]"
_LIST_TAG = re.compile(r"\s*\[[^\[\]]{0,80}\]")
_REPLY_PREFIX = re.compile(rf"\s*(?:{_REPLY_WORDS}){_COUNTER}", re.I)
_ANY_PREFIX = re.compile(rf"\s*(?:{_REPLY_WORDS}|{_FORWARD_WORDS}){_COUNTER}", re.I)
_FWD_SUFFIX = re.compile(r"\s*\((?:fwd|fw)\)\s*$", re.I)


def _strip_prefixes(subject: str) -> tuple[str, bool]:
    """Remove leading list tags and reply/forward prefixes; say whether a reply one was seen."""
    text = subject
    reply = False
    while True:
        tag = _LIST_TAG.match(text)
        if tag is not None:
            text = text[tag.end() :]
            continue
        prefix = _ANY_PREFIX.match(text)
        if prefix is None:
            break
        reply = reply or _REPLY_PREFIX.match(text) is not None
        text = text[prefix.end() :]
    return text, reply


@lru_cache(maxsize=65536)  # a thread's messages share a subject: most calls are repeats
def subject_key(subject: str) -> tuple[str, bool]:
    """(:func:`normalize_subject`, :func:`is_reply_subject`) with one pass over the
    prefixes."""
    text, reply = _strip_prefixes(subject or "")
    text = _FWD_SUFFIX.sub("", text)
    return " ".join(text.split()).casefold(), reply


def normalize_subject(subject: str) -> str:
    """``"Re: [list] AW: Fwd: Hello  World"`` → ``"hello world"`` (casefolded, spaces collapsed)."""
    return subject_key(subject)[0]


def is_reply_subject(subject: str) -> bool:
    """True when the subject starts (after list tags) with a reply prefix such as Re: or AW:."""
    return _strip_prefixes(subject or "")[1]


def reference_chain(
    message_id: str | None, references: Sequence[str], in_reply_to: str | None
) -> list[str]:
    """The ancestors of a message, oldest first: References, then In-Reply-To when it is not
    already last; the message's own id is left out."""
    chain = [r for r in references if r and r != message_id]
    if in_reply_to and in_reply_to != message_id and (not chain or chain[-1] != in_reply_to):
        if in_reply_to in chain:
            chain.remove(in_reply_to)
        chain.append(in_reply_to)
    return list(dict.fromkeys(chain))


def thread_key_for(
    message_id: str | None, references: Sequence[str], in_reply_to: str | None
) -> list[str]:
    """Every message id a message is connected to (ancestors and itself): the store joins
    messages sharing any of these ids into one thread (connected components)."""
    ids = reference_chain(message_id, references, in_reply_to)
    if message_id:
        ids.append(message_id)
    return ids


@dataclass(eq=False)
class ThreadNode(Generic[T]):
    """A node of the thread forest; ``message`` is None for a placeholder (a message that
    was referenced but is not in the set)."""

    message_id: str
    message: T | None = None
    children: list[ThreadNode[T]] = field(default_factory=list)
    parent: ThreadNode[T] | None = field(default=None, repr=False)

    def walk(self) -> Iterable[ThreadNode[T]]:
        """This node and all its descendants, depth first, parents before children."""
        stack: list[ThreadNode[T]] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def messages(self) -> list[T]:
        return [n.message for n in self.walk() if n.message is not None]


def _is_ancestor(candidate: ThreadNode[T], node: ThreadNode[T]) -> bool:
    """True when ``candidate`` is ``node`` or one of its ancestors."""
    current: ThreadNode[T] | None = node
    while current is not None:
        if current is candidate:
            return True
        current = current.parent
    return False


def _link(parent: ThreadNode[T], child: ThreadNode[T]) -> bool:
    """Make ``child`` a child of ``parent`` unless that would create a loop."""
    if _is_ancestor(child, parent):
        return False
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)
    return True


def _has_reply_headers(message: Threadable) -> bool:
    return bool(message.references) or bool(message.in_reply_to)


def thread_messages(items: Sequence[T]) -> list[ThreadNode[T]]:
    """Thread ``items`` (JWZ); returns the root nodes sorted by date."""
    table: dict[str, ThreadNode[T]] = {}
    synthetic = 0

    def container(mid: str) -> ThreadNode[T]:
        node = table.get(mid)
        if node is None:
            node = table[mid] = ThreadNode(mid)
        return node

    for item in items:
        mid = item.message_id
        node = table.get(mid) if mid else None
        if mid and (node is None or node.message is None):
            node = container(mid)
            node.message = item
        else:  # no Message-ID, or a duplicate one: a unique synthetic id
            synthetic += 1
            fresh = f"{mid or 'no-message-id'}#synthetic-{synthetic}"
            node = table[fresh] = ThreadNode(fresh, item)
        chain = reference_chain(mid, item.references, item.in_reply_to)
        previous: ThreadNode[T] | None = None
        for ref in chain:
            ref_node = container(ref)
            if previous is not None and ref_node.parent is None and ref_node is not previous:
                _link(previous, ref_node)
            previous = ref_node
        if previous is not None and previous is not node and node.parent is not previous:
            _link(previous, node)  # the message's own headers win over inferred links

    roots = [n for n in table.values() if n.parent is None]
    roots = _prune(roots)
    roots = _group_by_subject(roots)
    for root in roots:
        root.parent = None
    _sort(roots)
    return roots


def _prune(roots: list[ThreadNode[T]]) -> list[ThreadNode[T]]:
    """Drop empty placeholders; promote the children of placeholders (at root level only
    when there is a single child, so siblings stay together under their placeholder)."""
    order: list[ThreadNode[T]] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):  # children before parents
        if not any(c.message is None for c in node.children):
            continue
        kept: list[ThreadNode[T]] = []
        for child in node.children:
            if child.message is None:
                for grandchild in child.children:
                    grandchild.parent = node
                kept.extend(child.children)
                child.children = []
            else:
                kept.append(child)
        node.children = kept
    result: list[ThreadNode[T]] = []
    for root in roots:
        if root.message is None and len(root.children) <= 1:
            for child in root.children:
                child.parent = None
            result.extend(root.children)
        else:
            result.append(root)
    return result


def _representative(node: ThreadNode[T]) -> T | None:
    if node.message is not None:
        return node.message
    return node.children[0].message if node.children else None


def _group_by_subject(roots: list[ThreadNode[T]]) -> list[ThreadNode[T]]:
    subjects: dict[str, ThreadNode[T]] = {}
    for root in roots:
        rep = _representative(root)
        key = normalize_subject(rep.subject) if rep is not None else ""
        if not key:
            continue
        old = subjects.get(key)
        if old is None or _better_subject_root(root, old):
            subjects[key] = root
    holders: list[ThreadNode[T]] = []
    for root in list(roots):
        message = root.message
        if message is None or root.parent is not None or _has_reply_headers(message):
            continue
        key = normalize_subject(message.subject)
        target = subjects.get(key) if key else None
        if target is None or target is root or _is_ancestor(root, target):
            continue
        target_message = target.message
        if target_message is None or (
            is_reply_subject(message.subject) and not is_reply_subject(target_message.subject)
        ):
            _link(target, root)
        else:  # two equals: gather them under a placeholder standing for the subject
            holder: ThreadNode[T] = ThreadNode(f"subject:{key}")
            _link(holder, target)
            _link(holder, root)
            subjects[key] = holder
            holders.append(holder)
    return [r for r in roots + holders if r.parent is None]


def _better_subject_root(new: ThreadNode[T], old: ThreadNode[T]) -> bool:
    """JWZ's preference for the subject table: placeholders, then non-reply subjects."""
    if old.message is None:
        return False
    if new.message is None:
        return True
    return is_reply_subject(old.message.subject) and not is_reply_subject(new.message.subject)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _sort(roots: list[ThreadNode[T]]) -> None:
    earliest: dict[int, tuple[bool, datetime]] = {}
    order: list[ThreadNode[T]] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):
        keys = [earliest[id(c)] for c in node.children]
        if node.message is not None:
            date = node.message.date
            if date is not None and date.tzinfo is None:
                date = date.replace(tzinfo=UTC)
            keys.append((date is None, date or _NEVER))
        earliest[id(node)] = min(keys) if keys else (True, _NEVER)
        node.children.sort(key=lambda c: earliest[id(c)])
    roots.sort(key=lambda r: earliest[id(r)])
