"""Pure IMAP protocol logic: no server needed."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.email.imap.folders import detect_role, folder_infos
from services.email.imap.idle import idle_changed
from services.email.imap.protocol import (
    FolderStatus,
    Mode,
    SyncToken,
    expunged_count,
    fetched_from_response,
    flag_updates,
    flags_from_imap,
    flags_to_imap,
    parse_uid_set,
    plan_folder,
    prepare_fetched,
    to_message,
    uid_set,
)
from services.errors import ConnectionFailed
from services.models import Flag
from services.store.blobs import PlainCodec
from services.store.prepare import flags_to_bits
from services.store.syncstate import SyncState

HEADER = (b"From: Ann <ann@example.test>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
          b"Message-ID: <a1@example.test>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\n")


def test_flag_mapping_both_ways() -> None:
    assert flags_from_imap([b"\\Seen", b"\\FLAGGED", b"\\Recent", b"$Forwarded"]) == {
        Flag.SEEN, Flag.FLAGGED}
    assert flags_from_imap(["\\Draft", "\\Answered", "\\Deleted"]) == {
        Flag.DRAFT, Flag.ANSWERED, Flag.DELETED}
    assert flags_to_imap({Flag.SEEN, Flag.FLAGGED}) == ["\\Flagged", "\\Seen"]


def test_uid_sets() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10, 3]) == "1:3,7,9:10"
    assert parse_uid_set(b"(EARLIER) 1:3,7") == [1, 2, 3, 7]
    assert parse_uid_set("5:3") == [3, 4, 5]
    with pytest.raises(ValueError):
        uid_set([])


def test_fetch_response_to_message() -> None:
    response = {
        1: {b"UID": 42, b"FLAGS": (b"\\Seen",), b"RFC822.SIZE": 5000,
            b"INTERNALDATE": datetime(2025, 6, 2, 10, 0, 5), b"BODY[HEADER]": HEADER, b"SEQ": 1},
        2: {b"FLAGS": (b"\\Seen",), b"SEQ": 2},  # unsolicited, no UID: dropped
    }
    [item] = fetched_from_response(response)
    assert (item.uid, item.size, item.flags) == (42, 5000, frozenset({Flag.SEEN}))
    assert item.internaldate is not None and item.internaldate.tzinfo is not None
    message = to_message(item, "acc", "INBOX")
    assert (message.subject, message.remote_id, message.size) == ("café", "42", 5000)
    assert message.message_id == "a1@example.test" and message.flags == {Flag.SEEN}
    [prepared] = prepare_fetched(PlainCodec(), "acc", "INBOX", [item])
    assert prepared.remote_id == "42" and prepared.size == 5000
    assert flag_updates({3: {b"UID": 7, b"FLAGS": (b"\\Flagged",)}}) == {
        7: flags_to_bits(frozenset({Flag.FLAGGED}))}


def _state(**kw: object) -> SyncState:
    token = SyncToken(True, 10).encode()
    base: dict[str, object] = {"uidvalidity": 5, "uidnext": 11, "highestmodseq": 100,
                               "token": token}
    base.update(kw)
    return SyncState(**base)  # type: ignore[arg-type]


def test_sync_plans() -> None:
    status = FolderStatus(uidvalidity=5, uidnext=11, exists=10, highestmodseq=100)
    assert plan_folder(None, status, condstore=True).mode is Mode.INITIAL
    assert plan_folder(_state(uidvalidity=4), status, condstore=True).mode is Mode.REMAP
    assert plan_folder(_state(token=SyncToken(False, 3).encode()), status,
                       condstore=True).mode is Mode.INITIAL
    assert plan_folder(_state(), status, condstore=True).mode is Mode.UNCHANGED
    changed = plan_folder(_state(), FolderStatus(5, 13, 12, 104), condstore=True)
    assert (changed.mode, changed.new_from_uid, changed.changed_since) == (
        Mode.INCREMENTAL, 11, 100)
    fallback = plan_folder(_state(highestmodseq=None), status, condstore=False)
    assert fallback.mode is Mode.INCREMENTAL and fallback.full_flag_scan
    assert expunged_count(10, 2, 11) == 1 and expunged_count(10, 2, 12) == 0
    assert SyncToken.decode("not json") == SyncToken()


def test_role_detection() -> None:
    assert detect_role("Stuff", [b"\\HasNoChildren", b"\\Sent"]) == "sent"
    assert detect_role("INBOX", []) == "inbox"
    assert detect_role("Lists.Trash", [], ".") == "trash"
    assert detect_role("Gesendet", []) == "sent"
    assert detect_role("Projects", []) is None
    infos = folder_infos([((b"\\Sent",), "/", "Outgoing"), ((), "/", "Sent"),
                          ((b"\\Noselect",), "/", "Lists")])
    assert [(f.name, f.role, f.selectable) for f in infos] == [
        ("Outgoing", "sent", True), ("Sent", None, True), ("Lists", None, False)]


def test_idle_responses() -> None:
    assert idle_changed([(3, b"EXISTS")])
    assert idle_changed([(4, b"EXPUNGE")]) and idle_changed([(1, b"FETCH", (b"FLAGS", ()))])
    assert not idle_changed([(b"OK", b"Still here")])
    with pytest.raises(ConnectionFailed):
        idle_changed([(b"BYE", b"Disconnected for inactivity")])
