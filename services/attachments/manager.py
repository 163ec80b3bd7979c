"""The spec's ``AttachmentManager``: analysis, text, thumbnails and saving.

Every result is derived from the content and cached by its sha256 (a
:class:`~services.attachments.cache.DerivedCache`: in memory by default, or the
store's blob table through its codec with ``StoreCache``).  PDFs are handled in a
worker process with time, page and memory limits; images within a pixel limit.  Bad
input (empty, truncated, corrupt, encrypted, too large) gives a status, never a crash
or a hang.  The blocking methods have ``a``-prefixed async twins that run in a thread.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from services.attachments.cache import DerivedCache, MemoryCache
from services.attachments.detect import TypeDetector, container_checks, kind_of_mime, name_risks
from services.attachments.images import DEFAULT_MAX_PIXELS, image_info, thumbnail
from services.attachments.pdfworker import PdfWorker
from services.attachments.safe import write_atomic
from services.attachments.text import extract_plain
from services.attachments.types import (
    AnalysisStatus,
    AttachmentAnalysis,
    Risk,
    TextExtraction,
    UnreadableAttachment,
)
from services.errors import OperationTimedOut, ValidationError
from services.models import Attachment

__all__ = ["AttachmentManager", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What the manager is willing to process."""

    max_bytes: int = 200 << 20  # larger content is only typed, never decoded
    max_pixels: int = DEFAULT_MAX_PIXELS
    pdf_pages: int = 300
    pdf_seconds: float = 20.0
    max_text_chars: int = 5_000_000
    pdf_memory: int = 2 << 30


@dataclass(frozen=True, slots=True)
class _Meta:
    """The content-only part of an analysis (cached by hash)."""

    mime: str
    description: str
    kind: str
    status: str
    detail: str = ""
    pages: int | None = None
    image_size: tuple[int, int] | None = None
    encrypted: bool = False
    risks: tuple[str, ...] = ()


