"""Pure IMAP protocol logic: flags, UID sets, FETCH responses → messages, sync plans.

No I/O here; :mod:`services.email.imap.sync` and ``service`` drive these with a live
connection, and the unit tests drive them with literal responses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from services.models import Flag, Message
from services.store.blobs import Codec
from services.store.prepare import (
    FLAG_BITS,
    PreparedMessage,
    bits_to_flags,
    flags_to_bits,
    pack_prepared,
    prepare,
    prepare_header_values,
)
from services.store.syncstate import SyncState

__all__ = [
    "SYNC_HEADER_FIELDS",
    "FetchedMessage",
    "FolderStatus",
    "Mode",
    "SyncPlan",
    "SyncToken",
    "chunked",
    "expunged_count",
    "fetched_from_response",
    "flag_updates",
    "flags_from_imap",
    "flags_to_imap",
    "header_items",
    "parse_uid_set",
    "plan_folder",
    "prepare_fetched",
    "prepare_header_blob",
    "prepare_header_data",
    "prepare_headers",
    "to_message",
    "uid_set",
    "warm_up",
]

#: The header fields a header sync fetches: every field the store reads from a header
#: block (:func:`services.mime.fastheaders.header_values`) and the mailing-list fields
#: (unsubscribe, list views).  As in Thunderbird's header sync, the rest of the header
#: (Received chains, DKIM signatures: often most of its bytes) comes with the body.
SYNC_HEADER_FIELDS = (
    "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID",
    "In-Reply-To", "References", "Content-Type", "Content-Disposition", "Content-ID",
    "Content-Transfer-Encoding", "X-Priority", "Importance", "Priority", "X-MSMail-Priority",
    "List-Id", "List-Unsubscribe",
)
_ITEMS = ("UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE")
_FLAG_NAMES: dict[bytes, Flag] = {
    b"\\seen": Flag.SEEN,
    b"\\flagged": Flag.FLAGGED,
    b"\\answered": Flag.ANSWERED,
    b"\\deleted": Flag.DELETED,
    b"\\draft": Flag.DRAFT,
}
_FLAG_BIT: dict[bytes, int] = {name: FLAG_BITS[flag] for name, flag in _FLAG_NAMES.items()}
_IMAP_NAMES: dict[Flag, str] = {
    Flag.SEEN: "\\Seen",
    Flag.FLAGGED: "\\Flagged",
    Flag.ANSWERED: "\\Answered",
    Flag.DELETED: "\\Deleted",
    Flag.DRAFT: "\\Draft",
}


def _flag_key(f: object) -> bytes:
    if isinstance(f, bytes | bytearray):
        return bytes(f).lower()
    # a str, or an all-digit keyword the FETCH parser read as a number (never bytes(n):
    # ``FLAGS (99999999999)`` from a hostile server must not allocate that many bytes)
    return str(f).encode("ascii", "replace").lower()


def flags_from_imap(flags: Iterable[bytes | str | int]) -> frozenset[Flag]:
    """IMAP system flags → model flags (keywords and ``\\Recent`` are ignored)."""
    out: set[Flag] = set()
    for f in flags:
        flag = _FLAG_NAMES.get(_flag_key(f))
        if flag is not None:
            out.add(flag)
    return frozenset(out)


def _flag_bits(flags: object) -> int:
    """``flags_to_bits(flags_from_imap(flags))`` in one pass (a header sync's hot path)."""
    bits = 0
    if isinstance(flags, tuple | list):
        for f in flags:
            bits |= _FLAG_BIT.get(_flag_key(f), 0)
    return bits


def flags_to_imap(flags: Iterable[Flag]) -> list[str]:
    return sorted(_IMAP_NAMES[Flag(f)] for f in flags)


def uid_set(uids: Iterable[int]) -> str:
    """Compact sequence set: ``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"`` (sorted, unique)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an empty UID set cannot be sent")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def parse_uid_set(text: str | bytes) -> list[int]:
    """``"1:3,7"`` → ``[1, 2, 3, 7]`` (``(EARLIER)`` prefixes and ``*`` are skipped)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out: list[int] = []
    for token in text.replace("(EARLIER)", " ").split():
        for piece in token.split(","):
            lo, _, hi = piece.partition(":")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                continue
            a, b = int(lo), int(hi or lo)
            out.extend(range(min(a, b), max(a, b) + 1))
    return out


def header_items(extra: Sequence[str] = (), *, full: bool = False) -> tuple[str, ...]:
    """The FETCH items of a header sync: :data:`SYNC_HEADER_FIELDS` plus ``extra`` (names
    checked by :class:`ImapConfig`), or with ``full`` the whole header block."""
    if full:
        return (*_ITEMS, "BODY.PEEK[HEADER]")
    names = list(dict.fromkeys(f.upper() for f in (*SYNC_HEADER_FIELDS, *extra)))
    return (*_ITEMS, f"BODY.PEEK[HEADER.FIELDS ({' '.join(names)})]")


def chunked(uids: Sequence[int], size: int) -> list[list[int]]:
    return [list(uids[i : i + size]) for i in range(0, len(uids), size)]


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One FETCH answer: UID, flags, size, arrival time and the bytes fetched."""

    uid: int
    flags: frozenset[Flag]
    size: int
    internaldate: datetime | None
    data: bytes  # header block (header sync) or whole message


def _body(item: Mapping[bytes, object]) -> bytes | None:
    for key, value in item.items():
        if key.startswith(b"BODY[") or key in (b"RFC822", b"RFC822.HEADER"):
            if isinstance(value, bytes):
                return value
            if value is None:
                return b""
    return None


_Answer = tuple[int, int, int, datetime | None, bytes]  # uid, flag bits, size, arrival, body


def _answer_items(response: Mapping[int, Mapping[bytes, object]]) -> Iterator[_Answer]:
    """Each answer with a UID and a body, in the response's order (unsolicited FLAGS
    updates have neither and are skipped)."""
    for key, item in response.items():
        uid = item.get(b"UID", key)
        body = _body(item)
        if not isinstance(uid, int) or body is None:
            continue
        size = item.get(b"RFC822.SIZE")
        when = item.get(b"INTERNALDATE")
        if isinstance(when, datetime) and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        yield (uid, _flag_bits(item.get(b"FLAGS")), size if isinstance(size, int) else len(body),
               when if isinstance(when, datetime) else None, body)


def fetched_from_response(
    response: Mapping[int, Mapping[bytes, object]],
) -> list[FetchedMessage]:
    """imapclient's ``fetch`` dict (keyed by sequence number or UID, with ``b"UID"`` in each
    item) → messages; items without UID or body (unsolicited FLAGS updates) are dropped."""
    return [FetchedMessage(uid=uid, flags=bits_to_flags(bits), size=size, internaldate=when,
                           data=body) for uid, bits, size, when, body in _answer_items(response)]


def flag_updates(response: Mapping[int, Mapping[bytes, object]]) -> dict[int, int]:
    """UID → flag bits from a ``FLAGS`` fetch (CHANGEDSINCE or a full scan)."""
    out: dict[int, int] = {}
    for key, item in response.items():
        uid = item.get(b"UID", key)
        flags = item.get(b"FLAGS")
        if isinstance(uid, int) and isinstance(flags, tuple | list):
            out[uid] = _flag_bits(flags)
    return out


def to_message(item: FetchedMessage, account: str, folder: str) -> Message:
    """Parse the fetched bytes into a Message carrying the server's flags and size."""
    from services.mime.parse import parse_message

    message = parse_message(item.data, account=account, folder=folder, remote_id=str(item.uid))
    message.flags = item.flags
    message.size = max(item.size, len(item.data))
    message.received_at = item.internaldate
    return message


