"""The lean FETCH reader gives exactly what imaplib gives, against a real Dovecot, and a
clear error for what a hostile server sends (a loopback server that only pretends)."""

from __future__ import annotations

import imaplib
import socket
import threading
from typing import Any

import pytest

from services.email.imap.fetchparse import parse_fetch
from services.email.imap.fetchread import run_fetch
from tests.integration.imap.conftest import make_raw
from tests.support.servers.dovecot import DovecotServer

pytestmark = pytest.mark.integration

HEADER = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])"


def imaplib_fetch(imap: Any, args: str) -> tuple[str, list[Any]]:
    """What imaplib itself makes of the same command (the reference)."""
    uids, _, items = args.partition(" ")
    tag = imap._command("UID", "FETCH", uids, items)
    typ, data = imap._command_complete("FETCH", tag)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    return typ, list(data)


@pytest.fixture
def mailbox(clean_mailbox: DovecotServer) -> DovecotServer:
    raws = [make_raw(i) for i in range(5)]
    raws.append(b"From: x@example.test\r\nSubject: {3}\r\n\r\nbody with a fake literal {12}\r\n")
    raws.append(b"Subject: \xff\xfe raw 8-bit\r\n\r\n" + bytes(range(256)) + b"\r\n")
    clean_mailbox.append_many("alice", "INBOX", raws, flags=["\\Seen"])
    return clean_mailbox


@pytest.mark.parametrize("items", [HEADER, "(UID FLAGS)", "(UID BODY.PEEK[] BODY.PEEK[TEXT])",
                                   "(UID ENVELOPE BODYSTRUCTURE)"])
def test_same_answer_as_imaplib(mailbox: DovecotServer, items: str) -> None:
    with mailbox.imap("alice", tls="plain") as client:
        client.select_folder("INBOX")
        imap = client._imap
        tags = dict(imap.tagged_commands)
        ours = run_fetch(imap, f"1:* {items}")
        assert imap.tagged_commands == tags  # no tag left behind
        reference = imaplib_fetch(imap, f"1:* {items}")
    assert ours == reference
    assert ours[0] == "OK" and len(parse_fetch(ours[1])) == 7


def test_over_tls(mailbox: DovecotServer) -> None:
    with mailbox.imap("alice", tls="ssl") as client:
        client.select_folder("INBOX")
        ours = run_fetch(client._imap, f"1:* {HEADER}")
        assert ours == imaplib_fetch(client._imap, f"1:* {HEADER}")
        assert client.noop()[0].startswith(b"NOOP")  # the connection is still in step


def test_other_untagged_responses_go_where_imaplib_puts_them(mailbox: DovecotServer) -> None:
    with mailbox.imap("alice", tls="plain") as client:
        client.select_folder("INBOX")
        mailbox.append("alice", "INBOX", make_raw(99))  # another connection: EXISTS to come
        status, data = run_fetch(client._imap, "1:* (UID)")
        assert status == "OK"
        # Dovecot notices the new message while answering: EXISTS, with or without it
        assert sorted(parse_fetch(data))[:7] == list(range(1, 8))
        assert client._imap.untagged_responses["EXISTS"][-1] == b"8"


def test_bad_command_is_reported_and_the_connection_stays_usable(
    mailbox: DovecotServer,
) -> None:
    with mailbox.imap("alice", tls="plain") as client:
        client.select_folder("INBOX")
        status, data = run_fetch(client._imap, "1:* (NOSUCHITEM)")
        assert status == "BAD" and isinstance(data[-1], bytes) and data[-1]
        assert run_fetch(client._imap, "1 (UID)")[0] == "OK"


def test_bye_aborts(mailbox: DovecotServer) -> None:
    with mailbox.imap("alice", tls="plain") as client:
        client.select_folder("INBOX")
        mailbox.doveadm("kick", "alice")
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            run_fetch(client._imap, "1:* (UID)")


class HostileServer:
    """A loopback server that greets like IMAP and answers a FETCH with ``answer``, then
    hangs up: what a broken or malicious server can send."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] hostile\r\n")
            for line in lines:
                tag = line.split(b" ", 1)[0]
                if b"FETCH" in line:
                    conn.sendall(self.answer.replace(b"TAG", tag))
                    return
                conn.sendall(tag + b" OK done\r\n")

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize(("answer", "error"), [
    (b"* 1 FETCH (UID 1 BODY[] {99999999999}\r\n", "limit"),
    (b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly a few bytes", "EOF inside a literal"),
    (b"* 1 FETCH (UID 1 FLAGS ())\r\nnot imap at all\r\n", "unexpected response"),
    (b"* 1 FETCH (UID 1 FLAGS ())", "unterminated line"),
    (b"", "EOF"),
])
def test_a_hostile_answer_is_a_clear_error(answer: bytes, error: str) -> None:
    server = HostileServer(answer)
    try:
        imap = imaplib.IMAP4("127.0.0.1", server.port, timeout=5)
        with pytest.raises(imaplib.IMAP4.abort, match=error):
            run_fetch(imap, "1:* (UID BODY[])")
        imap.shutdown()
    finally:
        server.close()
