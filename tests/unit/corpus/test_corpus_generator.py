"""tests.support.corpus: deterministic, parseable, realistic enough for search and threading."""

from __future__ import annotations

import collections
import email
import email.policy
import email.utils
import io
import itertools
import mailbox
import zipfile
from pathlib import Path

import pytest

from tests.support.corpus import (
    CHARSETS,
    MARKER_WORDS,
    PEOPLE,
    GeneratedMessage,
    generate_messages,
    write_eml_dir,
    write_maildir,
    write_mbox,
)

N = 1500


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedMessage]:
    return list(generate_messages(N, seed=7))


def _parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = list(generate_messages(300, seed=3))
    b = list(generate_messages(300, seed=3))
    c = list(generate_messages(300, seed=4))
    assert a == b
    assert [m.raw for m in a] != [m.raw for m in c]


def test_count_order_and_unique_ids(corpus: list[GeneratedMessage]) -> None:
    assert len(corpus) == N
    assert [m.index for m in corpus] == list(range(N))
    assert all(a.date <= b.date for a, b in itertools.pairwise(corpus))
    assert len({m.message_id for m in corpus}) == N
    span = corpus[-1].date - corpus[0].date
    assert 2.5 * 365 < span.days <= 3 * 365


def test_every_message_parses_and_matches_its_metadata(corpus: list[GeneratedMessage]) -> None:
    for m in corpus:
        msg = _parse(m.raw)
        assert not msg.defects, (m.index, msg.defects)
        assert b"\r\n" in m.raw and b"\n" not in m.raw.replace(b"\r\n", b"")
        assert msg["Message-ID"] == m.message_id
        assert str(msg["Subject"]) == m.subject
        assert msg["From"].addresses[0].addr_spec == m.sender
        assert msg["From"].addresses[0].display_name == m.sender_name
        assert tuple(a.addr_spec for a in msg["To"].addresses) == m.to
        cc = tuple(a.addr_spec for a in msg["Cc"].addresses) if msg["Cc"] else ()
        assert cc == m.cc
        assert email.utils.parsedate_to_datetime(msg["Date"]) == m.date
        assert (msg["List-Id"] is not None) == (m.list_id is not None)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        assert body.get_content_charset() == m.charset.lower()
        text = body.get_content()
        for word in MARKER_WORDS:
            assert (word in text) == (word in m.markers), (m.index, word)
        if m.has_html:
            assert msg.get_body(preferencelist=("html",)) is not None
        for part in msg.walk():
            assert not part.defects, (m.index, part.get_content_type(), part.defects)


def test_threads_are_consistent(corpus: list[GeneratedMessage]) -> None:
    by_id = {m.message_id: m for m in corpus}
    threads = collections.defaultdict(list)
    for m in corpus:
        threads[m.thread_id].append(m)
        if m.in_reply_to is None:
            assert m.references == ()
            continue
        parent = by_id[m.in_reply_to]  # parents are in the corpus
        assert parent.date < m.date and parent.index < m.index
        assert m.references == (*parent.references, parent.message_id)
        assert m.thread_id == parent.thread_id
        assert m.subject.endswith(by_id[m.thread_id].subject)
        assert m.subject.split(":")[0] in ("Re", "RE", "AW")
        msg = _parse(m.raw)
        assert msg["In-Reply-To"] == m.in_reply_to
        assert msg["References"].split() == list(m.references)
    sizes = [len(v) for v in threads.values() if len(v) > 1]
    threaded = sum(sizes)
    assert 0.35 * N <= threaded <= 0.45 * N
    assert min(sizes) >= 2 and max(sizes) <= 20
    for members in threads.values():
        root = members[0]
        assert root.message_id == root.thread_id and root.in_reply_to is None


def test_charsets_encodings_and_headers_are_varied(corpus: list[GeneratedMessage]) -> None:
    charsets = collections.Counter(m.charset for m in corpus)
    assert set(charsets) == set(CHARSETS)
    assert charsets["utf-8"] > N / 3
    encodings = collections.Counter(m.transfer_encoding for m in corpus)
    assert {"quoted-printable", "base64", "7bit", "8bit"} <= set(encodings)
    encoded_subjects = [m for m in corpus if b"Subject: =?" in m.raw]
    assert 0.1 * N < len(encoded_subjects) < 0.6 * N
    assert any(b"=?iso-2022-jp?" in m.raw.lower() for m in corpus)
    assert any(b"=?koi8-r?" in m.raw.lower() for m in corpus)
    non_ascii_names = {p.name for p in PEOPLE if not p.name.isascii()}
    assert len(PEOPLE) == 500 and len(non_ascii_names) > 60
    assert 0.05 * N < sum(m.list_id is not None for m in corpus) < 0.2 * N
    assert 0.02 * N < sum(m.priority is not None for m in corpus) < 0.1 * N
    assert all(b"Received: " in m.raw for m in corpus if m.folder != "Sent")