def prepare_fetched(
    codec: Codec, account: str, folder: str, items: Sequence[FetchedMessage]
) -> list[PreparedMessage]:
    """Parse and prepare a chunk (top-level so a worker process can run it)."""
    return [prepare(to_message(item, account, folder), item.data, codec) for item in items]


def prepare_headers(
    codec: Codec, account: str, folder: str, items: Sequence[FetchedMessage]
) -> list[PreparedMessage]:
    """Prepare a chunk of header blocks (``BODY[HEADER]`` or ``BODY[HEADER.FIELDS]``):
    straight from the header values (:func:`services.mime.fastheaders.header_values`), or
    through ``parse_message`` for a block only it reads right; the same rows either way
    as ``prepare(parse_header_fields)``."""
    return _prepare_answers(codec, account, folder, [
        (item.uid, flags_to_bits(item.flags), item.size, item.internaldate, item.data)
        for item in items])


def _prepare_answers(
    codec: Codec, account: str, folder: str, answers: Sequence[_Answer]
) -> list[PreparedMessage]:
    from services.mime.fastheaders import header_values, parse_header_fields

    out: list[PreparedMessage] = []
    for uid, bits, size, when, data in answers:
        values = header_values(data)
        if values is not None:
            out.append(prepare_header_values(
                values, data, codec, account=account, folder=folder, remote_id=str(uid),
                flags=bits, size=size, received_at=when))
            continue
        message = parse_header_fields(data, account=account, folder=folder, remote_id=str(uid))
        message.flags = bits_to_flags(bits)
        message.size = max(size, len(data))
        message.received_at = when
        out.append(prepare(message, data, codec, compress=False))
    return out


def _in_order(answers: Iterable[_Answer], uids: Sequence[int]) -> list[_Answer]:
    """The answers for ``uids``, in their order (the last one for a UID sent twice)."""
    wanted = {uid: i for i, uid in enumerate(uids)}
    found = {a[0]: a for a in answers if a[0] in wanted}
    return sorted(found.values(), key=lambda a: wanted[a[0]])


_list_bits: dict[bytes, int] = {}


