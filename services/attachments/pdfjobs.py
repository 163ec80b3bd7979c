"""PDF work done inside the worker process (see :mod:`services.attachments.pdfworker`).

Runs untrusted PDFs through pdfium (page count, encryption, first-page render) and
pdfminer.six (text).  Every function returns a plain dict and never raises for bad
input: the status says what went wrong.  Imported only by the worker process.
"""

from __future__ import annotations

import io
import time
from typing import Any

__all__ = ["pdf_info", "pdf_render", "pdf_text", "run_job"]

Result = dict[str, Any]


def _eof_missing(data: bytes) -> bool:
    return b"%%EOF" not in data[-2048:]


def _open(data: bytes) -> tuple[Any, Result | None]:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data), None
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            return None, {"status": "encrypted", "encrypted": True,
                          "detail": "the PDF needs a password"}
        status = "truncated" if _eof_missing(data) else "corrupt"
        return None, {"status": status, "detail": f"not a readable PDF ({text})"}


def pdf_info(data: bytes) -> Result:
    import pypdfium2.raw as raw

    doc, failed = _open(data)
    if failed is not None:
        return failed
    try:
        encrypted = raw.FPDF_GetSecurityHandlerRevision(doc.raw) != -1
        out: Result = {"status": "ok", "pages": len(doc), "encrypted": encrypted, "detail": ""}
        if _eof_missing(data):
            out.update(status="truncated", detail="the PDF ends early (no %%EOF); recovered")
        return out
    finally:
        doc.close()


def pdf_render(data: bytes, width: int, height: int) -> Result:
    doc, failed = _open(data)
    if failed is not None:
        return failed
    try:
        if len(doc) == 0:
            return {"status": "corrupt", "detail": "the PDF has no pages"}
        page = doc[0]
        try:
            pw, ph = page.get_size()
            scale = min(width / max(pw, 1.0), height / max(ph, 1.0), 4.0)
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
            image = bitmap.to_pil().convert("RGB")
        finally:
            page.close()
        image.thumbnail((width, height))
        buf = io.BytesIO()
        image.save(buf, "PNG", optimize=False)
        return {"status": "ok", "png": buf.getvalue(), "pages": len(doc)}
    finally:
        doc.close()


def pdf_text(data: bytes, max_pages: int, seconds: float, max_chars: int) -> Result:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException

    deadline = time.monotonic() + seconds
    chunks: list[str] = []
    size = pages = 0
    truncated = False
    detail = ""
    try:
        for layout in extract_pages(io.BytesIO(data), maxpages=max_pages + 1):
            if pages >= max_pages:
                truncated, detail = True, f"stopped after {max_pages} pages"
                break
            pages += 1
            text = "".join(el.get_text() for el in layout if isinstance(el, LTTextContainer))
            chunks.append(text)
            size += len(text)
            if size >= max_chars:
                truncated, detail = True, f"stopped at {max_chars} characters"
                break
            if time.monotonic() > deadline:
                truncated, detail = True, f"stopped after {seconds:g} s ({pages} pages)"
                break
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        return {"status": "encrypted", "text": "", "detail": f"the PDF is encrypted ({exc})"}
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError,
            IndexError, AssertionError, RecursionError) as exc:
        status = "truncated" if _eof_missing(data) else "corrupt"
        return {"status": status, "text": "\f".join(chunks)[:max_chars], "pages": pages,
                "detail": f"unreadable PDF ({type(exc).__name__}: {exc})"}
    return {"status": "ok", "text": "\f".join(chunks)[:max_chars], "pages": pages,
            "truncated": truncated, "detail": detail}


def run_job(op: str, data: bytes, params: dict[str, Any]) -> Result:
    if op == "info":
        return pdf_info(data)
    if op == "render":
        return pdf_render(data, int(params["width"]), int(params["height"]))
    if op == "text":
        return pdf_text(data, int(params["max_pages"]), float(params["seconds"]),
                        int(params["max_chars"]))
    if op == "sleep":  # for tests of the time limit
        time.sleep(float(params["seconds"]))
        return {"status": "ok"}
    raise ValueError(f"unknown PDF job {op!r}")
