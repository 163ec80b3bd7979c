"""The spec's "Smart Attachment Management" example, run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import AttachmentManager, Message
from services.models import Attachment
from tests.unit.attachments import samples


def test_spec_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    messages = [Message(attachments=[
        Attachment("report.pdf", "application/pdf",
                   loader=lambda: samples.make_pdf(["Annual report of the Ibex fund"])),
        Attachment("../../team.jpg", "image/jpeg", loader=lambda: samples.jpeg((800, 600))),
    ])]
    with AttachmentManager() as attachment_manager:  # no arguments, as in the spec
        texts, thumbs = [], []
        for message in messages:
            for attachment in message.attachments:
                analysis = attachment_manager.analyze_attachment(attachment)
                if analysis.file_type == "pdf":
                    content = attachment_manager.extract_text(attachment)
                    texts.append(content)
                    save_path = f"documents/pdfs/{attachment.filename}"
                    attachment.save(save_path)
                elif analysis.file_type == "image":
                    save_path = f"images/{attachment.filename}"
                    saved = attachment.save(save_path)
                    thumbs.append(attachment_manager.create_thumbnail(attachment, save_path))
                    assert saved == (tmp_path / "images" / "team.jpg").resolve()
    assert "Ibex fund" in texts[0]
    assert (tmp_path / "documents/pdfs/report.pdf").read_bytes().startswith(b"%PDF-1.4")
    assert thumbs == [(tmp_path / "images/team.thumb.png").resolve()]
    assert thumbs[0].stat().st_size > 100
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "report.pdf", "team.jpg", "team.thumb.png"]