def _list_flag_bits(text: bytes) -> int:
    """Flag bits of a FLAGS list's text (``\\Seen $Label1``), as :func:`_flag_bits` reads
    the parsed list; memoised (a mailbox has few distinct flag lists)."""
    bits = _list_bits.get(text)
    if bits is None:
        bits = 0
        for token in text.split():
            bits |= _FLAG_BIT.get(token.lower(), 0)
        if len(_list_bits) < 1024:
            _list_bits[text] = bits
    return bits


def _data_answers(data: Sequence[object], uids: Sequence[int]) -> list[_Answer]:
    """The answers for ``uids`` in raw FETCH data: read straight from the usual shape
    (:func:`~services.email.imap.fetchparse.header_answers`), else parsed in full."""
    from services.email.imap.fetchparse import header_answers, parse_fetch

    usual = header_answers(data)
    if usual is None:
        return _in_order(_answer_items(parse_fetch(data)), uids)
    return _in_order([(uid, _list_flag_bits(flags), size, when, body)
                      for uid, flags, size, when, body in usual], uids)


def prepare_header_data(
    codec: Codec, account: str, folder: str, data: Sequence[object], uids: Sequence[int]
) -> list[PreparedMessage]:
    """A header FETCH's raw imaplib data → prepared messages in the order of ``uids``
    (answers for other UIDs, or without a header block, are dropped).  The whole chunk's
    CPU work (FETCH parsing included) in one call, so a worker process runs all of it and
    the connection's process only reads the socket."""
    return _prepare_answers(codec, account, folder, _data_answers(data, uids))


def prepare_header_blob(
    codec: Codec, account: str, folder: str, data: Sequence[object], uids: Sequence[int]
) -> bytes:
    """:func:`prepare_header_data` packed for the pipe back from a worker process
    (:func:`services.store.prepare.unpack_prepared` reads it)."""
    return pack_prepared(prepare_header_data(codec, account, folder, data, uids))


def warm_up() -> None:
    """Import what :func:`prepare_header_data` needs (a new worker process's first task)."""
    import gc
    import importlib

    for module in ("services.email.imap.fetchparse", "services.mime.fastheaders",
                   "services.mime.parse"):
        importlib.import_module(module)
    gc.freeze()  # what the imports made lives as long as the worker: no collection walks it


# -- sync planning ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What SELECT said about a folder."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None = None


@dataclass(frozen=True, slots=True)
class SyncToken:
    """IMAP extras kept in ``SyncState.token``: was the last sync complete (a header sync
    may stop half-way), how many messages the folder had, the window it used."""

    complete: bool = False
    exists: int = 0
    since: str | None = None  # ISO date the initial sync started from

    def encode(self) -> str:
        return json.dumps({"complete": self.complete, "exists": self.exists,
                           "since": self.since}, sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> SyncToken:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        since = data.get("since")
        return cls(bool(data.get("complete")), int(data.get("exists") or 0),
                   since if isinstance(since, str) else None)


class Mode(StrEnum):
    INITIAL = "initial"  # first sync, or resuming one that did not finish: diff by UID
    REMAP = "remap"  # UIDVALIDITY changed: orphan local copies, then INITIAL
    INCREMENTAL = "incremental"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class SyncPlan:
    mode: Mode
    new_from_uid: int = 1  # fetch UIDs >= this (INCREMENTAL)
    changed_since: int | None = None  # CONDSTORE: fetch FLAGS CHANGEDSINCE this
    full_flag_scan: bool = False  # no CONDSTORE: compare every local message's flags
    check_expunges: bool = False  # maybe expunged: VANISHED (QRESYNC) or SEARCH diff


def plan_folder(old: SyncState | None, status: FolderStatus, *, condstore: bool) -> SyncPlan:
    """Decide how to bring one folder up to date from the last state and SELECT's answer."""
    if old is None or old.uidvalidity is None:
        return SyncPlan(Mode.INITIAL)
    if old.uidvalidity != status.uidvalidity:
        return SyncPlan(Mode.REMAP)
    token = SyncToken.decode(old.token)
    if not token.complete or old.uidnext is None:
        return SyncPlan(Mode.INITIAL)
    use_modseq = condstore and old.highestmodseq is not None and status.highestmodseq is not None
    if (use_modseq and status.highestmodseq == old.highestmodseq
            and status.uidnext == old.uidnext and status.exists == token.exists):
        return SyncPlan(Mode.UNCHANGED)
    return SyncPlan(
        Mode.INCREMENTAL,
        new_from_uid=old.uidnext,
        changed_since=old.highestmodseq if use_modseq else None,
        full_flag_scan=not use_modseq,
        # decided after the new UIDs are known (see expunged_count); True = maybe
        check_expunges=True,
    )


def expunged_count(old_exists: int, new_uids: int, exists_now: int) -> int:
    """How many messages left the folder since the last sync (EXISTS arithmetic)."""
    return max(0, old_exists + new_uids - exists_now)
