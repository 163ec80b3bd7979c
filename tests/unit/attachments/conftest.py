from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.attachments import AttachmentManager, Limits, MemoryCache, PdfWorker


@pytest.fixture(scope="session")
def pdf_worker() -> Iterator[PdfWorker]:
    """One worker process for the session (starting one costs ~0.3 s)."""
    with PdfWorker(timeout=20.0) as worker:
        yield worker


@pytest.fixture
def manager(pdf_worker: PdfWorker) -> Iterator[AttachmentManager]:
    """A manager with a fresh cache, sharing the session's PDF worker."""
    with AttachmentManager(cache=MemoryCache(), worker=pdf_worker,
                           limits=Limits(max_pixels=20_000_000)) as m:
        yield m