class AttachmentManager:
    """``AttachmentManager()`` works stand-alone; pass ``cache=StoreCache(store)`` to
    keep derived data in the store, ``worker`` to share a PDF worker."""

    def __init__(self, *, cache: DerivedCache | None = None, worker: PdfWorker | None = None,
                 limits: Limits | None = None, detector: TypeDetector | None = None) -> None:
        self.limits = limits or Limits()
        self.cache: DerivedCache = cache if cache is not None else MemoryCache()
        self._own_worker = worker is None
        self.worker = worker or PdfWorker(timeout=self.limits.pdf_seconds,
                                          memory_limit=self.limits.pdf_memory)
        self.detector = detector or TypeDetector()

    def close(self) -> None:
        if self._own_worker:
            self.worker.close()

    def __enter__(self) -> AttachmentManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- content -------------------------------------------------------------------
    @staticmethod
    def _content(attachment: Attachment) -> bytes:
        try:
            return attachment.read()
        except (LookupError, OSError, ValueError) as exc:
            raise UnreadableAttachment(f"cannot load {attachment.filename!r}: {exc}",
                                       status=AnalysisStatus.UNAVAILABLE) from exc

    def _pdf(self, op: str, data: bytes, **params: Any) -> dict[str, Any]:
        try:
            return self.worker.run(op, data, timeout=self.limits.pdf_seconds, **params)
        except OperationTimedOut as exc:
            return {"status": AnalysisStatus.TIMED_OUT.value, "detail": str(exc)}

    def _meta(self, data: bytes, sha: str) -> _Meta:
        key = f"meta:{sha}"
        cached = self.cache.get(key)
        if cached is not None:
            raw = json.loads(cached)
            raw["image_size"] = tuple(raw["image_size"]) if raw["image_size"] else None
            raw["risks"] = tuple(raw["risks"])
            return _Meta(**raw)
        meta = self._inspect(data)
        if meta.status != AnalysisStatus.TIMED_OUT:
            self.cache.put(key, json.dumps(asdict(meta)).encode())
        return meta

    def _inspect(self, data: bytes) -> _Meta:
        if not data:
            return _Meta("inode/x-empty", "empty", "empty", AnalysisStatus.EMPTY,
                         "the attachment has no content")
        mime, description = self.detector.detect(data)
        kind = kind_of_mime(mime)
        if len(data) > self.limits.max_bytes:
            return _Meta(mime, description, kind, AnalysisStatus.TOO_LARGE,
                         f"{len(data):,} bytes is over the limit of {self.limits.max_bytes:,}")
        risks, status, detail = container_checks(data, mime)
        meta = _Meta(mime, description, kind, status, detail,
                     risks=tuple(sorted(r.value for r in risks)),
                     encrypted=Risk.ENCRYPTED in risks)
        if kind == "image" and "svg" not in mime:
            try:
                info = image_info(data, self.limits.max_pixels)
                meta = replace(meta, image_size=info.size)
            except UnreadableAttachment as exc:
                meta = replace(meta, status=exc.status, detail=str(exc))
        elif kind == "pdf":
            pdf = self._pdf("info", data)
            encrypted = bool(pdf.get("encrypted"))
            meta = replace(meta, status=pdf["status"], detail=str(pdf.get("detail", "")),
                           pages=pdf.get("pages"), encrypted=encrypted,
                           risks=meta.risks + ((Risk.ENCRYPTED.value,) if encrypted else ()))
        return meta

    def _kind(self, data: bytes, sha: str) -> tuple[str, str]:
        """``(kind, mime)`` from the cached analysis, else from the magic bytes alone
        (cheap: no decoding), raising for empty or oversized content."""
        cached = self.cache.get(f"meta:{sha}")
        if cached is not None:
            meta = json.loads(cached)
            status = AnalysisStatus(meta["status"])
            if status not in (AnalysisStatus.OK, AnalysisStatus.TRUNCATED):
                raise UnreadableAttachment(meta["detail"] or status.value, status=status)
            return str(meta["kind"]), str(meta["mime"])
        if not data:
            raise UnreadableAttachment("the attachment has no content",
                                       status=AnalysisStatus.EMPTY)
        if len(data) > self.limits.max_bytes:
            raise UnreadableAttachment(f"{len(data):,} bytes is over the limit",
                                       status=AnalysisStatus.TOO_LARGE)
        mime, _ = self.detector.detect(data)
        return kind_of_mime(mime), mime

    # -- analysis ------------------------------------------------------------------
    def analyze_attachment(self, attachment: Attachment) -> AttachmentAnalysis:
        """Type (from the bytes), size, hash, pages or pixels, status and risks."""
        try:
            data = self._content(attachment)
        except UnreadableAttachment as exc:
            return AttachmentAnalysis(
                attachment.filename, "other", "application/octet-stream",
                attachment.content_type, attachment.size, "", exc.status, str(exc))
        meta = self._meta(data, attachment.sha256)
        risks = name_risks(attachment.filename, meta.kind) | {Risk(r) for r in meta.risks}
        return AttachmentAnalysis(
            filename=attachment.filename, file_type=meta.kind, mime_type=meta.mime,
            declared_type=attachment.content_type, size=len(data), sha256=attachment.sha256,
            status=AnalysisStatus(meta.status), detail=meta.detail,
            description=meta.description, page_count=meta.pages, image_size=meta.image_size,
            encrypted=meta.encrypted, risks=frozenset(risks))

    # -- text ------------------------------------------------------------------------
    def extract(self, attachment: Attachment) -> TextExtraction:
        """Text with a status (why it is empty, whether a limit cut it short)."""
        try:
            data = self._content(attachment)
        except UnreadableAttachment as exc:
            return TextExtraction("", exc.status, str(exc))
        sha = attachment.sha256
        key = f"text:{sha}:{self.limits.pdf_pages}:{self.limits.max_text_chars}"
        cached = self.cache.get(key)
        if cached is not None:
            raw = json.loads(cached)
            return TextExtraction(raw["text"], AnalysisStatus(raw["status"]), raw["detail"],
                                  raw["truncated"], raw["pages"])
        result = self._extract(data, self._meta(data, sha))
        if result.status != AnalysisStatus.TIMED_OUT:
            payload = {**asdict(result), "status": result.status.value}
            self.cache.put(key, json.dumps(payload).encode())
        return result

    def _extract(self, data: bytes, meta: _Meta) -> TextExtraction:
        status = AnalysisStatus(meta.status)
        if status in (AnalysisStatus.EMPTY, AnalysisStatus.TOO_LARGE):
            return TextExtraction("", status, meta.detail)
        if meta.kind == "pdf":
            if status in (AnalysisStatus.ENCRYPTED, AnalysisStatus.TIMED_OUT):
                return TextExtraction("", status, meta.detail, pages=meta.pages)
            got = self._pdf("text", data, max_pages=self.limits.pdf_pages,
                            seconds=self.limits.pdf_seconds,
                            max_chars=self.limits.max_text_chars)
            return TextExtraction(str(got.get("text", "")), AnalysisStatus(got["status"]),
                                  str(got.get("detail", "")), bool(got.get("truncated")),
                                  got.get("pages"))
        text = extract_plain(data, meta.kind, self.limits.max_text_chars)
        if text is None:
            return TextExtraction("", AnalysisStatus.UNSUPPORTED,
                                  f"no text is extracted from {meta.kind} files")
        return TextExtraction(text, AnalysisStatus.OK)

    def extract_text(self, attachment: Attachment) -> str:
        """The attachment's text ('' when it has none or cannot be read: see
        :meth:`extract` for why)."""
        return self.extract(attachment).text

    # -- thumbnails ------------------------------------------------------------------
    def thumbnail_png(self, attachment: Attachment, size: int | tuple[int, int] = 256) -> bytes:
        """PNG bytes of a thumbnail fitting in ``size`` (images and PDFs' first page).

        Raises :class:`UnreadableAttachment` (a ``ValueError``) with a status when the
        content cannot give one."""
        box = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if min(box) < 1 or max(box) > 4096:
            raise ValidationError(f"thumbnail size {box} must be within 1..4096")
        if attachment._sha256 is None:  # hashing needs the content; a known hash does not
            self._content(attachment)
        key = f"thumb:{attachment.sha256}:{box[0]}x{box[1]}"
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        data = self._content(attachment)
        kind, mime = self._kind(data, attachment.sha256)
        if kind == "image" and "svg" not in mime:
            png = thumbnail(data, box, self.limits.max_pixels)  # raises with a status
        elif kind == "pdf":
            got = self._pdf("render", data, width=box[0], height=box[1])
            if got["status"] != AnalysisStatus.OK:
                raise UnreadableAttachment(f"cannot render {attachment.filename!r}: "
                                           f"{got.get('detail', '')}",
                                           status=AnalysisStatus(got["status"]))
            png = bytes(got["png"])
        else:
            raise UnreadableAttachment(f"no thumbnail for {kind} files",
                                       status=AnalysisStatus.UNSUPPORTED)
        self.cache.put(key, png)
        return png

    def create_thumbnail(self, attachment: Attachment, path: str | os.PathLike[str],
                         size: int | tuple[int, int] = 256) -> Path:
        """Write a PNG thumbnail and return its path.

        ``path`` may be a folder (``<folder>/<name>.thumb.png``), a ``*.thumb.png`` file
        (written, replacing an older thumbnail) or any other file path, such as the one
        the attachment was saved to in the spec's example: the thumbnail then goes
        next to it as ``<stem>.thumb.png`` and the file itself is never touched.  As
        with :meth:`Attachment.save`, ``f"images/{attachment.filename}"`` stays inside
        ``images`` whatever the name is.  The name is made safe."""
        from services.attachments.safe import safe_filename, split_target

        folder, name = split_target(path, attachment.filename)
        stem = safe_filename(name)
        if not stem.lower().endswith(".thumb.png"):
            stem = stem.rsplit(".", 1)[0] if "." in stem else stem
            stem = f"{stem}.thumb.png"
        base = Path(folder).resolve()
        target = base / stem
        if target.resolve().parent != base:
            raise ValidationError(f"refusing to write a thumbnail outside {base}")
        png = self.thumbnail_png(attachment, size)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, png, replace=True)
        except OSError as exc:
            raise ValidationError(f"cannot write the thumbnail {target}: {exc}") from exc
        return target

    # -- async twins -----------------------------------------------------------------
    async def aanalyze_attachment(self, attachment: Attachment) -> AttachmentAnalysis:
        return await asyncio.to_thread(self.analyze_attachment, attachment)

    async def aextract(self, attachment: Attachment) -> TextExtraction:
        return await asyncio.to_thread(self.extract, attachment)

    async def athumbnail_png(self, attachment: Attachment,
                             size: int | tuple[int, int] = 256) -> bytes:
        return await asyncio.to_thread(self.thumbnail_png, attachment, size)
