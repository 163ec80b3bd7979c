"""Remote search: IMAP UID SEARCH per folder, hits mapped to (synced) local messages,
then the part IMAP cannot express checked locally with ``services.query.matches``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.email.imap.sync import ProgressCounter, fetch_headers
from services.errors import ValidationError
from services.models import Message
from services.query import EmailQuery, matches, to_imap
from services.query.ast import HasAttachment, Node, Term, TextField
from services.query.compiled import leaves
from services.store.partial import BODY_HEADERS, body_state, folder_index

if TYPE_CHECKING:
    from services.email.imap.service import ImapService

__all__ = ["needs_body", "search_remote"]

_EPOCH = datetime.min.replace(tzinfo=UTC)


def _as_query(query: object) -> EmailQuery:
    if isinstance(query, EmailQuery):
        return query
    if isinstance(query, str):
        return EmailQuery.parse(query)
    if isinstance(query, Node):
        return EmailQuery.from_node(query)
    raise ValidationError(f"search_remote expects an EmailQuery, a query string or a node, "
                          f"not {type(query).__name__}")


def needs_body(node: Node | None) -> bool:
    """Whether checking ``node`` locally reads the body (so header-only hits need it)."""
    if node is None:
        return False
    body_fields = (TextField.ANY, TextField.BODY, TextField.ATTACHMENT)
    return any(
        isinstance(leaf, HasAttachment)
        or (isinstance(leaf, Term) and leaf.field in body_fields)
        for leaf in leaves(node)
    )


async def search_remote(service: ImapService, query: object) -> list[Message]:
    q = _as_query(query)
    compiled = to_imap(q.node)
    spec = compiled.expressed
    store, account = service.store, service.name
    hits: list[int] = []
    async with service._lock:
        conn = await service._main()
        folders = list(spec.folders) if spec.folders is not None else \
            await service._sync_targets()
        for folder in folders:
            await conn.select(folder, readonly=True)
            uids = await conn.search(spec.text, spec.charset)
            if not uids:
                continue
            index = await asyncio.to_thread(folder_index, store, account, folder)
            missing = sorted((u for u in uids if str(u) not in index), reverse=True)
            if missing:
                await fetch_headers(conn, store, account, folder, missing, service.config,
                                    ProgressCounter(None), None)
                index = await asyncio.to_thread(folder_index, store, account, folder)
            hits.extend(index[str(u)][0] for u in uids if str(u) in index)
    residual = compiled.residual
    body = needs_body(residual)
    found: list[Message] = []
    for mid in dict.fromkeys(hits):
        if body and await asyncio.to_thread(body_state, store, mid) == BODY_HEADERS:
            message = await service.fetch_body(mid)
        else:
            message = await asyncio.to_thread(store.get, mid)
        if residual is None or matches(residual, message):
            found.append(message)
    found.sort(key=lambda m: (m.date or _EPOCH, m.id or 0), reverse=True)
    start = q.offset_value or 0
    end = None if q.max_results is None else start + q.max_results
    return found[start:end]
