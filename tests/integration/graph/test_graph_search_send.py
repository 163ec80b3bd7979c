"""Remote search ($filter / $search + local residual) and sending (small, large) via the fake."""

from __future__ import annotations

import base64
import itertools
import os

import pytest

from services.email.graph.errors import GraphError
from services.email.graph.send import CHUNK_UNIT, GraphSender
from services.email.graph.service import GraphMailService
from services.errors import MessageError
from services.query.builder import EmailQuery
from services.query.graph import to_graph
from services.query.parser import parse_query
from tests.fakes.graph import FakeGraph, build_mime


async def test_search_filter_search_and_residual(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    a = graph_fake.add_message("inbox", subject="Quarterly report", flagged=True)
    b = graph_fake.add_message("inbox", subject="Weekly report", is_read=True)
    c = graph_fake.add_message("inbox", subject="Lunch", body="see the report attached")
    graph_fake.add_message("archive", subject="Old budget", sender="Bob <bob@example.com>")

    unread = await service.search_remote("is:unread")
    assert {m.remote_id for m in unread} == {a, c, graph_fake.messages_in("archive")[0].id}
    assert graph_fake.requests[-1].query["$filter"] == "isRead eq false"

    assert to_graph(parse_query("subject:report is:flagged")).residual is not None
    flagged = await service.search_remote("subject:report is:flagged")
    assert [m.remote_id for m in flagged] == [a]
    last = graph_fake.requests[-1]
    assert last.query["$search"] == '"subject:report"'
    assert last.headers["consistencylevel"] == "eventual"

    words = await service.search_remote(EmailQuery(parse_query("report")))
    assert {m.remote_id for m in words} == {a, b, c}
    assert graph_fake.requests[-1].query["$search"] == '"report"'

    scoped = await service.search_remote("folder:archive from:bob")
    assert [(m.subject, m.folder) for m in scoped] == [("Old budget", "Archive")]
    assert "/mailFolders/" in graph_fake.requests[-1].path


async def test_send_small_message_as_mime(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    raw = build_mime(subject="Hi Bob", sender=graph_fake.address, to="bob@example.com",
                     body="Plain and simple.")
    result = await service.send_raw(raw, sender=graph_fake.address,
                                    recipients=["bob@example.com", "secret@example.com"])
    assert result.success and result.provider == "outlook" and result.message_id
    assert result.message_id in raw.decode()
    request = graph_fake.graph_requests("POST", "/sendMail")[-1]
    assert request.headers["content-type"] == "text/plain"
    [sent] = graph_fake.sent
    assert sent.via == "sendMail"
    assert sorted(sent.recipients) == ["bob@example.com", "secret@example.com"]  # Bcc added
    assert sent.mime.endswith(raw)  # the original bytes, only a Bcc header in front
    assert [m.mime for m in graph_fake.messages_in("sentitems")] == [sent.mime]
    assert await service.has_message_id(result.message_id)
    assert not await service.has_message_id("nobody@example.com")


async def test_send_large_attachment_through_upload_session(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    big = os.urandom(4 * 1024 * 1024 + 12345)
    small = b"small file contents"
    raw = build_mime(subject="Big one", sender=graph_fake.address, to="bob@example.com",
                     body="See attached.", attachments=[("big.bin", big), ("small.txt", small)])
    service.sender = GraphSender(service.client, service.mailbox, chunk_size=CHUNK_UNIT * 4)

    result = await service.send_raw(raw, sender=graph_fake.address,
                                    recipients=["bob@example.com"])
    assert result.success
    assert graph_fake.rejected_chunks == []
    ranges = graph_fake.upload_log
    assert len(ranges) == 4
    assert ranges[0][0] == 0 and ranges[-1][1] == len(big) - 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    assert all((end - start + 1) % CHUNK_UNIT == 0 for start, end, _ in ranges[:-1])
    uploads = [r for r in graph_fake.requests if r.path.endswith("/createUploadSession")]
    assert len(uploads) == 1
    [sent] = graph_fake.sent
    assert sent.via == "draft"
    assert {a.name: a.data for a in sent.attachments} == {"big.bin": big}
    assert b"small.txt" in sent.mime and base64.b64encode(small) in sent.mime
    assert graph_fake.messages_in("drafts") == []
    assert len(graph_fake.messages_in("sentitems")) == 1


async def test_send_is_not_retried_when_throttled(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    graph_fake.inject(429, retry_after=7, path="/sendMail")
    raw = build_mime(sender=graph_fake.address, to="bob@example.com")
    with pytest.raises(MessageError) as info:
        await service.send_raw(raw, sender=graph_fake.address, recipients=["bob@example.com"])
    assert info.value.error_type == "RATE_LIMITED" and info.value.retry_after == 7.0
    assert len(graph_fake.graph_requests("POST", "/sendMail")) == 1
    assert graph_fake.sent == []


async def test_fake_rejects_chunks_that_are_not_multiples_of_320_kib(
    service: GraphMailService, graph_fake: FakeGraph,
) -> None:
    draft = await service.save_draft(build_mime(sender=graph_fake.address, to="b@example.com"))
    session = await service.client.json(
        "POST", f"/me/messages/{draft}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "name": "x.bin", "size": 1_000_000}})
    with pytest.raises(GraphError) as info:
        await service.client.request(
            "PUT", session["uploadUrl"], content=b"x" * 100_000, authorized=False,
            headers={"Content-Range": "bytes 0-99999/1000000"})
    assert info.value.error_code == "InvalidContentRange"
    assert graph_fake.rejected_chunks == ["chunk of 100000 bytes is not a multiple of 320 KiB"]