def test_html_attachments_and_sizes(corpus: list[GeneratedMessage]) -> None:
    assert 0.25 < sum(m.has_html for m in corpus) / N < 0.35
    assert 0.11 < sum(m.has_attachment for m in corpus) / N < 0.19
    sizes = sorted(m.size for m in corpus)
    assert 2000 <= sizes[N // 2] <= 6000
    assert sum(2000 <= s <= 6500 for s in sizes) / N > 0.7
    seen_types = set()
    rfc2231 = 0
    for m in corpus:
        if not m.attachments:
            continue
        files = [p for p in _parse(m.raw).iter_attachments() if p.get_filename()]
        got = {(p.get_filename(), p.get_content_type()) for p in files}
        assert got == {(a.filename, a.content_type) for a in m.attachments}, m.index
        for part in files:
            data = part.get_content()
            ctype = part.get_content_type()
            seen_types.add(ctype)
            if ctype == "application/pdf":
                assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
            elif ctype == "image/png":
                assert data.startswith(b"\x89PNG\r\n\x1a\n")
            elif ctype.endswith("wordprocessingml.document"):
                assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
            elif ctype == "text/csv":
                assert data.startswith("date,account,amount")
        rfc2231 += sum(a.rfc2231 for a in m.attachments)
    assert {"application/pdf", "image/png", "text/csv"} <= seen_types
    assert rfc2231 > 0


def test_pdf_attachment_is_real_enough_for_pdfminer(corpus: list[GeneratedMessage]) -> None:
    pdfminer = pytest.importorskip("pdfminer.high_level")
    m = next(m for m in corpus if any(a.content_type == "application/pdf" for a in m.attachments))
    part = next(
        p for p in _parse(m.raw).iter_attachments() if p.get_content_type() == "application/pdf"
    )
    text = pdfminer.extract_text(io.BytesIO(part.get_content()))
    assert f"Document {m.index}" in text


def test_marker_selectivity_is_predictable() -> None:
    msgs = list(generate_messages(5000, seed=11, attachment_fraction=0, html_fraction=0))
    common = sum("zorbulate" in m.markers for m in msgs) / len(msgs)
    rare = sum("quixotron" in m.markers for m in msgs) / len(msgs)
    assert 0.08 < common < 0.12
    assert 0.004 < rare < 0.02


def test_write_maildir(tmp_path: Path, corpus: list[GeneratedMessage]) -> None:
    msgs = corpus[:300]
    stats = write_maildir(tmp_path / "Maildir", msgs)
    root = tmp_path / "Maildir"
    assert stats.count == 300 and sum(stats.folders.values()) == 300
    files = [p for p in root.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]
    assert len(files) == 300
    for name, count in stats.folders.items():
        d = root if name == "INBOX" else root / f".{name}"
        assert len(list((d / "cur").iterdir())) + len(list((d / "new").iterdir())) == count
    md = mailbox.Maildir(root, factory=None, create=False)
    ids = {m["Message-ID"] for m in md}
    inbox_ids = {m.message_id for m in msgs if m.folder == "INBOX"}
    assert ids == inbox_ids
    seen = [m for m in msgs if "\\Seen" in m.flags and m.folder == "INBOX"]
    assert sum("S" in md.get_message(k).get_flags() for k in md.iterkeys()) == len(seen)
    one = files[0].read_bytes()
    assert b"\r\n" not in one
    # Deterministic names: a second write gives the same tree.
    write_maildir(tmp_path / "again", msgs)
    names = sorted(p.relative_to(root).as_posix() for p in files)
    again = sorted(
        p.relative_to(tmp_path / "again").as_posix()
        for p in (tmp_path / "again").rglob("*")
        if p.is_file() and p.parent.name in ("cur", "new")
    )
    assert names == again
    flat = write_maildir(tmp_path / "flat", msgs, folders=False)
    assert flat.folders == {"INBOX": 300}


def test_write_mbox_and_eml(tmp_path: Path, corpus: list[GeneratedMessage]) -> None:
    msgs = corpus[:200]
    write_mbox(tmp_path / "all.mbox", msgs)
    box = mailbox.mbox(tmp_path / "all.mbox", create=False)
    assert [m["Message-ID"] for m in box] == [m.message_id for m in msgs]
    stats = write_eml_dir(tmp_path / "eml", msgs)
    assert stats.count == 200
    first = tmp_path / "eml" / "000000.eml"
    assert first.read_bytes() == msgs[0].raw
