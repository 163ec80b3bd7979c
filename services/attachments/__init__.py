"""Attachments: analysis from magic bytes, text extraction, thumbnails, safe saving,
organisation rules (see :class:`AttachmentManager`)."""

from services.attachments.cache import DerivedCache, MemoryCache
from services.attachments.manager import AttachmentManager, Limits
from services.attachments.organize import Organizer, OrganizeRule, SavedAttachment, dedupe
from services.attachments.pdfworker import PdfWorker
from services.attachments.safe import safe_filename, save_into, save_to
from services.attachments.types import (
    AnalysisStatus,
    AttachmentAnalysis,
    Risk,
    TextExtraction,
    UnreadableAttachment,
)

__all__ = [
    "AnalysisStatus",
    "AttachmentAnalysis",
    "AttachmentManager",
    "DerivedCache",
    "Limits",
    "MemoryCache",
    "OrganizeRule",
    "Organizer",
    "PdfWorker",
    "Risk",
    "SavedAttachment",
    "TextExtraction",
    "UnreadableAttachment",
    "dedupe",
    "safe_filename",
    "save_into",
    "save_to",
]
